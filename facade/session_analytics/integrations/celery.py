"""Celery integration: the producer's current user travels with each task in its headers and is
the current user while the task runs, so that ``track(name)`` in a task needs no ``user=``; the
worker's FullStory client is made in each pool process and drained when that process ends.

    from session_analytics.integrations import celery as session_analytics

    app = Celery("billing")
    session_analytics.setup(app)

    @app.task
    def send_invoice(invoice_id):
        session_analytics.client().events.track("Invoice Sent", properties={"id": invoice_id})
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextvars import Token
from typing import Any

from celery import Celery, signals  # type: ignore[import-untyped]  # Celery ships no types

from .._batching import FlushResult
from ..errors import FSInvalidArgumentError
from ..fullstory import FullStory
from ..fullstory._identity import current_user, restore, set_for_request

__all__ = ["DEFAULT_CLOSE_TIMEOUT_S", "USER_HEADER", "client", "close", "setup"]

# The task header that carries the producer's user: {"uid": ...}, {"id": ...} or None.
USER_HEADER = "session_analytics_user"
DEFAULT_CLOSE_TIMEOUT_S = 10.0
# On the task's request (a celery Context): what ends the task's user at task_postrun.
_RESTORE = "_session_analytics_user_restore"
_DISPATCH_UID = "session_analytics.integrations.celery"

logger = logging.getLogger("session_analytics.integrations")

_making = threading.Lock()
_client: FullStory | None = None
_make: Callable[[], FullStory] = FullStory
_close_timeout = DEFAULT_CLOSE_TIMEOUT_S


def setup(
    app: Celery,
    *,
    fullstory: FullStory | Callable[[], FullStory] | None = None,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT_S,
) -> None:
    """Connect the integration to Celery's signals; call it where the app is made, so that both
    the producers (the web app) and the workers run it.

    Args:
        app: the Celery app (its tasks run with the producer's user; Celery's signals are the
            process's, so every app of the process does).
        fullstory: a ``FullStory`` client, or a callable that makes one (called on first use of
            :func:`client` in each process that uses it). Default: ``FullStory()``, configured
            from FULLSTORY_API_KEY and FULLSTORY_BASE_URL.
        close_timeout: seconds a pool process (or the worker, with the solo and threads pools)
            waits at its end for tracked events to be delivered.

    A client made before a prefork worker forks starts afresh in each child (its own
    connections and sender); what a child tracks is delivered when it ends, at
    ``worker_process_shutdown`` (a warm shutdown, or ``max_tasks_per_child``), and what the
    worker's main process tracks at ``worker_shutdown``.
    """
    global _client, _make, _close_timeout
    if close_timeout < 0:
        raise ValueError("close_timeout must be >= 0")
    with _making:
        if isinstance(fullstory, FullStory):
            _client, _make = fullstory, FullStory
        else:
            _client, _make = None, fullstory if fullstory is not None else FullStory
        _close_timeout = close_timeout
    signals.before_task_publish.connect(_carry_user, weak=False, dispatch_uid=_DISPATCH_UID)
    signals.task_prerun.connect(_set_user, weak=False, dispatch_uid=_DISPATCH_UID)
    signals.task_postrun.connect(_end_user, weak=False, dispatch_uid=_DISPATCH_UID)
    signals.worker_process_shutdown.connect(_drain, weak=False, dispatch_uid=_DISPATCH_UID)
    signals.worker_shutdown.connect(_drain, weak=False, dispatch_uid=_DISPATCH_UID)


def client() -> FullStory:
    """The process's FullStory client, made on first use (in a prefork worker: in each child)."""
    global _client
    made = _client
    if made is None:
        with _making:
            made = _client
            if made is None:
                made = _client = _make()
    return made


def close(timeout: float | None = None) -> FlushResult:
    """Deliver what the client queued (up to ``timeout`` s, by default ``close_timeout``) and
    close it; the next :func:`client` makes a new one. The worker signals call it at the end of
    each pool process and of the worker; call it to drain earlier."""
    global _client
    with _making:
        closing, _client = _client, None
    if closing is None:
        return FlushResult(0)
    return closing.close(_close_timeout if timeout is None else timeout)


def _carry_user(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: the producer's current user goes in the task's headers (a header
    the caller gave with ``apply_async(headers=...)`` is kept)."""
    if headers is not None and USER_HEADER not in headers:
        headers[USER_HEADER] = current_user()


def _set_user(sender: Any = None, task: Any = None, **_: Any) -> None:
    """task_prerun: the user of the task's headers is the current user while it runs; a task
    published without the header runs for nobody (nothing carries over from the last task)."""
    if task is None:
        return
    request = task.request
    if getattr(request, "is_eager", False):
        return  # run in the caller's own context: its user is already current
    user = getattr(request, USER_HEADER, None)
    try:
        token = set_for_request(user)
    except FSInvalidArgumentError as error:
        logger.warning(
            "session-analytics: task %s carries a bad %s header (%s): it runs for nobody",
            getattr(task, "name", "?"),
            USER_HEADER,
            error,
        )
        token = set_for_request(None)
    setattr(request, _RESTORE, token)


def _end_user(sender: Any = None, task: Any = None, **_: Any) -> None:
    """task_postrun (after success and failure alike): the user before the task comes back."""
    if task is None:
        return
    request = task.request
    token: Token[Any] | None = getattr(request, _RESTORE, None)
    if token is not None:
        setattr(request, _RESTORE, None)
        restore(token)


def _drain(sender: Any = None, **_: Any) -> None:
    """worker_process_shutdown (in each pool child) and worker_shutdown (in the worker): deliver
    what was tracked before the process ends; a pool child ends without running atexit."""
    result = close()
    if result.pending:
        logger.warning(
            "session-analytics: %d tracked events were not delivered by the worker's shutdown "
            "deadline (%g s)",
            result.pending,
            _close_timeout,
        )
