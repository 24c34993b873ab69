"""``session-analytics import users|events FILE``: the command (``command``), the input read
lazily (``readers``), the failed-items file and resume report (``failed``), the progress bar
(``progress``) and the Ctrl-C deferral (``interrupts``)."""

from __future__ import annotations

from .command import import_command, register

__all__ = ["import_command", "register"]
