from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EventSettings")


@_attrs_define
class EventSettings:
    """Which kinds of events to include and how much detail each carries. Event types include
    navigate, click, dead-click, error-click, rage-click, input-change, network-error,
    console-error, mouse-thrash, highlight, copy, paste and element-seen.

    """

    exclude_types: list[str] | Unset = UNSET
    include_types: list[str] | Unset = UNSET
    """ When given, only these types. """
    exclude_defined_events: bool | Unset = UNSET
    exclude_api_events: bool | Unset = UNSET
    """ Leave out events sent through the server API. """
    exclude_event_timestamps: bool | Unset = UNSET
    exclude_selectors: bool | Unset = UNSET
    include_selector_tags: bool | Unset = UNSET
    trim_to_last_n_selectors: int | Unset = UNSET
    include_tab_index: bool | Unset = UNSET
    include_descriptions: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        exclude_types: list[str] | Unset = UNSET
        if not isinstance(self.exclude_types, Unset):
            exclude_types = self.exclude_types

        include_types: list[str] | Unset = UNSET
        if not isinstance(self.include_types, Unset):
            include_types = self.include_types

        exclude_defined_events = self.exclude_defined_events

        exclude_api_events = self.exclude_api_events

        exclude_event_timestamps = self.exclude_event_timestamps

        exclude_selectors = self.exclude_selectors

        include_selector_tags = self.include_selector_tags

        trim_to_last_n_selectors = self.trim_to_last_n_selectors

        include_tab_index = self.include_tab_index

        include_descriptions = self.include_descriptions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if exclude_types is not UNSET:
            field_dict["exclude_types"] = exclude_types
        if include_types is not UNSET:
            field_dict["include_types"] = include_types
        if exclude_defined_events is not UNSET:
            field_dict["exclude_defined_events"] = exclude_defined_events
        if exclude_api_events is not UNSET:
            field_dict["exclude_api_events"] = exclude_api_events
        if exclude_event_timestamps is not UNSET:
            field_dict["exclude_event_timestamps"] = exclude_event_timestamps
        if exclude_selectors is not UNSET:
            field_dict["exclude_selectors"] = exclude_selectors
        if include_selector_tags is not UNSET:
            field_dict["include_selector_tags"] = include_selector_tags
        if trim_to_last_n_selectors is not UNSET:
            field_dict["trim_to_last_n_selectors"] = trim_to_last_n_selectors
        if include_tab_index is not UNSET:
            field_dict["include_tab_index"] = include_tab_index
        if include_descriptions is not UNSET:
            field_dict["include_descriptions"] = include_descriptions

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        exclude_types = cast(list[str], d.pop("exclude_types", UNSET))

        include_types = cast(list[str], d.pop("include_types", UNSET))

        exclude_defined_events = d.pop("exclude_defined_events", UNSET)

        exclude_api_events = d.pop("exclude_api_events", UNSET)

        exclude_event_timestamps = d.pop("exclude_event_timestamps", UNSET)

        exclude_selectors = d.pop("exclude_selectors", UNSET)

        include_selector_tags = d.pop("include_selector_tags", UNSET)

        trim_to_last_n_selectors = d.pop("trim_to_last_n_selectors", UNSET)

        include_tab_index = d.pop("include_tab_index", UNSET)

        include_descriptions = d.pop("include_descriptions", UNSET)

        event_settings = cls(
            exclude_types=exclude_types,
            include_types=include_types,
            exclude_defined_events=exclude_defined_events,
            exclude_api_events=exclude_api_events,
            exclude_event_timestamps=exclude_event_timestamps,
            exclude_selectors=exclude_selectors,
            include_selector_tags=include_selector_tags,
            trim_to_last_n_selectors=trim_to_last_n_selectors,
            include_tab_index=include_tab_index,
            include_descriptions=include_descriptions,
        )

        event_settings.additional_properties = d
        return event_settings

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
