"""Python SDK for the FullStory Server API v2 and the Smartlook backend events API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .errors import QuotaWarning

__all__ = ["QuotaWarning", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use: ``import session_analytics`` stays free of attrs and the errors.
    if name == "QuotaWarning":
        from .errors import QuotaWarning

        return QuotaWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
