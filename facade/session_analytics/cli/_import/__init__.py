"""``session-analytics import users|events FILE``."""

from __future__ import annotations

from .readers import MAX_LINE_BYTES, register

__all__ = ["MAX_LINE_BYTES", "register"]
