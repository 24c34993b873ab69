from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DeviceContext")


@_attrs_define
class DeviceContext:
    manufacturer: str | Unset = UNSET
    model: str | Unset = UNSET
    screen_width: int | Unset = UNSET
    screen_height: int | Unset = UNSET
    viewport_width: int | Unset = UNSET
    viewport_height: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        manufacturer = self.manufacturer

        model = self.model

        screen_width = self.screen_width

        screen_height = self.screen_height

        viewport_width = self.viewport_width

        viewport_height = self.viewport_height

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if manufacturer is not UNSET:
            field_dict["manufacturer"] = manufacturer
        if model is not UNSET:
            field_dict["model"] = model
        if screen_width is not UNSET:
            field_dict["screen_width"] = screen_width
        if screen_height is not UNSET:
            field_dict["screen_height"] = screen_height
        if viewport_width is not UNSET:
            field_dict["viewport_width"] = viewport_width
        if viewport_height is not UNSET:
            field_dict["viewport_height"] = viewport_height

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        manufacturer = d.pop("manufacturer", UNSET)

        model = d.pop("model", UNSET)

        screen_width = d.pop("screen_width", UNSET)

        screen_height = d.pop("screen_height", UNSET)

        viewport_width = d.pop("viewport_width", UNSET)

        viewport_height = d.pop("viewport_height", UNSET)

        device_context = cls(
            manufacturer=manufacturer,
            model=model,
            screen_width=screen_width,
            screen_height=screen_height,
            viewport_width=viewport_width,
            viewport_height=viewport_height,
        )

        device_context.additional_properties = d
        return device_context

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
