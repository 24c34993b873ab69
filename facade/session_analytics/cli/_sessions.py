"""``session-analytics sessions list|events``: a user's sessions with their replay links, and
the events of one session; a table for people, ``--json`` (the API's JSON) for scripts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_fullstory_options,
    fullstory_client,
    print_json,
)
from ._tables import MISSING, format_time, print_table

# The details column of an event: longer summaries are cut, ending with this.
DETAILS_WIDTH = 80
ELLIPSIS = "..."
# The event properties that name an event, shown first in its details.
NAME_KEYS = ("name", "event_name", "event_custom_name", "custom_event_name")


def register(commands: Any) -> None:
    sessions = commands.add_parser(
        "sessions",
        help="a user's sessions and replay links, the events of a session",
        description="FullStory sessions: list a user's sessions with their replay links, or "
        "print the events of one session.",
    )
    sub = sessions.add_subparsers(title="commands", metavar="COMMAND", required=True)

    listing = sub.add_parser(
        "list",
        help="a user's sessions, newest first, with their replay links",
        description="List a user's sessions, newest first: id, start and replay link (--json: "
        "the API's JSON). Give exactly one of --uid, --email, --session-uid.",
    )
    who = listing.add_mutually_exclusive_group(required=True)
    who.add_argument("--uid", help="your id of the user (the one given to setIdentity)")
    who.add_argument("--email", help="the user's email address")
    who.add_argument("--session-uid", help="your own id of one session: that session only")
    listing.add_argument(
        "--limit", type=int, metavar="N", help="at most N sessions (FullStory's default: 20)"
    )
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    add_fullstory_options(listing)
    listing.set_defaults(run=_list)

    events = sub.add_parser(
        "events",
        help="the events of one session",
        description="Print the events of one session, oldest first: time, type, source and a "
        "summary of the properties (--json: the API's JSON, every field).",
    )
    events.add_argument(
        "session_id", metavar="SESSION_ID", help="<user id>:<session id>, as sessions list shows"
    )
    events.add_argument("--json", action="store_true", help="print the API's JSON")
    add_fullstory_options(events)
    events.set_defaults(run=_events)


def _list(args: argparse.Namespace) -> int:
    with fullstory_client(args) as fs:
        answer = fs.sessions.list(
            uid=args.uid, email=args.email, session_uid=args.session_uid, limit=args.limit
        )
    if args.json:
        print_json(answer)
        return EXIT_OK
    if not answer.results:
        print(f"no sessions found for {_who(args)}")
        return EXIT_OK
    rows = [
        [session.id, format_time(session.created_time), _text(session.app_url)]
        for session in answer.results
    ]
    print_table(["session", "started", "replay"], rows)
    return EXIT_OK


def _who(args: argparse.Namespace) -> str:
    if args.uid is not None:
        return f"uid {args.uid}"
    if args.email is not None:
        return f"email {args.email}"
    return f"session uid {args.session_uid}"


def _events(args: argparse.Namespace) -> int:
    from ..errors import FSNotFoundError

    with fullstory_client(args) as fs:
        try:
            answer = fs.sessions.events(args.session_id)
        except FSNotFoundError as error:
            raise CommandError(f"no session {args.session_id} ({error})", EXIT_FAILED) from error
    if args.json:
        print_json(answer)
        return EXIT_OK
    if not answer.events:
        print(f"no events in session {args.session_id}")
        return EXIT_OK
    rows = [
        [
            format_time(event.event_time),
            _text(event.event_type),
            _text(event.source_type),
            event_details(event),
        ]
        for event in answer.events
    ]
    print_table(["time", "type", "source", "details"], rows)
    return EXIT_OK


def event_details(event: Any) -> str:
    """The event's name first (when its properties have one), then its other properties as
    compact ``key=value`` pairs, cut at DETAILS_WIDTH characters."""
    properties = _as_dict(event.event_properties)
    parts: list[str] = []
    for key in NAME_KEYS:
        name = properties.pop(key, None)
        if isinstance(name, str) and name:
            parts.append(name)
            break
    for key, value in properties.items():
        if value in (None, "", [], {}):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        parts.append(f"{key}={shown}")
    details = " ".join(parts) or MISSING
    if len(details) > DETAILS_WIDTH:
        details = details[: DETAILS_WIDTH - len(ELLIPSIS)] + ELLIPSIS
    return details


def _as_dict(value: Any) -> dict[str, Any]:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return dict(value) if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value else MISSING
