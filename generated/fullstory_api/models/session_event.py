from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.captured_event_properties import CapturedEventProperties
    from ..models.event_source_properties import EventSourceProperties


T = TypeVar("T", bound="SessionEvent")


@_attrs_define
class SessionEvent:
    """One captured event. The vendor documents this answer by an example only; this schema
    keeps the fields of that example, all optional, and leaves the two property maps open.

    """

    device_id: str | Unset = UNSET
    """ The user part of the session id. """
    session_id: str | Unset = UNSET
    """ The session part of the session id. """
    view_id: str | Unset = UNSET
    """ The page view (or app view) the event happened in. """
    event_time: datetime.datetime | Unset = UNSET
    event_type: str | Unset = UNSET
    """ Such as `navigate`, `click` or `custom`. """
    event_properties: CapturedEventProperties | Unset = UNSET
    """ What the event carries; the names depend on `event_type`. """
    source_type: str | Unset = UNSET
    """ Where the event was captured, such as `web` or `server`. """
    source_properties: EventSourceProperties | Unset = UNSET
    """ What is known about where the event came from (user agent, URL, referrer). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        device_id = self.device_id

        session_id = self.session_id

        view_id = self.view_id

        event_time: str | Unset = UNSET
        if not isinstance(self.event_time, Unset):
            event_time = self.event_time.isoformat()

        event_type = self.event_type

        event_properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.event_properties, Unset):
            event_properties = self.event_properties.to_dict()

        source_type = self.source_type

        source_properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.source_properties, Unset):
            source_properties = self.source_properties.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if device_id is not UNSET:
            field_dict["device_id"] = device_id
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if view_id is not UNSET:
            field_dict["view_id"] = view_id
        if event_time is not UNSET:
            field_dict["event_time"] = event_time
        if event_type is not UNSET:
            field_dict["event_type"] = event_type
        if event_properties is not UNSET:
            field_dict["event_properties"] = event_properties
        if source_type is not UNSET:
            field_dict["source_type"] = source_type
        if source_properties is not UNSET:
            field_dict["source_properties"] = source_properties

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.captured_event_properties import CapturedEventProperties
        from ..models.event_source_properties import EventSourceProperties

        d = dict(src_dict)
        device_id = d.pop("device_id", UNSET)

        session_id = d.pop("session_id", UNSET)

        view_id = d.pop("view_id", UNSET)

        _event_time = d.pop("event_time", UNSET)
        event_time: datetime.datetime | Unset
        if isinstance(_event_time, Unset):
            event_time = UNSET
        else:
            event_time = isoparse(_event_time)

        event_type = d.pop("event_type", UNSET)

        _event_properties = d.pop("event_properties", UNSET)
        event_properties: CapturedEventProperties | Unset
        if isinstance(_event_properties, Unset):
            event_properties = UNSET
        else:
            event_properties = CapturedEventProperties.from_dict(_event_properties)

        source_type = d.pop("source_type", UNSET)

        _source_properties = d.pop("source_properties", UNSET)
        source_properties: EventSourceProperties | Unset
        if isinstance(_source_properties, Unset):
            source_properties = UNSET
        else:
            source_properties = EventSourceProperties.from_dict(_source_properties)

        session_event = cls(
            device_id=device_id,
            session_id=session_id,
            view_id=view_id,
            event_time=event_time,
            event_type=event_type,
            event_properties=event_properties,
            source_type=source_type,
            source_properties=source_properties,
        )

        session_event.additional_properties = d
        return session_event

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
