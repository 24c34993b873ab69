from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.context_element import ContextElement
from ..types import UNSET, Unset

T = TypeVar("T", bound="ContextSettings")


@_attrs_define
class ContextSettings:
    """Which surroundings of the session (user, organization, location, device) to include."""

    include: list[ContextElement] | Unset = UNSET
    """ Only these parts; wins over the exclude flags below. """
    exclude: list[ContextElement] | Unset = UNSET
    """ Not these parts; wins over the exclude flags below. """
    exclude_org_context: bool | Unset = UNSET
    exclude_user_context: bool | Unset = UNSET
    exclude_location: bool | Unset = UNSET
    exclude_device: bool | Unset = UNSET
    exclude_descriptions: bool | Unset = UNSET
    """ Replaced by `include_descriptions` in the event settings, which wins. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        include: list[str] | Unset = UNSET
        if not isinstance(self.include, Unset):
            include = []
            for include_item_data in self.include:
                include_item = include_item_data.value
                include.append(include_item)

        exclude: list[str] | Unset = UNSET
        if not isinstance(self.exclude, Unset):
            exclude = []
            for exclude_item_data in self.exclude:
                exclude_item = exclude_item_data.value
                exclude.append(exclude_item)

        exclude_org_context = self.exclude_org_context

        exclude_user_context = self.exclude_user_context

        exclude_location = self.exclude_location

        exclude_device = self.exclude_device

        exclude_descriptions = self.exclude_descriptions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if include is not UNSET:
            field_dict["include"] = include
        if exclude is not UNSET:
            field_dict["exclude"] = exclude
        if exclude_org_context is not UNSET:
            field_dict["exclude_org_context"] = exclude_org_context
        if exclude_user_context is not UNSET:
            field_dict["exclude_user_context"] = exclude_user_context
        if exclude_location is not UNSET:
            field_dict["exclude_location"] = exclude_location
        if exclude_device is not UNSET:
            field_dict["exclude_device"] = exclude_device
        if exclude_descriptions is not UNSET:
            field_dict["exclude_descriptions"] = exclude_descriptions

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _include = d.pop("include", UNSET)
        include: list[ContextElement] | Unset = UNSET
        if _include is not UNSET:
            include = []
            for include_item_data in _include:
                include_item = ContextElement(include_item_data)

                include.append(include_item)

        _exclude = d.pop("exclude", UNSET)
        exclude: list[ContextElement] | Unset = UNSET
        if _exclude is not UNSET:
            exclude = []
            for exclude_item_data in _exclude:
                exclude_item = ContextElement(exclude_item_data)

                exclude.append(exclude_item)

        exclude_org_context = d.pop("exclude_org_context", UNSET)

        exclude_user_context = d.pop("exclude_user_context", UNSET)

        exclude_location = d.pop("exclude_location", UNSET)

        exclude_device = d.pop("exclude_device", UNSET)

        exclude_descriptions = d.pop("exclude_descriptions", UNSET)

        context_settings = cls(
            include=include,
            exclude=exclude,
            exclude_org_context=exclude_org_context,
            exclude_user_context=exclude_user_context,
            exclude_location=exclude_location,
            exclude_device=exclude_device,
            exclude_descriptions=exclude_descriptions,
        )

        context_settings.additional_properties = d
        return context_settings

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
