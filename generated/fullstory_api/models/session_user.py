from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.session_user_properties import SessionUserProperties


T = TypeVar("T", bound="SessionUser")


@_attrs_define
class SessionUser:
    user_uid: str | Unset = UNSET
    display_name: str | Unset = UNSET
    email: str | Unset = UNSET
    properties: SessionUserProperties | Unset = UNSET
    """ The user's properties, each written as a string. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user_uid = self.user_uid

        display_name = self.display_name

        email = self.email

        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if user_uid is not UNSET:
            field_dict["user_uid"] = user_uid
        if display_name is not UNSET:
            field_dict["display_name"] = display_name
        if email is not UNSET:
            field_dict["email"] = email
        if properties is not UNSET:
            field_dict["properties"] = properties

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.session_user_properties import SessionUserProperties

        d = dict(src_dict)
        user_uid = d.pop("user_uid", UNSET)

        display_name = d.pop("display_name", UNSET)

        email = d.pop("email", UNSET)

        _properties = d.pop("properties", UNSET)
        properties: SessionUserProperties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = SessionUserProperties.from_dict(_properties)

        session_user = cls(
            user_uid=user_uid,
            display_name=display_name,
            email=email,
            properties=properties,
        )

        session_user.additional_properties = d
        return session_user

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
