"""``session-analytics sandbox``: the local emulator, in the foreground."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ._common import EXIT_USAGE


def _key_levels(values: Sequence[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    keys: dict[str, str] = {}
    for value in values:
        key, _, level = value.partition("=")
        keys[key] = level or "admin"
    return keys


def register(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="run the local emulator of the FullStory and Smartlook APIs",
        description=(
            "Serve a local emulator of the FullStory Server API v2 and the Smartlook backend "
            "API until interrupted. Admin routes live under /_sandbox/ (health, reset, faults, "
            "config, events, stats, requests, sessions)."
        ),
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    sandbox.add_argument(
        "--port", type=int, default=8765, help="port to bind; 0 picks a free one (default: 8765)"
    )
    sandbox.add_argument(
        "--api-key",
        action="append",
        metavar="KEY[=LEVEL]",
        help=(
            "accept only this FullStory key (repeatable); LEVEL is standard, architect or admin "
            "(default admin). Without it, any non-empty key is accepted."
        ),
    )
    sandbox.add_argument(
        "--smartlook-key",
        action="append",
        metavar="KEY",
        help="accept only this Smartlook project key (repeatable); default: any key",
    )
    sandbox.add_argument(
        "--job-delay",
        type=float,
        default=None,
        metavar="S",
        help="seconds before a batch import job starts working (default: 1)",
    )
    sandbox.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    sandbox.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert")
    sandbox.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: warning)",
    )
    sandbox.set_defaults(run=_run_sandbox)


def _run_sandbox(args: argparse.Namespace) -> int:
    try:
        from ..sandbox import SandboxConfig, SandboxError, serve
    except ImportError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if (args.tls_cert is None) != (args.tls_key is None):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = SandboxConfig(
            api_keys=_key_levels(args.api_key),
            smartlook_keys=frozenset(args.smartlook_key) if args.smartlook_key else None,
            **({"job_delay_s": args.job_delay} if args.job_delay is not None else {}),
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    notes = [
        "FullStory: "
        + (
            "any non-empty API key is accepted"
            if config.api_keys is None
            else f"{len(config.api_keys)} configured API key(s) accepted"
        ),
        "Smartlook: "
        + (
            "any project key is accepted"
            if config.smartlook_keys is None
            else f"{len(config.smartlook_keys)} configured project key(s) accepted"
        ),
        f"batch jobs start after {config.job_delay_s:g} s; admin routes under /_sandbox/",
        "press Ctrl+C to stop",
    ]
    try:
        serve(
            config,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log_level=args.log_level,
            announce=lambda line: print(line, flush=True),
            notes=notes,
        )
    except SandboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    return 0
