from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MobileContext")


@_attrs_define
class MobileContext:
    app_id: str | Unset = UNSET
    app_version: str | Unset = UNSET
    app_name: str | Unset = UNSET
    build_variant: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app_id = self.app_id

        app_version = self.app_version

        app_name = self.app_name

        build_variant = self.build_variant

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if app_id is not UNSET:
            field_dict["app_id"] = app_id
        if app_version is not UNSET:
            field_dict["app_version"] = app_version
        if app_name is not UNSET:
            field_dict["app_name"] = app_name
        if build_variant is not UNSET:
            field_dict["build_variant"] = build_variant

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        app_id = d.pop("app_id", UNSET)

        app_version = d.pop("app_version", UNSET)

        app_name = d.pop("app_name", UNSET)

        build_variant = d.pop("build_variant", UNSET)

        mobile_context = cls(
            app_id=app_id,
            app_version=app_version,
            app_name=app_name,
            build_variant=build_variant,
        )

        mobile_context.additional_properties = d
        return mobile_context

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
