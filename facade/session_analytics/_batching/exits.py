"""The batchers at the end of the process: the live batchers, their drain at exit (through the
process registry, ``_process``), and the SIGTERM/SIGINT exit guard that drains them before a
death by signal. The guard stays here, not in ``_process``: it exists only to give queued events
their drain, and it works with this drain's deadline and the signals it holds back."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import weakref
from typing import Any

from .. import _process

logger = logging.getLogger("session_analytics")

_live: weakref.WeakSet[Any] = weakref.WeakSet()
_registry_lock = threading.Lock()
_drain_lock = threading.Lock()
_hooks_installed = False


def register(batcher: Any) -> None:
    """A new batcher: reset in a forked child, drained at exit, guarded against a death by
    signal."""
    global _hooks_installed
    with _registry_lock:
        _live.add(batcher)
        if not _hooks_installed:
            _process.after_fork_in_child(_after_fork_in_child)
            _process.at_exit(_drain_at_exit)
            _hooks_installed = True
        _process.after_fork_in_child(batcher._after_fork)
    guard_signals()


def _after_fork_in_child() -> None:
    """This module's state in a forked child (each batcher resets itself: its own hook)."""
    global _registry_lock, _drain_lock, _dying, _main_thread_asked
    _registry_lock = threading.Lock()
    _drain_lock = threading.Lock()
    _dying = False
    _main_thread_asked = False


def _drain_at_exit() -> None:
    """The exit hook: drain every batcher whose stop did not finish (never stopped, or its stop
    was interrupted), within the longest ``shutdown_timeout``; then let a signal that the exit
    guard held back end the process."""
    try:
        _drain_all()
    finally:
        _release_deferred_signals()


def _drain_all() -> None:
    with _drain_lock:
        live = list(_live)
        for stopped in (b for b in live if b._finished):
            stopped._core.log_unlogged_drops()  # refused after its stop
        batchers = [b for b in live if not b._finished]
        if not batchers:
            return
        deadline = time.monotonic() + _exit_budget(batchers)
        for batcher in batchers:
            try:
                batcher._stop_at_exit(deadline - time.monotonic())
            except Exception:
                batcher._core.log.exception("%s: draining at exit failed", batcher._core.name)


def _exit_budget(batchers: list[Any]) -> float:
    return max((b._core.options.shutdown_timeout for b in batchers), default=0.0)


# ---- the exit guard: drain before a death by signal -------------------------------------------
#
# A server stopped with SIGTERM often dies by that signal after its graceful shutdown: uvicorn
# (and gunicorn's uvicorn workers) put back the handler that was there before them and raise the
# signal again. With the default disposition the process then ends at once: no atexit hook runs,
# and what is queued would be lost. So, on the main thread, at a client's creation and at its
# first event (from another thread: by the main thread's event loop, asked to; see
# ``_guard_from_main_thread``), SIGTERM gets a guard where its handler is the default disposition
# or a handler of the host's, and SIGINT where it has the default disposition (never where they
# are ignored, nor over Python's own SIGINT handler, whose KeyboardInterrupt exits through the
# exit hook anyway, nor over a program's own SIGINT handler: Ctrl-C stays the program's):
# - over the default disposition (the signal would kill the process now), the guard drains every
#   batcher as the exit hook does (within ``shutdown_timeout``), then restores the default and
#   raises the signal again: the process dies by it, as it would have, a drain later. A second
#   signal during the drain ends it at once.
# - over a host's handler (uvicorn's while it serves), the guard blocks that signal on the main
#   thread, then calls the host's handler, which shuts down as it always does. If the host then
#   raises the signal again with the default restored, the signal stays pending instead of
#   killing the process at once; the interpreter exits normally, the exit hook drains, and then
#   unblocks the signal: the process dies by it.
# The guard never swallows a signal and never waits longer than the longest shutdown_timeout (plus
# a second); a handler installed after it (by the host) replaces it, as the host intends.

_GUARDED_SIGNALS = ("SIGTERM", "SIGINT")
_WRAPPED_SIGNALS = ("SIGTERM",)  # the guard goes over a handler of the host's for these only
_deferred_signals: set[int] = set()  # signals the guard blocked on the main thread
_dying = False


class _Guard:
    """The handler put in place for one signal; ``previous`` is the handler it replaced."""

    __slots__ = ("previous", "signum")

    def __init__(self, signum: int, previous: Any) -> None:
        self.signum = signum
        self.previous = previous

    def __call__(self, signum: int, frame: Any) -> Any:
        import signal

        previous = self.previous
        if previous == signal.SIG_DFL or not callable(previous):
            _drain_then_die(signum)
            return None
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
            _deferred_signals.add(signum)
        return previous(signum, frame)

    def __repr__(self) -> str:
        return f"<session-analytics exit guard for signal {self.signum}, then {self.previous!r}>"


