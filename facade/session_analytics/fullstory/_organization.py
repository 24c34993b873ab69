"""``fs.organization``: the organization's quotas this billing cycle, and how a number of server
events compares with what is left of them (:class:`~._quotas.QuotaCheck`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._calls import ApiResponse, run_async, run_sync
from ._quotas import QuotaCheck, checked_events, quota_check
from ._v2_requests import get_quotas_call

if TYPE_CHECKING:
    from fullstory_api.models import QuotasResponse

    from ._client import AsyncFullStory, FullStory


class Organization:
    """The organization that owns the API key (sync)."""

    def __init__(self, client: FullStory) -> None:
        self._client = client

    def quotas(self) -> QuotasResponse:
        """How much of the session and server-event quotas this billing cycle has used (the
        counts are decimal strings, as the API writes them)."""
        return self.quotas_detailed().body

    def quotas_detailed(self) -> ApiResponse[QuotasResponse]:
        """Like ``quotas``, with the HTTP envelope."""
        return run_sync(self._client.raw, get_quotas_call())

    def check_quota(self, events: int | None) -> QuotaCheck:
        """Read the quotas and compare ``events`` server events (None: not known) with what is
        left of the server-event quota; ``describe()`` says it in a sentence."""
        events = checked_events(events)  # before any I/O
        return quota_check(self.quotas(), events)


class AsyncOrganization:
    """The organization that owns the API key (asyncio), as :class:`Organization`, awaited."""

    def __init__(self, client: AsyncFullStory) -> None:
        self._client = client

    async def quotas(self) -> QuotasResponse:
        """How much of the quotas this billing cycle has used."""
        return (await self.quotas_detailed()).body

    async def quotas_detailed(self) -> ApiResponse[QuotasResponse]:
        """Like ``quotas``, with the HTTP envelope."""
        return await run_async(self._client.raw, get_quotas_call())

    async def check_quota(self, events: int | None) -> QuotaCheck:
        """Read the quotas and compare ``events`` with what is left; see
        :meth:`Organization.check_quota`."""
        events = checked_events(events)  # before any I/O
        return quota_check(await self.quotas(), events)
