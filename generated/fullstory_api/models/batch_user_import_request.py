from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.properties import Properties
    from ..models.schema import Schema


T = TypeVar("T", bound="BatchUserImportRequest")


@_attrs_define
class BatchUserImportRequest:
    """One user to upsert in an import job."""

    id: str | Unset = UNSET
    """ The FullStory id of an existing user to update. """
    uid: str | Unset = UNSET
    display_name: str | Unset = UNSET
    email: str | Unset = UNSET
    properties: Properties | Unset = UNSET
    """ Custom properties. Names start with a letter and continue with letters, digits or `_`; the
    dotted path of a nested name stays within 512 characters; at most 500 properties per object;
    one value takes at most 8192 bytes. Values are strings, numbers, booleans, nested objects or
    arrays of those primitives (never arrays of objects). Every number is stored as `real`
    unless `schema` says otherwise.
     """
    schema: None | Schema | Unset = UNSET
    """ Declared property types; null (as the errors page echoes it) means none. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.schema import Schema

        id = self.id

        uid = self.uid

        display_name = self.display_name

        email = self.email

        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        schema: dict[str, Any] | None | Unset
        if isinstance(self.schema, Unset):
            schema = UNSET
        elif isinstance(self.schema, Schema):
            schema = self.schema.to_dict()
        else:
            schema = self.schema

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if uid is not UNSET:
            field_dict["uid"] = uid
        if display_name is not UNSET:
            field_dict["display_name"] = display_name
        if email is not UNSET:
            field_dict["email"] = email
        if properties is not UNSET:
            field_dict["properties"] = properties
        if schema is not UNSET:
            field_dict["schema"] = schema

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.properties import Properties
        from ..models.schema import Schema

        d = dict(src_dict)
        id = d.pop("id", UNSET)

        uid = d.pop("uid", UNSET)

        display_name = d.pop("display_name", UNSET)

        email = d.pop("email", UNSET)

        _properties = d.pop("properties", UNSET)
        properties: Properties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = Properties.from_dict(_properties)

        def _parse_schema(data: object) -> None | Schema | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                schema_type_0 = Schema.from_dict(data)

                return schema_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Schema | Unset, data)

        schema = _parse_schema(d.pop("schema", UNSET))

        batch_user_import_request = cls(
            id=id,
            uid=uid,
            display_name=display_name,
            email=email,
            properties=properties,
            schema=schema,
        )

        batch_user_import_request.additional_properties = d
        return batch_user_import_request

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
