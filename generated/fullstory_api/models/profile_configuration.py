from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cache_settings import CacheSettings
    from ..models.context_settings import ContextSettings
    from ..models.event_settings import EventSettings
    from ..models.slice_settings import SliceSettings


T = TypeVar("T", bound="ProfileConfiguration")


@_attrs_define
class ProfileConfiguration:
    """The session-context part of a stored profile."""

    slice_: SliceSettings | Unset = UNSET
    """ Which of the session's events to keep, counted from its start, its end or a moment. """
    context: ContextSettings | Unset = UNSET
    """ Which surroundings of the session (user, organization, location, device) to include. """
    events: EventSettings | Unset = UNSET
    """ Which kinds of events to include and how much detail each carries. Event types include
    navigate, click, dead-click, error-click, rage-click, input-change, network-error,
    console-error, mouse-thrash, highlight, copy, paste and element-seen.
     """
    cache: CacheSettings | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        slice_: dict[str, Any] | Unset = UNSET
        if not isinstance(self.slice_, Unset):
            slice_ = self.slice_.to_dict()

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        events: dict[str, Any] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = self.events.to_dict()

        cache: dict[str, Any] | Unset = UNSET
        if not isinstance(self.cache, Unset):
            cache = self.cache.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if slice_ is not UNSET:
            field_dict["slice"] = slice_
        if context is not UNSET:
            field_dict["context"] = context
        if events is not UNSET:
            field_dict["events"] = events
        if cache is not UNSET:
            field_dict["cache"] = cache

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cache_settings import CacheSettings
        from ..models.context_settings import ContextSettings
        from ..models.event_settings import EventSettings
        from ..models.slice_settings import SliceSettings

        d = dict(src_dict)
        _slice_ = d.pop("slice", UNSET)
        slice_: SliceSettings | Unset
        if isinstance(_slice_, Unset):
            slice_ = UNSET
        else:
            slice_ = SliceSettings.from_dict(_slice_)

        _context = d.pop("context", UNSET)
        context: ContextSettings | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = ContextSettings.from_dict(_context)

        _events = d.pop("events", UNSET)
        events: EventSettings | Unset
        if isinstance(_events, Unset):
            events = UNSET
        else:
            events = EventSettings.from_dict(_events)

        _cache = d.pop("cache", UNSET)
        cache: CacheSettings | Unset
        if isinstance(_cache, Unset):
            cache = UNSET
        else:
            cache = CacheSettings.from_dict(_cache)

        profile_configuration = cls(
            slice_=slice_,
            context=context,
            events=events,
            cache=cache,
        )

        profile_configuration.additional_properties = d
        return profile_configuration

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
