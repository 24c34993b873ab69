from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.type_conflicts_properties import TypeConflictsProperties


T = TypeVar("T", bound="TypeConflicts")


@_attrs_define
class TypeConflicts:
    """Properties that were seen with more than one type."""

    properties: TypeConflictsProperties | Unset = UNSET
    """ For each conflicting property name, what is known about the conflict. """
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
        from ..models.type_conflicts_properties import TypeConflictsProperties

        d = dict(src_dict)
        _properties = d.pop("properties", UNSET)
        properties: TypeConflictsProperties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = TypeConflictsProperties.from_dict(_properties)

        type_conflicts = cls(
            properties=properties,
        )

        type_conflicts.additional_properties = d
        return type_conflicts

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
