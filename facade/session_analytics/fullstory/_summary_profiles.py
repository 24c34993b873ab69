"""``fs.summary_profiles``: stored settings for session summaries (prompts, which events and
surroundings go in), created, read, listed, replaced and deleted. The API's paths call them
visit profiles (``/v2/visit_profile``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ._calls import ApiResponse, run_async, run_sync
from ._requests import next_page_token
from ._v2_requests import (
    create_summary_profile_call,
    delete_summary_profile_call,
    get_summary_profile_call,
    list_summary_profiles_call,
    update_summary_profile_call,
)

if TYPE_CHECKING:
    from typing import TypeAlias

    from fullstory_api.models import (
        DeleteSummaryProfileResponse,
        ListSummaryProfilesResponse,
        SummaryProfile,
        SummaryProfileId,
        SummaryProfileRequest,
    )

    from ._client import AsyncFullStory, FullStory

    ProfileIn: TypeAlias = SummaryProfileRequest | dict[str, Any]


def page_profiles(page: Any) -> list[Any]:
    profiles = getattr(page, "profiles", None)
    return list(profiles) if isinstance(profiles, list) else []


class SummaryProfiles:
    """Summary profiles (sync). A profile is a dict or a SummaryProfileRequest: ``name``,
    ``slice``, ``context``, ``events``, ``cache``, ``llm``, checked as in ``sessions.summary``."""

    def __init__(self, client: FullStory) -> None:
        self._client = client

    def create(self, profile: ProfileIn) -> SummaryProfileId:
        """Store a profile; its ``id`` names it in summaries.

        The API takes no Idempotency-Key here: a failed attempt that may have been processed
        (no answer, a 502/504) is not retried, and its error has ``maybe_processed`` set (look
        the profile up before creating it again).
        """
        return self.create_detailed(profile).body

    def create_detailed(self, profile: ProfileIn) -> ApiResponse[SummaryProfileId]:
        """Like ``create``, with the HTTP envelope."""
        return run_sync(self._client.raw, create_summary_profile_call(profile))

    def get(self, id: str) -> SummaryProfile:
        """Read one profile; its session-context settings come back under ``configuration``."""
        return self.get_detailed(id).body

    def get_detailed(self, id: str) -> ApiResponse[SummaryProfile]:
        """Like ``get``, with the HTTP envelope."""
        return run_sync(self._client.raw, get_summary_profile_call(id))

    def list(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ListSummaryProfilesResponse:
        """One page of profiles (``limit`` 1 to 100, the API's default 20); see ``iter``."""
        return self.list_detailed(limit=limit, page_token=page_token).body

    def list_detailed(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ApiResponse[ListSummaryProfilesResponse]:
        """Like ``list``, with the HTTP envelope."""
        call = list_summary_profiles_call(limit=limit, page_token=page_token)
        return run_sync(self._client.raw, call)

    def iter(self, *, limit: int | None = None) -> Iterator[SummaryProfile]:
        """Every profile, fetching the pages (of ``limit``) as they are needed."""
        token: str | None = None
        while True:
            page = self.list(limit=limit, page_token=token)
            yield from page_profiles(page)
            token = next_page_token(page, token)
            if token is None:
                return

    def update(self, id: str, profile: ProfileIn) -> SummaryProfileId:
        """Replace the profile's settings with these (a full replace, not a merge)."""
        return self.update_detailed(id, profile).body

    def update_detailed(self, id: str, profile: ProfileIn) -> ApiResponse[SummaryProfileId]:
        """Like ``update``, with the HTTP envelope."""
        return run_sync(self._client.raw, update_summary_profile_call(id, profile))

    def delete(self, id: str) -> DeleteSummaryProfileResponse:
        """Delete the profile."""
        return self.delete_detailed(id).body

    def delete_detailed(self, id: str) -> ApiResponse[DeleteSummaryProfileResponse]:
        """Like ``delete``, with the HTTP envelope."""
        return run_sync(self._client.raw, delete_summary_profile_call(id))


class AsyncSummaryProfiles:
    """Summary profiles (asyncio): the same calls as :class:`SummaryProfiles`, awaited."""

    def __init__(self, client: AsyncFullStory) -> None:
        self._client = client

    async def create(self, profile: ProfileIn) -> SummaryProfileId:
        """Store a profile; see :meth:`SummaryProfiles.create` (not retried once it may have
        been processed)."""
        return (await self.create_detailed(profile)).body

    async def create_detailed(self, profile: ProfileIn) -> ApiResponse[SummaryProfileId]:
        """Like ``create``, with the HTTP envelope."""
        return await run_async(self._client.raw, create_summary_profile_call(profile))

    async def get(self, id: str) -> SummaryProfile:
        """Read one profile."""
        return (await self.get_detailed(id)).body

    async def get_detailed(self, id: str) -> ApiResponse[SummaryProfile]:
        """Like ``get``, with the HTTP envelope."""
        return await run_async(self._client.raw, get_summary_profile_call(id))

    async def list(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ListSummaryProfilesResponse:
        """One page of profiles (``limit`` 1 to 100); see ``iter``."""
        return (await self.list_detailed(limit=limit, page_token=page_token)).body

    async def list_detailed(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ApiResponse[ListSummaryProfilesResponse]:
        """Like ``list``, with the HTTP envelope."""
        call = list_summary_profiles_call(limit=limit, page_token=page_token)
        return await run_async(self._client.raw, call)

    async def iter(self, *, limit: int | None = None) -> AsyncIterator[SummaryProfile]:
        """Every profile, fetching the pages as they are needed."""
        token: str | None = None
        while True:
            page = await self.list(limit=limit, page_token=token)
            for profile in page_profiles(page):
                yield profile
            token = next_page_token(page, token)
            if token is None:
                return

    async def update(self, id: str, profile: ProfileIn) -> SummaryProfileId:
        """Replace the profile's settings with these."""
        return (await self.update_detailed(id, profile)).body

    async def update_detailed(self, id: str, profile: ProfileIn) -> ApiResponse[SummaryProfileId]:
        """Like ``update``, with the HTTP envelope."""
        return await run_async(self._client.raw, update_summary_profile_call(id, profile))

    async def delete(self, id: str) -> DeleteSummaryProfileResponse:
        """Delete the profile."""
        return (await self.delete_detailed(id)).body

    async def delete_detailed(self, id: str) -> ApiResponse[DeleteSummaryProfileResponse]:
        """Like ``delete``, with the HTTP envelope."""
        return await run_async(self._client.raw, delete_summary_profile_call(id))
