from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.response_schema_type import ResponseSchemaType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.response_schema_properties import ResponseSchemaProperties


T = TypeVar("T", bound="ResponseSchema")


@_attrs_define
class ResponseSchema:
    """The shape the model's structured answer must take: JSON Schema with the type names in
    capitals (`OBJECT`, `STRING`, ...) and without `$schema` or `$id`. It nests: `items` and
    each of `properties` are schemas of the same kind.

    """

    type_: ResponseSchemaType | Unset = ResponseSchemaType.OPENAPI_TYPE_UNSPECIFIED
    title: str | Unset = UNSET
    description: str | Unset = UNSET
    items: ResponseSchema | Unset = UNSET
    """ The shape the model's structured answer must take: JSON Schema with the type names in
    capitals (`OBJECT`, `STRING`, ...) and without `$schema` or `$id`. It nests: `items` and
    each of `properties` are schemas of the same kind.
     """
    properties: ResponseSchemaProperties | Unset = UNSET
    required: list[str] | Unset = UNSET
    nullable: bool | Unset = UNSET
    enum: list[str] | Unset = UNSET
    format_: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_.value

        title = self.title

        description = self.description

        items: dict[str, Any] | Unset = UNSET
        if not isinstance(self.items, Unset):
            items = self.items.to_dict()

        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        required: list[str] | Unset = UNSET
        if not isinstance(self.required, Unset):
            required = self.required

        nullable = self.nullable

        enum: list[str] | Unset = UNSET
        if not isinstance(self.enum, Unset):
            enum = self.enum

        format_ = self.format_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if title is not UNSET:
            field_dict["title"] = title
        if description is not UNSET:
            field_dict["description"] = description
        if items is not UNSET:
            field_dict["items"] = items
        if properties is not UNSET:
            field_dict["properties"] = properties
        if required is not UNSET:
            field_dict["required"] = required
        if nullable is not UNSET:
            field_dict["nullable"] = nullable
        if enum is not UNSET:
            field_dict["enum"] = enum
        if format_ is not UNSET:
            field_dict["format"] = format_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.response_schema_properties import ResponseSchemaProperties

        d = dict(src_dict)
        _type_ = d.pop("type", UNSET)
        type_: ResponseSchemaType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = ResponseSchemaType(_type_)

        title = d.pop("title", UNSET)

        description = d.pop("description", UNSET)

        _items = d.pop("items", UNSET)
        items: ResponseSchema | Unset
        if isinstance(_items, Unset):
            items = UNSET
        else:
            items = ResponseSchema.from_dict(_items)

        _properties = d.pop("properties", UNSET)
        properties: ResponseSchemaProperties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = ResponseSchemaProperties.from_dict(_properties)

        required = cast(list[str], d.pop("required", UNSET))

        nullable = d.pop("nullable", UNSET)

        enum = cast(list[str], d.pop("enum", UNSET))

        format_ = d.pop("format", UNSET)

        response_schema = cls(
            type_=type_,
            title=title,
            description=description,
            items=items,
            properties=properties,
            required=required,
            nullable=nullable,
            enum=enum,
            format_=format_,
        )

        response_schema.additional_properties = d
        return response_schema

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
