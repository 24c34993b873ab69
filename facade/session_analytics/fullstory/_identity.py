"""The current user of a request or a task: ``identify(uid=...)`` sets it in a ``contextvars``
context, and ``events.track()`` sends it when it is given neither ``user=`` nor ``session=``.
Each thread and each asyncio task sees its own value; the web integrations set it per request.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from ..errors import FSInvalidArgumentError

MAX_UID_LENGTH = 256

# The user as track() sends it: {"uid": ...} or {"id": ...}; None when nobody is identified.
_current: ContextVar[dict[str, str] | None] = ContextVar(
    "session_analytics_fullstory_user", default=None
)


def _checked(uid: Any, user_id: Any) -> dict[str, str]:
    """The user a call names, checked like ``track(user=...)``: exactly one of uid and id."""
    if (uid is None) == (user_id is None):
        raise FSInvalidArgumentError(
            "identify: give exactly one of uid (your own id) and id (the FullStory id)",
            field="uid",
        )
    field, value = ("uid", uid) if uid is not None else ("id", user_id)
    if type(value) is not str or not value:
        raise FSInvalidArgumentError(f"{field}: must be a non-empty string", field=field)
    if field == "uid" and len(value) > MAX_UID_LENGTH:
        raise FSInvalidArgumentError(
            f"uid: must be at most {MAX_UID_LENGTH} characters", field="uid"
        )
    return {field: value}


class Identified:
    """What :func:`identify` returns: the user is already set; as a context manager, the user
    that was current before comes back at the end of the ``with`` block."""

    __slots__ = ("_token", "user")

    def __init__(self, user: dict[str, str]) -> None:
        self.user = user
        self._token = _current.set(user)

    def __enter__(self) -> dict[str, str]:
        return dict(self.user)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        restore(self._token)

    def __repr__(self) -> str:
        return f"Identified({self.user!r})"


def identify(uid: str | None = None, *, id: str | None = None) -> Identified:
    """Make ``uid`` (your own id for the user) or ``id`` (the FullStory id) the current user of
    this context: the thread, or the asyncio task, and what it starts afterwards.

    ``fs.events.track(name)`` then sends the event for that user when it is given neither
    ``user=`` nor ``session=`` (an explicit one always wins). A plain call sets it until the
    context ends (a web integration resets it after each request); ``with identify(uid=...):``
    restores the previous user on exit.

    Raises:
        FSInvalidArgumentError: not exactly one of ``uid`` and ``id``, or not a non-empty
            string (``uid``: at most 256 characters); ``field`` names it.
    """
    return Identified(_checked(uid, id))


def current_user() -> dict[str, str] | None:
    """The user :func:`identify` set for this context (a copy), or None."""
    user = _current.get()
    return None if user is None else dict(user)


def user_for_track() -> dict[str, str] | None:
    """The identified user, for ``track()``: one ContextVar read, no copy (the payload is
    serialised at once)."""
    return _current.get()


def set_for_request(user: Any) -> Token[dict[str, str] | None]:
    """For the web integrations: make ``user`` the current user for one request (a uid string or
    int, a ``{"uid": ...}``/``{"id": ...}`` dict, or None for nobody), so that nothing carries over
    from an earlier request run on the same thread. Undo with :func:`restore`."""
    if user is None:
        return _current.set(None)
    if isinstance(user, dict):
        unknown = set(user) - {"uid", "id"}
        if unknown:
            raise FSInvalidArgumentError(
                f"user.{sorted(unknown)[0]}: unknown field; known: id, uid", field="user"
            )
        return _current.set(_checked(user.get("uid"), user.get("id")))
    if type(user) is int:  # a database primary key
        user = str(user)
    return _current.set(_checked(user, None))


def restore(token: Token[dict[str, str] | None]) -> None:
    """Put back the user that was current before ``token``'s set. A token made in another
    context (a generator resumed elsewhere) cannot be reset there: its earlier value is set."""
    try:
        _current.reset(token)
    except ValueError:
        old = token.old_value
        _current.set(None if old is Token.MISSING else old)
