from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SessionIdRequest")


@_attrs_define
class SessionIdRequest:
    """Names the session an event belongs to."""

    id: str | Unset = UNSET
    """ `<device id>:<session id>` (two decimal integers) or `<uuid>:<uuid>`. Cannot be
    combined with `user`.
     """
    use_most_recent: bool | Unset = UNSET
    """ Put the event in the user's session of the last 30 minutes, if there is one; needs
    exactly one of `user.id` and `user.uid`.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        use_most_recent = self.use_most_recent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if use_most_recent is not UNSET:
            field_dict["use_most_recent"] = use_most_recent

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id", UNSET)

        use_most_recent = d.pop("use_most_recent", UNSET)

        session_id_request = cls(
            id=id,
            use_most_recent=use_most_recent,
        )

        session_id_request.additional_properties = d
        return session_id_request

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
