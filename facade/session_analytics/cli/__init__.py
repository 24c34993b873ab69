"""The ``session-analytics`` command line.

    session-analytics sandbox                      run the local emulator of both APIs
    session-analytics import users|events FILE     import NDJSON or CSV of any size
    session-analytics send-event NAME ...          send one event and wait for the answer
    session-analytics users get|list|delete ...    read and delete FullStory users
    session-analytics sessions list|events ...     a user's sessions and replay links, their events
    session-analytics annotate TEXT ...            mark a deploy or an incident on the charts
    session-analytics quotas                       how much of the quotas is used

Exit codes: 0 done; 1 done, but items failed or the API refused the request; 2 bad arguments,
a missing or refused key, a file that cannot be read or written; 3 the API could not be reached
or kept failing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .._version import __version__
from . import _annotate, _import, _quotas, _sandbox, _send, _sessions, _users
from ._common import EXIT_USAGE, run
from ._import.interrupts import ignore_ctrl_c_once_settled


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="session-analytics",
        description="Tools for the FullStory Server API v2 and the Smartlook backend API.",
        epilog="Exit codes: 0 done; 1 items failed or the API refused; 2 bad arguments, "
        "a missing or refused key, a file that cannot be read or written; 3 the API could not "
        "be reached or kept failing.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _sandbox.register(commands)
    _import.register(commands)
    _send.register(commands)
    _users.register(commands)
    _sessions.register(commands)
    _annotate.register(commands)
    _quotas.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The commands report errors themselves; the SDK's own warnings would say it twice.
    logging.getLogger("session_analytics").setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run(args.run, args)


def console() -> int:
    """The ``session-analytics`` executable: :func:`main` in a process that ends with it."""
    ignore_ctrl_c_once_settled()
    return main()


__all__ = ["build_parser", "console", "main"]
