"""``fs.sessions``: look sessions up, read their events, their context for a language model,
and their generated summaries (with a stored profile, or settings given for one request)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _v2_inputs
from ._calls import ApiResponse, Call, run_async, run_sync
from ._v2_requests import (
    list_sessions_call,
    session_context_call,
    session_events_call,
    session_summary_call,
)

if TYPE_CHECKING:
    import datetime as dt
    from typing import TypeAlias

    from fullstory_api.models import (
        CacheSettings,
        ContextSettings,
        EventSettings,
        ListSessionsResponse,
        LlmSettings,
        SessionContextResponse,
        SessionEventsResponse,
        SessionSummaryResponse,
        SliceSettings,
    )

    from ._client import AsyncFullStory, FullStory

    SliceIn: TypeAlias = SliceSettings | dict[str, Any]
    ContextIn: TypeAlias = ContextSettings | dict[str, Any]
    EventsIn: TypeAlias = EventSettings | dict[str, Any]
    CacheIn: TypeAlias = CacheSettings | dict[str, Any]
    LlmIn: TypeAlias = LlmSettings | dict[str, Any]
    Moment: TypeAlias = dt.datetime | str


def _summary_call(
    session_id: str,
    profile_id: str | None,
    end_timestamp: Moment | None,
    parts: dict[str, Any],
) -> Call[SessionSummaryResponse]:
    """``parts``: slice, context, events, cache and llm as given (None: not given)."""
    llm = parts.pop("llm")
    overrides = _v2_inputs.context_parts(**parts)
    if llm is not None:
        overrides["llm"] = _v2_inputs.llm_settings(llm)
    return session_summary_call(
        session_id, profile_id=profile_id, end_timestamp=end_timestamp, overrides=overrides
    )


class Sessions:
    """FullStory sessions (sync). Session ids are FullStory's ``<user id>:<session id>``."""

    def __init__(self, client: FullStory) -> None:
        self._client = client

    def list(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        session_uid: str | None = None,
        limit: int | None = None,
    ) -> ListSessionsResponse:
        """A user's most recent sessions, newest first, with links to their replays.

        Give ``uid`` and/or ``email``, or ``session_uid`` alone (your own id of one session);
        ``limit`` caps the count (the API's default is 20).

        Raises:
            FSInvalidArgumentError: none of the three, or ``session_uid`` with another.
        """
        return self.list_detailed(uid=uid, email=email, session_uid=session_uid, limit=limit).body

    def list_detailed(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        session_uid: str | None = None,
        limit: int | None = None,
    ) -> ApiResponse[ListSessionsResponse]:
        """Like ``list``, with the HTTP envelope."""
        call = list_sessions_call(uid=uid, email=email, session_uid=session_uid, limit=limit)
        return run_sync(self._client.raw, call)

    def events(self, session_id: str) -> SessionEventsResponse:
        """Every event captured in the session, oldest first."""
        return self.events_detailed(session_id).body

    def events_detailed(self, session_id: str) -> ApiResponse[SessionEventsResponse]:
        """Like ``events``, with the HTTP envelope."""
        return run_sync(self._client.raw, session_events_call(session_id))

    def context(
        self,
        session_id: str,
        *,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
    ) -> SessionContextResponse:
        """The session's events and surroundings, arranged as input for a language model.

        Args:
            slice: which events: ``mode`` (FIRST, LAST, TIMESTAMP), ``event_limit``,
                ``duration_limit_ms`` (an int), ``start_timestamp`` / ``end_timestamp``
                (aware datetimes or RFC 3339 strings, the start before the end).
            context: which surroundings: ``include`` / ``exclude`` lists of user, org,
                location, device, and the ``exclude_*`` flags.
            events: which kinds of events and how much detail.
            cache: ``enable_event_cache``.
        """
        return self.context_detailed(
            session_id, slice=slice, context=context, events=events, cache=cache
        ).body

    def context_detailed(
        self,
        session_id: str,
        *,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
    ) -> ApiResponse[SessionContextResponse]:
        """Like ``context``, with the HTTP envelope."""
        parts = _v2_inputs.context_parts(slice=slice, context=context, events=events, cache=cache)
        return run_sync(self._client.raw, session_context_call(session_id, parts))

    def summary(
        self,
        session_id: str,
        *,
        profile_id: str | None = None,
        end_timestamp: Moment | None = None,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
        llm: LlmIn | None = None,
    ) -> SessionSummaryResponse:
        """A generated summary of the session, as the summary profile ``profile_id`` (or the
        defaults) describes it, of the events before ``end_timestamp``.

        Any of ``slice``, ``context``, ``events``, ``cache`` and ``llm`` (``pre_prompt``,
        ``post_prompt``, ``temperature``, ``response_schema`` with its type names in capitals)
        overrides the profile for this request: the request is then a POST, with
        ``end_timestamp`` as ``slice.end_timestamp``. Nothing is stored either way.
        """
        return self.summary_detailed(
            session_id,
            profile_id=profile_id,
            end_timestamp=end_timestamp,
            slice=slice,
            context=context,
            events=events,
            cache=cache,
            llm=llm,
        ).body

    def summary_detailed(
        self,
        session_id: str,
        *,
        profile_id: str | None = None,
        end_timestamp: Moment | None = None,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
        llm: LlmIn | None = None,
    ) -> ApiResponse[SessionSummaryResponse]:
        """Like ``summary``, with the HTTP envelope."""
        parts = {"slice": slice, "context": context, "events": events, "cache": cache, "llm": llm}
        call = _summary_call(session_id, profile_id, end_timestamp, parts)
        return run_sync(self._client.raw, call)


