"""``session-analytics sandbox``: the local emulator, in the foreground."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

from ._common import EXIT_USAGE

# Each WAN flag and the fault setting it gives (applied at start, and again at every reset).
WAN_FLAGS = {
    "latency_ms": "latency_ms",
    "jitter_ms": "latency_jitter_ms",
    "connect_latency_ms": "connect_latency_ms",
    "rate_limit": "rate_limit_rps",
    "rate_burst": "rate_limit_burst",
}


def _key_levels(values: Sequence[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    keys: dict[str, str] = {}
    for value in values:
        key, _, level = value.partition("=")
        keys[key] = level or "admin"
    return keys


def _non_negative(text: str) -> float:
    """A number of milliseconds or requests per second: finite and >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text}")
    return value


def _at_least_one(text: str) -> int:
    """A bucket size: a whole number of requests >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _whole_non_negative(text: str) -> int:
    """A quota: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, not {text}")
    return value


def _wan_faults(args: argparse.Namespace) -> dict[str, Any]:
    """The fault settings given by the WAN flags (only those given)."""
    return {fault: getattr(args, flag) for flag, fault in WAN_FLAGS.items() if getattr(args, flag)}


def _wan_note(faults: dict[str, Any]) -> str | None:
    """One line saying what the WAN flags do, for the start-up notes."""
    parts = []
    if "latency_ms" in faults or "latency_jitter_ms" in faults:
        jitter = faults.get("latency_jitter_ms")
        parts.append(
            f"{faults.get('latency_ms', 0):g} ms latency" + (f" ± {jitter:g} ms" if jitter else "")
        )
    if "connect_latency_ms" in faults:
        parts.append(f"{faults['connect_latency_ms']:g} ms per new connection")
    if "rate_limit_rps" in faults:
        burst = faults.get("rate_limit_burst")
        parts.append(
            f"{faults['rate_limit_rps']:g} requests/s per key and endpoint"
            + (f" (burst {burst})" if burst else "")
        )
    return "WAN profile: " + ", ".join(parts) if parts else None


def _add_wan_flags(sandbox: argparse.ArgumentParser) -> None:
    wan = sandbox.add_argument_group(
        "WAN profile and rate limit",
        "applied at start and again at every POST /_sandbox/reset; "
        "POST /_sandbox/faults changes them at run time",
    )
    wan.add_argument(
        "--latency-ms",
        type=_non_negative,
        metavar="MS",
        help="delay every API answer by this much (default: 0)",
    )
    wan.add_argument(
        "--jitter-ms",
        type=_non_negative,
        metavar="MS",
        help="add a uniform random delay in [-MS, +MS] to the latency (never below 0)",
    )
    wan.add_argument(
        "--connect-latency-ms",
        type=_non_negative,
        metavar="MS",
        help="extra delay once per new connection, like a TLS handshake (default: 0)",
    )
    wan.add_argument(
        "--rate-limit",
        type=_non_negative,
        metavar="RPS",
        help="requests per second per API key and endpoint; past it, 429 with Retry-After "
        "(default: 0, no limit)",
    )
    wan.add_argument(
        "--rate-burst",
        type=_at_least_one,
        metavar="N",
        help="requests allowed at once before --rate-limit applies (default: one second's worth)",
    )


def register(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="run the local emulator of the FullStory and Smartlook APIs",
        description=(
            "Serve a local emulator of the FullStory Server API v2 and the Smartlook backend "
            "API until interrupted. Admin routes live under /_sandbox/ (health, reset, faults, "
            "config, events, stats, requests, sessions, annotations)."
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
    sandbox.add_argument(
        "--stream-delay",
        type=_non_negative,
        default=None,
        metavar="S",
        help="seconds before a POST /v2/users/stream create is applied (default: 0.5; 0: at once)",
    )
    sandbox.add_argument(
        "--session-quota",
        type=_whole_non_negative,
        default=None,
        metavar="N",
        help="monthly session limit GET /v2/organization/quotas reports (default: 100000)",
    )
    sandbox.add_argument(
        "--server-event-quota",
        type=_whole_non_negative,
        default=None,
        metavar="N",
        help="monthly server-event limit GET /v2/organization/quotas reports (default: 1000000)",
    )
    _add_wan_flags(sandbox)
    sandbox.add_argument(
        "--server",
        choices=["uvicorn", "hypercorn"],
        default="uvicorn",
        help="uvicorn (HTTP/1.1, default) or hypercorn (HTTP/1.1 and HTTP/2; h2 needs "
        "--tls-cert/--tls-key; pip install hypercorn h2)",
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
    settings = {
        "job_delay_s": args.job_delay,
        "stream_delay_s": args.stream_delay,
        "session_quota": args.session_quota,
        "server_event_quota": args.server_event_quota,
    }
    try:
        config = SandboxConfig(
            api_keys=_key_levels(args.api_key),
            smartlook_keys=frozenset(args.smartlook_key) if args.smartlook_key else None,
            **{name: value for name, value in settings.items() if value is not None},
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    faults = _wan_faults(args)
    wan_note = _wan_note(faults)
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
        *([wan_note] if wan_note else []),
        f"stream user creates apply after {config.stream_delay_s:g} s; monthly quotas: "
        f"{config.session_quota} sessions, {config.server_event_quota} server events",
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
            faults=faults,
            server=args.server,
        )
    except SandboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    return 0
