"""Ctrl-C during an import, made to land between two lines of the input: while a line is taken
in (read, handed out or saved as failed) the interrupt waits for it, so the resume point the
command reports is exact."""

from __future__ import annotations

import signal
import threading
from typing import Any

# True in the ``session-analytics`` executable, whose process ends with the command: see
# ``Interrupts``. A program that calls ``main()`` itself keeps its own Ctrl-C.
ignore_after_settled = False


def ignore_ctrl_c_once_settled() -> None:
    """Called by the executable: a settled import ignores Ctrl-C up to the process's exit."""
    global ignore_after_settled
    ignore_after_settled = True


class Interrupts:
    """Ctrl-C, made to land between two lines of the input, never inside one: while a line is
    being taken in (``hold()`` .. ``release()``) it is put off to ``release()``. Elsewhere it
    raises KeyboardInterrupt at once, as usual. While what was not sent is saved, it is
    ignored.

    Once the outcome is settled (``saving``: the import is done, or its stop is saved), a
    Ctrl-C can only hide the report: in the executable it is ignored up to the process's exit.
    Python puts the default disposition back while it shuts down, and a SIGINT then would kill
    the process with no word (a finished import that looks interrupted); a Ctrl-C between the
    summary and the exit would print "interrupted", which says "nothing was sent, run the same
    command again": both would import everything twice."""

    def __init__(self) -> None:
        self.held = False
        self.pending = False
        self.saving = False
        self._previous_handler: Any = None

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous_handler is not None:
            ignore = self.saving and ignore_after_settled
            signal.signal(signal.SIGINT, signal.SIG_IGN if ignore else self._previous_handler)
            self._previous_handler = None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.saving:
            return
        if self.held:
            self.pending = True
            return
        raise KeyboardInterrupt

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False
        if self.pending and not self.saving:
            self.pending = False
            raise KeyboardInterrupt