class AsyncSessions:
    """FullStory sessions (asyncio): the same calls as :class:`Sessions`, awaited."""

    def __init__(self, client: AsyncFullStory) -> None:
        self._client = client

    async def list(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        session_uid: str | None = None,
        limit: int | None = None,
    ) -> ListSessionsResponse:
        """A user's most recent sessions, newest first; see :meth:`Sessions.list`."""
        return (
            await self.list_detailed(uid=uid, email=email, session_uid=session_uid, limit=limit)
        ).body

    async def list_detailed(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        session_uid: str | None = None,
        limit: int | None = None,
    ) -> ApiResponse[ListSessionsResponse]:
        """Like ``list``, with the HTTP envelope."""
        call = list_sessions_call(uid=uid, email=email, session_uid=session_uid, limit=limit)
        return await run_async(self._client.raw, call)

    async def events(self, session_id: str) -> SessionEventsResponse:
        """Every event captured in the session, oldest first."""
        return (await self.events_detailed(session_id)).body

    async def events_detailed(self, session_id: str) -> ApiResponse[SessionEventsResponse]:
        """Like ``events``, with the HTTP envelope."""
        return await run_async(self._client.raw, session_events_call(session_id))

    async def context(
        self,
        session_id: str,
        *,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
    ) -> SessionContextResponse:
        """The session's context for a language model; see :meth:`Sessions.context`."""
        return (
            await self.context_detailed(
                session_id, slice=slice, context=context, events=events, cache=cache
            )
        ).body

    async def context_detailed(
        self,
        session_id: str,
        *,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
    ) -> ApiResponse[SessionContextResponse]:
        """Like ``context``, with the HTTP envelope."""
        parts = _v2_inputs.context_parts(slice=slice, context=context, events=events, cache=cache)
        return await run_async(self._client.raw, session_context_call(session_id, parts))

    async def summary(
        self,
        session_id: str,
        *,
        profile_id: str | None = None,
        end_timestamp: Moment | None = None,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
        llm: LlmIn | None = None,
    ) -> SessionSummaryResponse:
        """A generated summary of the session; see :meth:`Sessions.summary`."""
        return (
            await self.summary_detailed(
                session_id,
                profile_id=profile_id,
                end_timestamp=end_timestamp,
                slice=slice,
                context=context,
                events=events,
                cache=cache,
                llm=llm,
            )
        ).body

    async def summary_detailed(
        self,
        session_id: str,
        *,
        profile_id: str | None = None,
        end_timestamp: Moment | None = None,
        slice: SliceIn | None = None,
        context: ContextIn | None = None,
        events: EventsIn | None = None,
        cache: CacheIn | None = None,
        llm: LlmIn | None = None,
    ) -> ApiResponse[SessionSummaryResponse]:
        """Like ``summary``, with the HTTP envelope."""
        parts = {"slice": slice, "context": context, "events": events, "cache": cache, "llm": llm}
        call = _summary_call(session_id, profile_id, end_timestamp, parts)
        return await run_async(self._client.raw, call)
