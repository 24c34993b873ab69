"""Quotas: the arithmetic and the sentence of a :class:`QuotaCheck`, ``organization.quotas()`` and
``check_quota()`` against the sandbox, and ``events.import_(check_quota=True)``: the check kept on
the result, a QuotaWarning when the import would use more than is left, and an import that goes
on when the quotas cannot be read. Both clients."""

from __future__ import annotations

import logging
import warnings
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fullstory_api.models import QuotasResponse, QuotaUsage
from session_analytics import QuotaWarning
from session_analytics import errors as errors_module
from session_analytics.fullstory import BatchJobOptions, QuotaCheck, quota_check
from session_analytics.sandbox import Sandbox

FAST = BatchJobOptions(poll_interval=0.05)
END = datetime(2026, 12, 31, tzinfo=timezone.utc)


def quotas(usage: Any, limit: Any, period_end: datetime | None = END) -> QuotasResponse:
    quota: dict[str, Any] = {"usage": usage, "limit": limit}
    if period_end is not None:
        quota["period_end"] = period_end.isoformat()
    return QuotasResponse.from_dict(
        {"server_event_quota": {k: v for k, v in quota.items() if v is not None}}
    )


def events(n: int, uid: str = "quota-user") -> list[dict[str, Any]]:
    return [{"name": "Imported", "user": {"uid": uid}, "properties": {"n": i}} for i in range(n)]


# ---- QuotaCheck, without I/O --------------------------------------------------------------------


def test_an_import_that_fits_says_its_share() -> None:
    check = quota_check(quotas("912000", "1000000"), 12_000)
    assert (check.usage, check.limit, check.remaining) == (912_000, 1_000_000, 88_000)
    assert check.would_exceed is False
    assert check.share == pytest.approx(12_000 / 88_000)
    assert check.period_end == END
    assert check.describe() == (
        "this import would use 12,000 of the 88,000 server events left until 2026-12-31 (14%)"
    )


def test_an_import_past_the_quota_says_so() -> None:
    check = quota_check(quotas("999500", "1000000"), 12_000)
    assert check.would_exceed is True
    assert check.remaining == 500
    assert check.describe() == (
        "this import would send 12,000 server events, more than the 500 server events left "
        "until 2026-12-31"
    )


def test_a_used_up_quota_leaves_nothing_and_no_share() -> None:
    check = quota_check(quotas("1200", "1000"), 1)
    assert (check.remaining, check.would_exceed, check.share) == (0, True, None)
    assert quota_check(quotas("1000", "1000"), 0).would_exceed is False


@pytest.mark.parametrize(
    "response",
    [
        QuotasResponse.from_dict({}),
        quotas(None, "1000"),
        quotas("10", None),
        quotas("ten", "1000"),
        quotas("10", "-1"),  # a negative limit is no limit
    ],
)
def test_what_the_api_did_not_say_stays_unknown(response: QuotasResponse) -> None:
    check = quota_check(response, 50)
    assert check.remaining is None
    assert check.would_exceed is False
    assert check.share is None
    assert "did not say" in check.describe()
    assert "50" in check.describe()


def test_an_unknown_size_is_compared_with_nothing() -> None:
    check = quota_check(quotas("100", "1000", period_end=None), None)
    assert (check.events, check.would_exceed, check.share, check.remaining) == (
        None,
        False,
        None,
        900,
    )
    assert check.describe() == (
        "900 server events left (100 of 1,000 used); the size of this import is not known"
    )


def test_a_tiny_share_is_not_rounded_to_nothing() -> None:
    assert "(under 1%)" in quota_check(quotas("0", "1000000"), 3).describe()


