"""``session-analytics quotas``: the organization's session and server-event quotas in the
current billing cycle (used, limit, left, period end); ``--json`` prints the API's JSON."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import EXIT_OK, add_fullstory_options, fullstory_client, print_json
from ._tables import MISSING, as_int, format_count, format_time, print_table

# The quotas of the answer, as the table names them.
QUOTAS = (("session_quota", "sessions"), ("server_event_quota", "server events"))


def register(commands: Any) -> None:
    quotas = commands.add_parser(
        "quotas",
        help="how much of the session and server-event quotas is used",
        description="Print the organization's session and server-event quotas in the current "
        "billing cycle: used, limit, left and when the cycle ends (--json: the API's JSON). "
        "A value FullStory does not report is shown as -.",
    )
    quotas.add_argument("--json", action="store_true", help="print the API's JSON")
    add_fullstory_options(quotas)
    quotas.set_defaults(run=_quotas)


def _quotas(args: argparse.Namespace) -> int:
    with fullstory_client(args) as fs:
        answer = fs.organization.quotas()
    if args.json:
        print_json(answer)
        return EXIT_OK
    rows = [quota_row(label, getattr(answer, name, None)) for name, label in QUOTAS]
    print_table(["quota", "used", "limit", "left", "period end"], rows, numeric=(1, 2, 3))
    return EXIT_OK


def quota_row(label: str, quota: Any) -> list[str]:
    """``label``, used, limit, left (0 once the limit is passed) and the end of the cycle."""
    if quota is None or not hasattr(quota, "usage"):  # the API left this quota out
        return [label, MISSING, MISSING, MISSING, MISSING]
    used, limit = as_int(quota.usage), as_int(quota.limit)
    left = MISSING
    if used is not None and limit is not None:
        left = f"{max(limit - used, 0):,}"
    return [
        label,
        format_count(quota.usage),
        format_count(quota.limit),
        left,
        format_time(quota.period_end),
    ]
