"""``python -m session_analytics.sandbox [options]``: the same as ``session-analytics sandbox``."""

import sys

from ..cli import main

raise SystemExit(main(["sandbox", *sys.argv[1:]]))
