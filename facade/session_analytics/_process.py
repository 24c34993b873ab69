"""The process's fork and exit hooks, in one registry: what runs in a child after ``os.fork()``,
and what runs when the process ends (at interpreter exit, and at the end of a multiprocessing
child, whose ``os._exit()`` skips atexit). Clients and batchers register with it directly."""

from __future__ import annotations

import atexit
import importlib
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
_fork_hooks: list[_Hook] = []  # for a forked child, in the order registered
_exit_hooks: list[Callable[[], Any]] = []
_fork_installed = False
_exit_installed = False
_multiprocessing_hooked = False


class _Hook:
    """A registered hook. A bound method is held through a weak reference to its object (an
    object that is gone needs no reset); a function is held as it is."""

    __slots__ = ("function", "owner")

    def __init__(self, hook: Callable[..., Any]) -> None:
        self.owner: weakref.ref[Any] | None = None
        if inspect.ismethod(hook):
            self.owner, hook = weakref.ref(hook.__self__), hook.__func__
        self.function = hook

    def alive(self) -> bool:
        return self.owner is None or self.owner() is not None

    def run(self) -> None:
        if self.owner is None:
            self.function()
            return
        owner = self.owner()
        if owner is not None:
            self.function(owner)


def after_fork_in_child(hook: Callable[[], Any]) -> None:
    """Run ``hook`` in every child this process forks, on the child's only thread, in the order
    registered. A bound method is held weakly (an object that is gone needs no reset)."""
    global _fork_installed
    with _lock:
        _fork_hooks[:] = [known for known in _fork_hooks if known.alive()]
        _fork_hooks.append(_Hook(hook))
        if not _fork_installed:
            os.register_at_fork(after_in_child=_run_fork_hooks)
            _hook_uwsgi_fork()
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
    for hook in list(_fork_hooks):
        try:
            hook.run()
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


def _hook_uwsgi_fork() -> None:
    """uWSGI forks its workers from C: the hooks of ``os.register_at_fork`` do not run there
    (unless ``--py-call-osafterfork``), and every worker would go on with the master's queue and
    idempotency keys. Run them from uWSGI's own post-fork hook, after any hook already set.
    Warn once, in the process that first registers a fork hook, when Python threads are off:
    the background sender then runs only while a request is being served."""
    try:
        uwsgi: Any = importlib.import_module("uwsgi")  # only inside a uWSGI process
    except ImportError:
        return
    if not hasattr(uwsgi, "opt"):
        return
    options = uwsgi.opt
    if not options.get("enable-threads") and not int(options.get("threads", 0) or 0) > 1:
        logger.warning(
            "session-analytics: uWSGI runs without --enable-threads: the SDK's background "
            "sender runs only while a request is being served, so events wait (and are sent "
            "at the worker's exit at the latest); start uWSGI with --enable-threads"
        )
    if options.get("py-call-osafterfork"):
        return  # uWSGI runs the os.register_at_fork hooks itself
    previous = getattr(uwsgi, "post_fork_hook", None)

    def post_fork() -> None:
        _run_fork_hooks()
        if previous is not None:
            previous()

    uwsgi.post_fork_hook = post_fork


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
