from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pixel_size import PixelSize


T = TypeVar("T", bound="SessionDevice")


@_attrs_define
class SessionDevice:
    browser: str | Unset = UNSET
    operating_system: str | Unset = UNSET
    screen_size: PixelSize | Unset = UNSET
    viewport_size: PixelSize | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        browser = self.browser

        operating_system = self.operating_system

        screen_size: dict[str, Any] | Unset = UNSET
        if not isinstance(self.screen_size, Unset):
            screen_size = self.screen_size.to_dict()

        viewport_size: dict[str, Any] | Unset = UNSET
        if not isinstance(self.viewport_size, Unset):
            viewport_size = self.viewport_size.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if browser is not UNSET:
            field_dict["browser"] = browser
        if operating_system is not UNSET:
            field_dict["operating_system"] = operating_system
        if screen_size is not UNSET:
            field_dict["screen_size"] = screen_size
        if viewport_size is not UNSET:
            field_dict["viewport_size"] = viewport_size

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pixel_size import PixelSize

        d = dict(src_dict)
        browser = d.pop("browser", UNSET)

        operating_system = d.pop("operating_system", UNSET)

        _screen_size = d.pop("screen_size", UNSET)
        screen_size: PixelSize | Unset
        if isinstance(_screen_size, Unset):
            screen_size = UNSET
        else:
            screen_size = PixelSize.from_dict(_screen_size)

        _viewport_size = d.pop("viewport_size", UNSET)
        viewport_size: PixelSize | Unset
        if isinstance(_viewport_size, Unset):
            viewport_size = UNSET
        else:
            viewport_size = PixelSize.from_dict(_viewport_size)

        session_device = cls(
            browser=browser,
            operating_system=operating_system,
            screen_size=screen_size,
            viewport_size=viewport_size,
        )

        session_device.additional_properties = d
        return session_device

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
