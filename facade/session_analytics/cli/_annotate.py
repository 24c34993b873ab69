"""``session-analytics annotate TEXT``: mark a moment (a deploy, an incident) on FullStory's
charts, from a deploy script or by hand; the times given are read as RFC 3339 with a time zone."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from ._common import EXIT_OK, add_fullstory_options, fail, fullstory_client, print_json
from ._tables import format_time

DESCRIPTION = """\
Create a FullStory annotation and print it as FullStory stored it (one line; --json: the API's
JSON). Without --start, FullStory uses its own clock; without --end, the annotation ends when it
starts.

TIME is RFC 3339 (ISO 8601) with a time zone: 2024-06-29T14:23:00Z or 2024-06-29T16:23:00+02:00.
A time without a time zone is refused: the same text names another moment on every machine.

In a deploy script (the key comes from FULLSTORY_API_KEY, set from the CI's secrets):

  session-analytics annotate "Deploy $GIT_SHA" --source deploy-pipeline

  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  ./deploy.sh
  session-analytics annotate "Release 1.4.2" --source ci \\
      --start "$started" --end "$(date -u +%Y-%m-%dT%H:%M:%SZ)"

The exit code is 0 once the annotation is stored: add "|| true" if a FullStory outage must not
fail the deploy.
"""


def register(commands: Any) -> None:
    annotate = commands.add_parser(
        "annotate",
        help="mark a deploy or an incident on FullStory's charts",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    annotate.add_argument("text", metavar="TEXT", help="what happened, as the charts show it")
    annotate.add_argument(
        "--start", metavar="TIME", help="when it started (default: FullStory's time now)"
    )
    annotate.add_argument(
        "--end", metavar="TIME", help="when it ended, after --start (default: the start time)"
    )
    annotate.add_argument(
        "--source", help="who or what made it (a pipeline, a tool), shown with it"
    )
    annotate.add_argument("--json", action="store_true", help="print the API's JSON")
    add_fullstory_options(annotate)
    annotate.set_defaults(run=_annotate)


def parse_time(text: str, flag: str) -> datetime.datetime:
    """An RFC 3339 time with a time zone; anything else stops the command (exit 2)."""
    from dateutil.parser import isoparse

    try:
        value = isoparse(text.strip())
    except (ValueError, OverflowError):
        fail(f"{flag} {text!r} is not a time: write RFC 3339, such as 2024-06-29T14:23:00Z")
    if value.tzinfo is None or value.utcoffset() is None:
        fail(
            f"{flag} {text!r} has no time zone: add Z or an offset like +02:00 "
            "(such as 2024-06-29T14:23:00Z)"
        )
    return value


def _annotate(args: argparse.Namespace) -> int:
    start = parse_time(args.start, "--start") if args.start is not None else None
    end = parse_time(args.end, "--end") if args.end is not None else None
    if start is not None and end is not None and end <= start:
        fail(f"--end {args.end} is not after --start {args.start}")
    with fullstory_client(args) as fs:
        annotation = fs.annotations.create(
            args.text, start_time=start, end_time=end, source=args.source
        )
    if args.json:
        print_json(annotation)
    else:
        print(describe_annotation(annotation))
    return EXIT_OK


def describe_annotation(annotation: Any) -> str:
    """One line: ``annotation "Deploy 1.4" at 2024-06-29 14:23:00Z (source: ci)``."""
    start, end = annotation.start_time, annotation.end_time
    when = f"at {format_time(start)}"
    if isinstance(end, datetime.datetime) and end != start:
        when = f"from {format_time(start)} to {format_time(end)}"
    source = annotation.source if isinstance(annotation.source, str) else ""
    by = f" (source: {source})" if source else ""
    return f"annotation {_quoted(annotation.text)} {when}{by}"


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
