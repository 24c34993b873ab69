from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AnalyticsStatus")


@_attrs_define
class AnalyticsStatus:
    ok: bool
    """ True when the project accepts backend events. """
    error: str | Unset = UNSET
    """ Why the analytics module is off, when `ok` is false. """
    host: str | Unset = UNSET
    """ Where to send events: a bare host name (`host` or `host:port`). Clients should also
    accept a value that starts with a scheme.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ok = self.ok

        error = self.error

        host = self.host

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ok": ok,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if host is not UNSET:
            field_dict["host"] = host

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        ok = d.pop("ok")

        error = d.pop("error", UNSET)

        host = d.pop("host", UNSET)

        analytics_status = cls(
            ok=ok,
            error=error,
            host=host,
        )

        analytics_status.additional_properties = d
        return analytics_status

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
