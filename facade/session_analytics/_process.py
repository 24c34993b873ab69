"""The process's fork and exit hooks, in one registry: what runs in a child after ``os.fork()``,
and what runs when the process ends (at interpreter exit, and at the end of a multiprocessing
child, whose ``os._exit()`` skips atexit). Clients and batchers register with it directly."""

from __future__ import annotations

import atexit
import inspect
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("session_analytics")

_lock = threading.Lock()
# Hooks for a forked child, in the order registered: each held by a reference that gives it back
# (a bound method weakly: it is forgotten with its object).
_fork_hooks: dict[int, Callable[[], Callable[[], Any] | None]] = {}
_exit_hooks: list[Callable[[], Any]] = []
_fork_installed = False
_exit_installed = False
_multiprocessing_hooked = False


class _Held:
    """A strong reference to a hook that belongs to no object (a module's function)."""

    __slots__ = ("hook",)

    def __init__(self, hook: Callable[[], Any]) -> None:
        self.hook = hook

    def __call__(self) -> Callable[[], Any]:
        return self.hook


def _forget(ref: Any) -> None:
    _fork_hooks.pop(id(ref), None)  # a dict operation: atomic, no lock (this runs in the GC)


def after_fork_in_child(hook: Callable[[], Any]) -> None:
    """Run ``hook`` in every child this process forks, on the child's only thread, in the order
    registered. A bound method is held weakly (an object that is gone needs no reset)."""
    global _fork_installed
    ref: Callable[[], Callable[[], Any] | None]
    ref = weakref.WeakMethod(hook, _forget) if inspect.ismethod(hook) else _Held(hook)
    with _lock:
        _fork_hooks[id(ref)] = ref
        if not _fork_installed:
            os.register_at_fork(after_in_child=_run_fork_hooks)
            _fork_installed = True


def at_exit(hook: Callable[[], Any]) -> None:
    """Run ``hook`` when the process ends: at interpreter exit, and in a process that
    multiprocessing started or forked, from the exit hook that multiprocessing runs itself."""
    global _exit_installed
    with _lock:
        _exit_hooks.append(hook)
        if not _exit_installed:
            atexit.register(_run_exit_hooks)
            _exit_installed = True
            _hook_multiprocessing_exit()


def _run_fork_hooks() -> None:
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork
    for ref in list(_fork_hooks.values()):
        hook = ref()
        if hook is None:
            continue
        try:
            hook()
        except Exception:
            logger.exception("session-analytics: an after-fork hook failed")
    # A multiprocessing child ends with os._exit(), which skips atexit: the exit hooks run
    # through the exit hook that multiprocessing runs itself. Its child clears the finalizers it
    # inherited after this hook, then runs the after-fork callbacks: they are registered there.
    global _multiprocessing_hooked
    util = sys.modules.get("multiprocessing.util")
    if _exit_installed and util is not None and not _multiprocessing_hooked:
        util.register_after_fork(_MULTIPROCESSING_TOKEN, _exit_with_multiprocessing)
        _multiprocessing_hooked = True


def _run_exit_hooks() -> None:
    for hook in list(_exit_hooks):
        hook()


def _hook_multiprocessing_exit() -> None:
    """In a process that multiprocessing started (spawn, forkserver: uvicorn --workers), the
    exit hooks run from multiprocessing's own exit hook (atexit does not run)."""
    process = sys.modules.get("multiprocessing.process")
    if process is None or process.parent_process() is None:
        return
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _run_exit_hooks, exitpriority=100)


class _Token:
    """Something multiprocessing can hold a weak reference to."""


_MULTIPROCESSING_TOKEN = _Token()


def _exit_with_multiprocessing(_token: _Token) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _run_exit_hooks, exitpriority=100)
