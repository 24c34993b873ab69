"""``fs.annotations``: mark a moment or a span of time (a release, an incident) on FullStory's
charts. The API takes no Idempotency-Key for it, so a create is never sent again once an attempt
may have been processed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._calls import ApiResponse, run_async, run_sync
from ._v2_requests import create_annotation_call

if TYPE_CHECKING:
    import datetime as dt

    from fullstory_api.models import Annotation

    from ._client import AsyncFullStory, FullStory


class Annotations:
    """Annotations (sync)."""

    def __init__(self, client: FullStory) -> None:
        self._client = client

    def create(
        self,
        text: str,
        *,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        source: str | None = None,
    ) -> Annotation:
        """Store an annotation and return it as stored, its times filled in.

        Args:
            text: what happened, 1 to 200 characters.
            start_time: when it started (an aware datetime or an RFC 3339 string); the
                server's current time when left out.
            end_time: when it ended, after ``start_time``; equal to the start when left out.
            source: who or what made it (a pipeline, a tool), at most 40 characters.

        Raises:
            FSInvalidArgumentError: a bad input, naming the field.
            FSError: the call failed. Retried only after failures that certainly were not
                processed (429, 503, a refused connection): after one that may have been (no
                answer, a 502/504) the error has ``maybe_processed`` set, as the annotation may
                exist.
        """
        return self.create_detailed(
            text, start_time=start_time, end_time=end_time, source=source
        ).body

    def create_detailed(
        self,
        text: str,
        *,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        source: str | None = None,
    ) -> ApiResponse[Annotation]:
        """Like ``create``, with the HTTP envelope."""
        call = create_annotation_call(text, start_time, end_time, source)
        return run_sync(self._client.raw, call)


class AsyncAnnotations:
    """Annotations (asyncio): the same call as :class:`Annotations`, awaited."""

    def __init__(self, client: AsyncFullStory) -> None:
        self._client = client

    async def create(
        self,
        text: str,
        *,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        source: str | None = None,
    ) -> Annotation:
        """Store an annotation; see :meth:`Annotations.create`."""
        return (
            await self.create_detailed(
                text, start_time=start_time, end_time=end_time, source=source
            )
        ).body

    async def create_detailed(
        self,
        text: str,
        *,
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        source: str | None = None,
    ) -> ApiResponse[Annotation]:
        """Like ``create``, with the HTTP envelope."""
        call = create_annotation_call(text, start_time, end_time, source)
        return await run_async(self._client.raw, call)
