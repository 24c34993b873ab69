from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.context_event_properties import ContextEventProperties


T = TypeVar("T", bound="ContextEvent")


@_attrs_define
class ContextEvent:
    type_: str | Unset = UNSET
    description: str | Unset = UNSET
    timestamp: datetime.datetime | Unset = UNSET
    screenshot_url: str | Unset = UNSET
    content: str | Unset = UNSET
    properties: ContextEventProperties | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        description = self.description

        timestamp: str | Unset = UNSET
        if not isinstance(self.timestamp, Unset):
            timestamp = self.timestamp.isoformat()

        screenshot_url = self.screenshot_url

        content = self.content

        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if description is not UNSET:
            field_dict["description"] = description
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if screenshot_url is not UNSET:
            field_dict["screenshot_url"] = screenshot_url
        if content is not UNSET:
            field_dict["content"] = content
        if properties is not UNSET:
            field_dict["properties"] = properties

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.context_event_properties import ContextEventProperties

        d = dict(src_dict)
        type_ = d.pop("type", UNSET)

        description = d.pop("description", UNSET)

        _timestamp = d.pop("timestamp", UNSET)
        timestamp: datetime.datetime | Unset
        if isinstance(_timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = isoparse(_timestamp)

        screenshot_url = d.pop("screenshot_url", UNSET)

        content = d.pop("content", UNSET)

        _properties = d.pop("properties", UNSET)
        properties: ContextEventProperties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = ContextEventProperties.from_dict(_properties)

        context_event = cls(
            type_=type_,
            description=description,
            timestamp=timestamp,
            screenshot_url=screenshot_url,
            content=content,
            properties=properties,
        )

        context_event.additional_properties = d
        return context_event

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
