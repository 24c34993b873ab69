"""Python SDK for the FullStory Server API v2 and the Smartlook backend events API."""

from ._version import __version__

__all__ = ["__version__"]
