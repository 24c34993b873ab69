"""``session-analytics users get|list|delete``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import EXIT_OK, add_fullstory_options, fail, fullstory_client, print_json


def register(commands: Any) -> None:
    users = commands.add_parser(
        "users", help="read, list and delete FullStory users", description="FullStory users."
    )
    sub = users.add_subparsers(title="commands", metavar="COMMAND", required=True)

    get = sub.add_parser("get", help="print one user as JSON", description="Print one user.")
    get.add_argument("id", help="the FullStory id of the user")
    get.add_argument("--include-schema", action="store_true", help="add property types")
    add_fullstory_options(get)
    get.set_defaults(run=_get)

    listing = sub.add_parser(
        "list",
        help="print matching users, one JSON object per line",
        description="Print every matching user as one JSON object per line (NDJSON).",
    )
    listing.add_argument("--uid")
    listing.add_argument("--email")
    listing.add_argument("--display-name")
    identified = listing.add_mutually_exclusive_group()
    identified.add_argument("--identified", action="store_true", help="only users with a uid")
    identified.add_argument("--anonymous", action="store_true", help="only users without one")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100; 0: all)")
    listing.add_argument("--include-schema", action="store_true")
    add_fullstory_options(listing)
    listing.set_defaults(run=_list)

    delete = sub.add_parser(
        "delete",
        help="delete a user by id or uid",
        description="Delete a user (with its sessions, events and properties) for good.",
    )
    target = delete.add_mutually_exclusive_group(required=True)
    target.add_argument("--id", dest="user_id", help="the FullStory id")
    target.add_argument("--uid", help="your own id of the user")
    add_fullstory_options(delete)
    delete.set_defaults(run=_delete)


def _get(args: argparse.Namespace) -> int:
    with fullstory_client(args) as fs:
        print_json(fs.users.get(args.id, include_schema=args.include_schema))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    if args.limit < 0:
        fail("--limit must be 0 (all) or more")
    identified = True if args.identified else (False if args.anonymous else None)
    with fullstory_client(args) as fs:
        for count, user in enumerate(
            fs.users.iter(
                uid=args.uid,
                email=args.email,
                display_name=args.display_name,
                is_identified=identified,
                include_schema=args.include_schema,
            ),
            1,
        ):
            print(json.dumps(user.to_dict(), default=str))
            if args.limit and count >= args.limit:
                break
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    with fullstory_client(args) as fs:
        fs.users.delete(args.user_id, uid=args.uid)
    print(f"deleted {'user ' + args.user_id if args.user_id else 'uid ' + args.uid}")
    return EXIT_OK