def test_a_quota_check_is_a_frozen_value() -> None:
    check = quota_check(quotas("1", "2"), 1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        check.events = 5  # type: ignore[misc]
    assert isinstance(check, QuotaCheck)


counts = st.integers(min_value=0, max_value=2**63 - 1)


@given(usage=counts, limit=counts, sending=st.none() | counts)
def test_the_arithmetic_holds_for_any_counts(usage: int, limit: int, sending: int | None) -> None:
    check = quota_check(
        QuotasResponse(server_event_quota=QuotaUsage(usage=str(usage), limit=str(limit))), sending
    )
    assert check.remaining == max(0, limit - usage)
    assert check.would_exceed == (sending is not None and sending > check.remaining)
    if sending is None or check.remaining == 0:
        assert check.share is None
    else:
        assert check.share == pytest.approx(sending / check.remaining)
    sentence = check.describe()
    assert f"{check.remaining:,}" in sentence
    assert "\n" not in sentence
    if check.would_exceed:
        assert "more than" in sentence


# ---- against the sandbox ----------------------------------------------------------------------


def test_quotas_count_what_the_sandbox_received(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(server_event_quota=10)
    for event in events(3):
        fs.events.create(event)
    read = fs.organization.quotas()
    assert (read.server_event_quota.usage, read.server_event_quota.limit) == ("3", "10")
    assert read.server_event_quota.period_end > read.server_event_quota.period_start
    check = fs.organization.check_quota(4)
    assert (check.usage, check.limit, check.remaining, check.events) == (3, 10, 7, 4)
    assert check.would_exceed is False
    assert check.period_end == read.server_event_quota.period_end
    assert fs.organization.check_quota(8).would_exceed is True


def test_an_import_that_fits_keeps_its_check_and_does_not_warn(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(server_event_quota=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuotaWarning)
        result = fs.events.import_(events(5), options=FAST, check_quota=True)
    assert result.imported == 5
    assert result.quota is not None
    assert (result.quota.events, result.quota.remaining) == (5, 100)  # read before the import
    assert result.quota.would_exceed is False


def test_an_import_past_the_quota_warns_and_goes_on(fs: Any, sandbox: Sandbox, flavor: str) -> None:
    sandbox.configure(server_event_quota=4)
    with pytest.warns(QuotaWarning, match="more than the 4 server events left") as caught:
        result = fs.events.import_(events(6), options=FAST, check_quota=True)
    assert result.imported == 6  # the API decides what happens past the quota, not the SDK
    assert result.quota is not None
    assert result.quota.would_exceed is True
    assert str(caught[0].message) == result.quota.describe()
    if flavor == "sync":
        assert caught[0].filename == __file__  # it points at the caller's line
    assert fs.organization.check_quota(0).usage == 6


def test_an_iterator_of_unknown_size_is_checked_without_a_count(fs: Any, sandbox: Sandbox) -> None:
    sandbox.configure(server_event_quota=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuotaWarning)
        result = fs.events.import_(iter(events(3)), options=FAST, check_quota=True)
    assert result.imported == 3
    assert result.quota is not None
    assert result.quota.events is None
    assert result.quota.would_exceed is False


def test_no_check_unless_asked(fs: Any, sandbox: Sandbox) -> None:
    result = fs.events.import_(events(2), options=FAST)
    assert result.quota is None
    assert not [r for r in sandbox.requests() if r["route"] == "GET /v2/organization/quotas"]


def test_quotas_that_cannot_be_read_do_not_stop_the_import(
    make_fs: Any, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    fs = make_fs(max_retries=1)
    sandbox.set_faults(paths=["/v2/organization/quotas"], error_rate=1.0)
    with caplog.at_level(logging.WARNING, logger="session_analytics"):
        result = fs.events.import_(events(2), options=FAST, check_quota=True)
    assert result.imported == 2
    assert result.quota is None
    assert any("could not read the quotas" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.WARNING for r in caplog.records if "quotas" in r.getMessage())


def test_quota_warning_is_exported_where_errors_live() -> None:
    assert QuotaWarning is errors_module.QuotaWarning
    assert issubclass(QuotaWarning, UserWarning)
    assert "QuotaWarning" in errors_module.__all__
