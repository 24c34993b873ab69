from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..models.slice_settings_mode import SliceSettingsMode
from ..types import UNSET, Unset

T = TypeVar("T", bound="SliceSettings")


@_attrs_define
class SliceSettings:
    """Which of the session's events to keep, counted from its start, its end or a moment."""

    mode: SliceSettingsMode | Unset = SliceSettingsMode.FIRST
    """ FIRST keeps the earliest events, LAST the latest, TIMESTAMP those from
    `start_timestamp` on.
     """
    event_limit: int | Unset = UNSET
    """ Keep at most this many events; 0 or less keeps them all. """
    duration_limit_ms: str | Unset = UNSET
    """ Keep only the events within this many milliseconds of the start (or end). A 64-bit
    integer, which the API writes as a decimal string.
     """
    start_timestamp: datetime.datetime | Unset = UNSET
    """ The limits above count from this moment. """
    end_timestamp: datetime.datetime | Unset = UNSET
    """ Only events before this moment are kept. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        event_limit = self.event_limit

        duration_limit_ms = self.duration_limit_ms

        start_timestamp: str | Unset = UNSET
        if not isinstance(self.start_timestamp, Unset):
            start_timestamp = self.start_timestamp.isoformat()

        end_timestamp: str | Unset = UNSET
        if not isinstance(self.end_timestamp, Unset):
            end_timestamp = self.end_timestamp.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if mode is not UNSET:
            field_dict["mode"] = mode
        if event_limit is not UNSET:
            field_dict["event_limit"] = event_limit
        if duration_limit_ms is not UNSET:
            field_dict["duration_limit_ms"] = duration_limit_ms
        if start_timestamp is not UNSET:
            field_dict["start_timestamp"] = start_timestamp
        if end_timestamp is not UNSET:
            field_dict["end_timestamp"] = end_timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _mode = d.pop("mode", UNSET)
        mode: SliceSettingsMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = SliceSettingsMode(_mode)

        event_limit = d.pop("event_limit", UNSET)

        duration_limit_ms = d.pop("duration_limit_ms", UNSET)

        _start_timestamp = d.pop("start_timestamp", UNSET)
        start_timestamp: datetime.datetime | Unset
        if isinstance(_start_timestamp, Unset):
            start_timestamp = UNSET
        else:
            start_timestamp = isoparse(_start_timestamp)

        _end_timestamp = d.pop("end_timestamp", UNSET)
        end_timestamp: datetime.datetime | Unset
        if isinstance(_end_timestamp, Unset):
            end_timestamp = UNSET
        else:
            end_timestamp = isoparse(_end_timestamp)

        slice_settings = cls(
            mode=mode,
            event_limit=event_limit,
            duration_limit_ms=duration_limit_ms,
            start_timestamp=start_timestamp,
            end_timestamp=end_timestamp,
        )

        slice_settings.additional_properties = d
        return slice_settings

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
