"""Ctrl-C during an import, made to land between two lines of the input: while a line is taken
in (read, handed out or saved as failed) the interrupt waits for it, so the resume point the
command reports is exact."""

from __future__ import annotations

import signal
import threading
from typing import Any


class Interrupts:
    """Ctrl-C, made to land between two lines of the input, never inside one: while a line is
    being taken in (``hold()`` .. ``release()``) it is put off to ``release()``. Elsewhere it
    raises KeyboardInterrupt at once, as usual. While what was not sent is saved, it is
    ignored."""

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
            signal.signal(signal.SIGINT, self._previous_handler)
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
