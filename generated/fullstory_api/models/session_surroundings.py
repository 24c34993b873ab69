from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.session_device import SessionDevice
    from ..models.session_location import SessionLocation
    from ..models.session_org import SessionOrg
    from ..models.session_user import SessionUser


T = TypeVar("T", bound="SessionSurroundings")


@_attrs_define
class SessionSurroundings:
    """The session and who, where and on what it happened; the parts asked for only."""

    session_id: str | Unset = UNSET
    session_url: str | Unset = UNSET
    session_created_at: datetime.datetime | Unset = UNSET
    org_context: SessionOrg | Unset = UNSET
    user_context: SessionUser | Unset = UNSET
    location_context: SessionLocation | Unset = UNSET
    device_context: SessionDevice | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        session_id = self.session_id

        session_url = self.session_url

        session_created_at: str | Unset = UNSET
        if not isinstance(self.session_created_at, Unset):
            session_created_at = self.session_created_at.isoformat()

        org_context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.org_context, Unset):
            org_context = self.org_context.to_dict()

        user_context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.user_context, Unset):
            user_context = self.user_context.to_dict()

        location_context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.location_context, Unset):
            location_context = self.location_context.to_dict()

        device_context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.device_context, Unset):
            device_context = self.device_context.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if session_id is not UNSET:
            field_dict["session_id"] = session_id
        if session_url is not UNSET:
            field_dict["session_url"] = session_url
        if session_created_at is not UNSET:
            field_dict["session_created_at"] = session_created_at
        if org_context is not UNSET:
            field_dict["org_context"] = org_context
        if user_context is not UNSET:
            field_dict["user_context"] = user_context
        if location_context is not UNSET:
            field_dict["location_context"] = location_context
        if device_context is not UNSET:
            field_dict["device_context"] = device_context

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.session_device import SessionDevice
        from ..models.session_location import SessionLocation
        from ..models.session_org import SessionOrg
        from ..models.session_user import SessionUser

        d = dict(src_dict)
        session_id = d.pop("session_id", UNSET)

        session_url = d.pop("session_url", UNSET)

        _session_created_at = d.pop("session_created_at", UNSET)
        session_created_at: datetime.datetime | Unset
        if isinstance(_session_created_at, Unset):
            session_created_at = UNSET
        else:
            session_created_at = isoparse(_session_created_at)

        _org_context = d.pop("org_context", UNSET)
        org_context: SessionOrg | Unset
        if isinstance(_org_context, Unset):
            org_context = UNSET
        else:
            org_context = SessionOrg.from_dict(_org_context)

        _user_context = d.pop("user_context", UNSET)
        user_context: SessionUser | Unset
        if isinstance(_user_context, Unset):
            user_context = UNSET
        else:
            user_context = SessionUser.from_dict(_user_context)

        _location_context = d.pop("location_context", UNSET)
        location_context: SessionLocation | Unset
        if isinstance(_location_context, Unset):
            location_context = UNSET
        else:
            location_context = SessionLocation.from_dict(_location_context)

        _device_context = d.pop("device_context", UNSET)
        device_context: SessionDevice | Unset
        if isinstance(_device_context, Unset):
            device_context = UNSET
        else:
            device_context = SessionDevice.from_dict(_device_context)

        session_surroundings = cls(
            session_id=session_id,
            session_url=session_url,
            session_created_at=session_created_at,
            org_context=org_context,
            user_context=user_context,
            location_context=location_context,
            device_context=device_context,
        )

        session_surroundings.additional_properties = d
        return session_surroundings

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
