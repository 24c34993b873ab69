"""A local, stateful emulator of the FullStory Server API v2 and the Smartlook backend API.

It answers like the real services (routes, status codes, error bodies, batch jobs, idempotency)
and adds admin routes under ``/_sandbox/`` to inspect what arrived and to inject faults.

    from session_analytics.sandbox import Sandbox

    with Sandbox() as sb:        # a free loopback port, served from a background thread
        sb.url, sb.api_key       # point a client here
        sb.events()              # everything received
        sb.set_faults(error_rate=0.2, seed=1)
        sb.set_faults(latency_ms=80, connect_latency_ms=80, rate_limit_rps=300)  # a WAN
        sb.stats()["connections_opened"]
        sb.create_session(uid="u1")  # a session, as a browser recording would start one
        sb.annotations()             # every POST /v2/annotations received

Sessions also start from the events received (a new ``session.id``, or ``use_most_recent``
for a user without an active session); their ``app_url`` opens a page on the sandbox itself.

``Sandbox(server="hypercorn", tls_cert=..., tls_key=...)`` serves HTTP/2 as well (needs the
``hypercorn`` and ``h2`` packages).

Needs the ``sandbox`` extra: ``pip install 'session-analytics[sandbox]'``.
"""

from __future__ import annotations

try:
    from .app import SandboxApp, build_app
    from .config import SandboxConfig
    from .errors import SandboxError
    from .server import Sandbox, serve
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"the sandbox needs the 'sandbox' extra ({err.name} is missing): "
        "pip install 'session-analytics[sandbox]'"
    ) from err

__all__ = ["Sandbox", "SandboxApp", "SandboxConfig", "SandboxError", "build_app", "serve"]
