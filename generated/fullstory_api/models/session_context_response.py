from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.session_context_data import SessionContextData


T = TypeVar("T", bound="SessionContextResponse")


@_attrs_define
class SessionContextResponse:
    context_data: SessionContextData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        context_data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context_data, Unset):
            context_data = self.context_data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if context_data is not UNSET:
            field_dict["context_data"] = context_data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.session_context_data import SessionContextData

        d = dict(src_dict)
        _context_data = d.pop("context_data", UNSET)
        context_data: SessionContextData | Unset
        if isinstance(_context_data, Unset):
            context_data = UNSET
        else:
            context_data = SessionContextData.from_dict(_context_data)

        session_context_response = cls(
            context_data=context_data,
        )

        session_context_response.additional_properties = d
        return session_context_response

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
