from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.event_props import EventProps


T = TypeVar("T", bound="BackendEvent")


@_attrs_define
class BackendEvent:
    vid: str
    """ The visitor id from the frontend, or any id of yours for this person. """
    name: str
    """ The event name. """
    type_: EventType | Unset = UNSET
    """ `custom` for events of your own; `error` for errors. """
    value: str | Unset = UNSET
    """ An optional value for the event. """
    props: EventProps | Unset = UNSET
    """ Flat properties; each value is a string, a number or a boolean. """
    sid: str | Unset = UNSET
    """ The frontend session id; needed to find recordings by this event. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        vid = self.vid

        name = self.name

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_.value

        value = self.value

        props: dict[str, Any] | Unset = UNSET
        if not isinstance(self.props, Unset):
            props = self.props.to_dict()

        sid = self.sid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "vid": vid,
                "name": name,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_
        if value is not UNSET:
            field_dict["value"] = value
        if props is not UNSET:
            field_dict["props"] = props
        if sid is not UNSET:
            field_dict["sid"] = sid

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_props import EventProps

        d = dict(src_dict)
        vid = d.pop("vid")

        name = d.pop("name")

        _type_ = d.pop("type", UNSET)
        type_: EventType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = EventType(_type_)

        value = d.pop("value", UNSET)

        _props = d.pop("props", UNSET)
        props: EventProps | Unset
        if isinstance(_props, Unset):
            props = UNSET
        else:
            props = EventProps.from_dict(_props)

        sid = d.pop("sid", UNSET)

        backend_event = cls(
            vid=vid,
            name=name,
            type_=type_,
            value=value,
            props=props,
            sid=sid,
        )

        backend_event.additional_properties = d
        return backend_event

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