def guard_signals() -> None:
    """Put the guard in place for SIGTERM and SIGINT where it is needed (main thread only; from
    another thread, the main thread is asked to)."""
    if threading.current_thread() is not threading.main_thread():
        _guard_from_main_thread()
        return
    import signal

    for name in _GUARDED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            current = signal.getsignal(signum)
            if isinstance(current, _Guard) or current is None or current == signal.SIG_IGN:
                continue
            if current != signal.SIG_DFL and name not in _WRAPPED_SIGNALS:
                continue  # SIGINT: Python's KeyboardInterrupt, or a handler of the program's
            signal.signal(signum, _Guard(signum, current))
        except (ValueError, OSError, RuntimeError):  # not the main interpreter, say
            continue


_main_thread_asked = False  # this process asked its main thread to put the guard in place


def _guard_from_main_thread() -> None:
    """Only the main thread can set a signal handler. A client used only from other threads (a
    sync endpoint that a server runs in its thread pool, say, while its event loop on the main
    thread holds the signal handlers) asks that event loop to put the guard in place, once per
    process. Where no event loop of the main thread can be found, a warning says what is at
    risk (a death by SIGTERM would skip the exit drain)."""
    global _main_thread_asked
    if _main_thread_asked:
        return
    import signal

    sigterm = getattr(signal, "SIGTERM", None)
    if sigterm is None:
        return
    try:
        current = signal.getsignal(sigterm)
    except (ValueError, OSError, RuntimeError):
        return
    if isinstance(current, _Guard) or current is None or current == signal.SIG_IGN:
        return
    _main_thread_asked = True
    loop = _main_thread_loop()
    if loop is not None:
        try:
            loop.call_soon_threadsafe(guard_signals)
            return
        except RuntimeError:  # the loop is closed
            pass
    # Over the default disposition SIGTERM would end the process with no exit hook; a host's
    # handler most often exits normally (the exit hook drains), unless it raises it again.
    logger.log(
        logging.WARNING if current == signal.SIG_DFL else logging.INFO,
        "session-analytics: the exit guard for SIGTERM cannot be put in place from this thread "
        "(only the main thread can set a signal handler, and it runs no event loop to ask): "
        "if the process dies by SIGTERM, queued events are lost; create a client or queue an "
        "event on the main thread, or close the clients when the host shuts down",
    )


def _main_thread_loop() -> Any:
    """The asyncio event loop running on the main thread, or None: the loop that handed this
    thread its work (anyio's thread pool: Starlette, FastAPI) when it is known to run on the
    main thread, else the loop found on the main thread's stack, else anyio's loop whose thread
    cannot be told (on another thread, the guard it is asked to put in place does nothing)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    main = threading.main_thread()
    anyio_loop = sys.modules.get("anyio._core._eventloop")
    token = getattr(getattr(anyio_loop, "threadlocals", None), "current_token", None)
    native = getattr(token, "native_token", None)
    if not isinstance(native, asyncio.AbstractEventLoop):
        native = None
    thread_id = getattr(native, "_thread_id", None)
    if native is not None and thread_id == main.ident:
        return native
    on_stack = _loop_on_stack(main, asyncio)
    if on_stack is not None:
        return on_stack
    return native if thread_id is None else None


def _loop_on_stack(main: threading.Thread, asyncio: Any) -> Any:
    """The event loop (or the ``asyncio.Runner`` of one) that the main thread is running."""
    frame = sys._current_frames().get(main.ident or 0)
    while frame is not None:
        if frame.f_code.co_name in ("run", "run_forever", "_run_once", "run_until_complete"):
            owner = frame.f_locals.get("self")
            if isinstance(owner, asyncio.AbstractEventLoop):
                return owner
            runner_loop = getattr(owner, "_loop", None) if _is_runner(owner) else None
            if isinstance(runner_loop, asyncio.AbstractEventLoop):
                return runner_loop
        frame = frame.f_back
    return None


def _is_runner(owner: Any) -> bool:
    runner = getattr(sys.modules.get("asyncio"), "Runner", None)
    return runner is not None and isinstance(owner, runner)


def _drain_then_die(signum: int) -> None:
    """The signal would end the process now: drain first (on a thread of its own, so that a
    lock held by the interrupted code cannot hold the drain up past its deadline), then let the
    default disposition act."""
    import signal

    global _dying
    if not _dying:
        _dying = True
        unfinished = [b for b in list(_live) if not b._finished]
        if unfinished:
            drain = threading.Thread(
                target=_drain_all, name="session-analytics-exit-drain", daemon=True
            )
            drain.start()
            with contextlib.suppress(BaseException):  # a second signal: die now
                drain.join(_exit_budget(unfinished) + 1.0)
    signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    signal.raise_signal(signum)


def _release_deferred_signals() -> None:
    """After the exit drain: unblock the signals the guard held back; one raised again by the
    host meanwhile is delivered now, with the handler the host restored."""
    if not _deferred_signals or threading.current_thread() is not threading.main_thread():
        return
    import signal

    deferred = set(_deferred_signals)
    _deferred_signals.clear()
    with contextlib.suppress(KeyboardInterrupt):  # Python's SIGINT handler, restored
        signal.pthread_sigmask(signal.SIG_UNBLOCK, deferred)
