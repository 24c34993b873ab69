from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.context_event import ContextEvent


T = TypeVar("T", bound="ContextPage")


@_attrs_define
class ContextPage:
    """One page (or mobile view) of the session and its events."""

    url: str | Unset = UNSET
    title: str | Unset = UNSET
    events: list[ContextEvent] | Unset = UNSET
    tab: int | Unset = UNSET
    """ Which browser tab, counted from 1; absent outside the web. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        title = self.title

        events: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = []
            for events_item_data in self.events:
                events_item = events_item_data.to_dict()
                events.append(events_item)

        tab = self.tab

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if url is not UNSET:
            field_dict["url"] = url
        if title is not UNSET:
            field_dict["title"] = title
        if events is not UNSET:
            field_dict["events"] = events
        if tab is not UNSET:
            field_dict["tab"] = tab

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.context_event import ContextEvent

        d = dict(src_dict)
        url = d.pop("url", UNSET)

        title = d.pop("title", UNSET)

        _events = d.pop("events", UNSET)
        events: list[ContextEvent] | Unset = UNSET
        if _events is not UNSET:
            events = []
            for events_item_data in _events:
                events_item = ContextEvent.from_dict(events_item_data)

                events.append(events_item)

        tab = d.pop("tab", UNSET)

        context_page = cls(
            url=url,
            title=title,
            events=events,
            tab=tab,
        )

        context_page.additional_properties = d
        return context_page

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
