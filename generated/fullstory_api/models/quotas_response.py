from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.quota_usage import QuotaUsage


T = TypeVar("T", bound="QuotasResponse")


@_attrs_define
class QuotasResponse:
    session_quota: QuotaUsage | Unset = UNSET
    """ One quota in the current billing cycle. The counts are 64-bit integers, which the API
    writes as decimal strings.
     """
    server_event_quota: QuotaUsage | Unset = UNSET
    """ One quota in the current billing cycle. The counts are 64-bit integers, which the API
    writes as decimal strings.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_quota: dict[str, Any] | Unset = UNSET
        if not isinstance(self.session_quota, Unset):
            session_quota = self.session_quota.to_dict()

        server_event_quota: dict[str, Any] | Unset = UNSET
        if not isinstance(self.server_event_quota, Unset):
            server_event_quota = self.server_event_quota.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if session_quota is not UNSET:
            field_dict["session_quota"] = session_quota
        if server_event_quota is not UNSET:
            field_dict["server_event_quota"] = server_event_quota

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.quota_usage import QuotaUsage

        d = dict(src_dict)
        _session_quota = d.pop("session_quota", UNSET)
        session_quota: QuotaUsage | Unset
        if isinstance(_session_quota, Unset):
            session_quota = UNSET
        else:
            session_quota = QuotaUsage.from_dict(_session_quota)

        _server_event_quota = d.pop("server_event_quota", UNSET)
        server_event_quota: QuotaUsage | Unset
        if isinstance(_server_event_quota, Unset):
            server_event_quota = UNSET
        else:
            server_event_quota = QuotaUsage.from_dict(_server_event_quota)

        quotas_response = cls(
            session_quota=session_quota,
            server_event_quota=server_event_quota,
        )

        quotas_response.additional_properties = d
        return quotas_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
