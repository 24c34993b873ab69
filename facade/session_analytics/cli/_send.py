"""``session-analytics send-event``: one FullStory event now, or one Smartlook event."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .._constants import DEFAULT_MAX_RETRIES
from ._common import EXIT_OK, add_fullstory_options, explain, fail, fullstory_client, key_values

# The options only one destination uses, (attribute, flag) in the order --help lists them. Giving
# one for the other destination is an error: it would be dropped without a word.
FULLSTORY_ONLY = (
    ("uid", "--uid"),
    ("user_id", "--user-id"),
    ("session_id", "--session-id"),
    ("use_most_recent", "--use-most-recent"),
    ("timestamp", "--timestamp"),
    ("idempotency_key", "--idempotency-key"),
    ("api_key", "--api-key"),
    ("base_url", "--base-url"),
    ("max_retries", "--max-retries"),
)
SMARTLOOK_ONLY = (
    ("vid", "--vid"),
    ("value", "--value"),
    ("sid", "--sid"),
    ("smartlook_key", "--smartlook-key"),
    ("host", "--host"),
)


def register(commands: Any) -> None:
    send = commands.add_parser(
        "send-event",
        help="send one event to FullStory (or Smartlook) and wait for the answer",
        description=(
            "Send one event and wait until the API has it. FullStory by default; with "
            "--smartlook, a Smartlook custom event. Properties: --property key=value (a "
            "string) or --property key:=json (a number, true, a list...). The options marked "
            "FullStory, and --api-key, --base-url and --max-retries, apply only to FullStory "
            "events; those of the Smartlook group apply only to Smartlook events (--property "
            "and --timeout apply to both): giving one for the other destination is an error."
        ),
    )
    send.add_argument("name", help="the event name")
    who = send.add_mutually_exclusive_group()
    who.add_argument("--uid", help="FullStory: your id of the user")
    who.add_argument("--user-id", help="FullStory: the FullStory id of the user")
    who.add_argument("--session-id", help="FullStory: <device id>:<session id>")
    send.add_argument(
        "--use-most-recent", action="store_true", help="FullStory: the user's recent session"
    )
    send.add_argument("--property", action="append", metavar="KEY=VALUE", help="repeatable")
    send.add_argument(
        "--timestamp",
        help="FullStory: when it happened, ISO 8601 with a time zone, such as "
        "2024-02-01T12:30:00Z or 2024-02-01T14:30:00+02:00 (default: now)",
    )
    send.add_argument("--idempotency-key", help="FullStory: your key for this event")
    add_fullstory_options(send)
    send.set_defaults(max_retries=None)  # None: not given (the default is applied in _send_event)
    smartlook = send.add_argument_group("Smartlook")
    smartlook.add_argument("--smartlook", action="store_true", help="send to Smartlook instead")
    smartlook.add_argument("--vid", help="the visitor id (required with --smartlook)")
    smartlook.add_argument("--value", help="the event value")
    smartlook.add_argument("--sid", help="the frontend session id")
    smartlook.add_argument("--smartlook-key", help="default: $SMARTLOOK_KEY")
    smartlook.add_argument("--host", help="default: $SMARTLOOK_HOST, then manager.smartlook.com")
    send.set_defaults(run=_send_event)


def _flags_given(args: argparse.Namespace, options: tuple[tuple[str, str], ...]) -> list[str]:
    """The flags of ``options`` given on the command line (0 and "" are given; False is not)."""
    given = []
    for attribute, flag in options:
        value = getattr(args, attribute)
        if value is not None and value is not False:
            given.append(flag)
    return given


def _as_flag_list(flags: list[str]) -> str:
    return flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} and {flags[-1]}"


def _check_destination(args: argparse.Namespace) -> None:
    if args.smartlook:
        misplaced, where, fix = _flags_given(args, FULLSTORY_ONLY), "FullStory", "drop --smartlook"
    else:
        misplaced, where, fix = _flags_given(args, SMARTLOOK_ONLY), "Smartlook", "add --smartlook"
    if misplaced:
        verb = "applies" if len(misplaced) == 1 else "apply"
        flags = _as_flag_list(misplaced)
        fail(f"{flags} {verb} to {where} events: {fix}, or drop {flags}")


def _send_event(args: argparse.Namespace) -> int:
    _check_destination(args)
    properties = key_values(args.property, "--property")
    if args.smartlook:
        return _send_smartlook(args, properties)
    if args.max_retries is None:
        args.max_retries = DEFAULT_MAX_RETRIES
    event: dict[str, Any] = {"name": args.name}
    if args.uid or args.user_id:
        event["user"] = {"uid": args.uid} if args.uid else {"id": args.user_id}
    if args.session_id or args.use_most_recent:
        event["session"] = {"id": args.session_id} if args.session_id else {"use_most_recent": True}
    if properties:
        event["properties"] = properties
    if args.timestamp is not None:
        event["timestamp"] = args.timestamp  # checked by the SDK (a time zone is required)
    with fullstory_client(args) as fs:
        answer = fs.events.create_detailed(event, idempotency_key=args.idempotency_key)
    print(
        json.dumps(
            {
                "sent": args.name,
                "status": answer.http_status_code,
                "idempotency_key": answer.idempotency_key,
                "retries": answer.retries_taken,
            }
        )
    )
    return EXIT_OK


def _send_smartlook(args: argparse.Namespace, props: dict[str, Any]) -> int:
    from ..smartlook import BatchingOptions, Smartlook

    if not args.vid:
        fail("--smartlook needs --vid (the visitor id)")
    failures: list[BaseException] = []
    options = BatchingOptions(max_retry_time=args.timeout, on_error=lambda _, e: failures.append(e))
    with Smartlook(
        args.smartlook_key, host=args.host, timeout=args.timeout, batching=options
    ) as client:
        client.event(args.vid, args.name, args.value, props or None, args.sid)
        client.flush(timeout=args.timeout + 5)
    if failures:
        raise explain(failures[0], "Smartlook")
    print(json.dumps({"sent": args.name, "to": "smartlook", "vid": args.vid}))
    return EXIT_OK
