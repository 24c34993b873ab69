from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PixelSize")


@_attrs_define
class PixelSize:
    height_pixels: int | Unset = UNSET
    width_pixels: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        height_pixels = self.height_pixels

        width_pixels = self.width_pixels

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if height_pixels is not UNSET:
            field_dict["height_pixels"] = height_pixels
        if width_pixels is not UNSET:
            field_dict["width_pixels"] = width_pixels

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        height_pixels = d.pop("height_pixels", UNSET)

        width_pixels = d.pop("width_pixels", UNSET)

        pixel_size = cls(
            height_pixels=height_pixels,
            width_pixels=width_pixels,
        )

        pixel_size.additional_properties = d
        return pixel_size

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
