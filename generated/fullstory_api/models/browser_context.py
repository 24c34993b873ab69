from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BrowserContext")


@_attrs_define
class BrowserContext:
    url: str | Unset = UNSET
    user_agent: str | Unset = UNSET
    initial_referrer: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        user_agent = self.user_agent

        initial_referrer = self.initial_referrer

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if url is not UNSET:
            field_dict["url"] = url
        if user_agent is not UNSET:
            field_dict["user_agent"] = user_agent
        if initial_referrer is not UNSET:
            field_dict["initial_referrer"] = initial_referrer

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url", UNSET)

        user_agent = d.pop("user_agent", UNSET)

        initial_referrer = d.pop("initial_referrer", UNSET)

        browser_context = cls(
            url=url,
            user_agent=user_agent,
            initial_referrer=initial_referrer,
        )

        browser_context.additional_properties = d
        return browser_context

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
