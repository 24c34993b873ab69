from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.property_types import PropertyTypes


T = TypeVar("T", bound="Schema")


@_attrs_define
class Schema:
    """Declared (in requests) or stored (in answers) types of custom properties."""

    properties: PropertyTypes | Unset = UNSET
    """ Maps a property name (dotted for nested ones, such as `location.code`) to a type name:
    str, int, real, bool, date, or a list form strs, ints, reals, bools, dates.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if properties is not UNSET:
            field_dict["properties"] = properties

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.property_types import PropertyTypes

        d = dict(src_dict)
        _properties = d.pop("properties", UNSET)
        properties: PropertyTypes | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = PropertyTypes.from_dict(_properties)

        schema = cls(
            properties=properties,
        )

        schema.additional_properties = d
        return schema

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
