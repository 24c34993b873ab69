from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.create_event_request import CreateEventRequest
    from ..models.shared_data import SharedData


T = TypeVar("T", bound="FailedEventsImport")


@_attrs_define
class FailedEventsImport:
    """An item of an events job that could not be recorded, with the reason."""

    message: str | Unset = UNSET
    code: str | Unset = UNSET
    event: CreateEventRequest | Unset = UNSET
    shared: SharedData | Unset = UNSET
    """ Fields that apply to every item of an events import job. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        code = self.code

        event: dict[str, Any] | Unset = UNSET
        if not isinstance(self.event, Unset):
            event = self.event.to_dict()

        shared: dict[str, Any] | Unset = UNSET
        if not isinstance(self.shared, Unset):
            shared = self.shared.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if message is not UNSET:
            field_dict["message"] = message
        if code is not UNSET:
            field_dict["code"] = code
        if event is not UNSET:
            field_dict["event"] = event
        if shared is not UNSET:
            field_dict["shared"] = shared

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_event_request import CreateEventRequest
        from ..models.shared_data import SharedData

        d = dict(src_dict)
        message = d.pop("message", UNSET)

        code = d.pop("code", UNSET)

        _event = d.pop("event", UNSET)
        event: CreateEventRequest | Unset
        if isinstance(_event, Unset):
            event = UNSET
        else:
            event = CreateEventRequest.from_dict(_event)

        _shared = d.pop("shared", UNSET)
        shared: SharedData | Unset
        if isinstance(_shared, Unset):
            shared = UNSET
        else:
            shared = SharedData.from_dict(_shared)

        failed_events_import = cls(
            message=message,
            code=code,
            event=event,
            shared=shared,
        )

        failed_events_import.additional_properties = d
        return failed_events_import

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
