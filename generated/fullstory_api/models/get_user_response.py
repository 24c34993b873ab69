from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.properties import Properties
    from ..models.schema import Schema
    from ..models.type_conflicts import TypeConflicts


T = TypeVar("T", bound="GetUserResponse")


@_attrs_define
class GetUserResponse:
    id: str
    is_being_deleted: bool
    """ True between a delete request and the moment the user is gone. """
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
    """ Only filled when `include_schema` was asked for. """
    type_conflicts: None | TypeConflicts | Unset = UNSET
    """ Only filled when `include_schema` was asked for. """
    app_url: str | Unset = UNSET
    """ Link to this user in the FullStory app. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.schema import Schema
        from ..models.type_conflicts import TypeConflicts

        id = self.id

        is_being_deleted = self.is_being_deleted

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

        type_conflicts: dict[str, Any] | None | Unset
        if isinstance(self.type_conflicts, Unset):
            type_conflicts = UNSET
        elif isinstance(self.type_conflicts, TypeConflicts):
            type_conflicts = self.type_conflicts.to_dict()
        else:
            type_conflicts = self.type_conflicts

        app_url = self.app_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "is_being_deleted": is_being_deleted,
            }
        )
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
        if type_conflicts is not UNSET:
            field_dict["type_conflicts"] = type_conflicts
        if app_url is not UNSET:
            field_dict["app_url"] = app_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.properties import Properties
        from ..models.schema import Schema
        from ..models.type_conflicts import TypeConflicts

        d = dict(src_dict)
        id = d.pop("id")

        is_being_deleted = d.pop("is_being_deleted")

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

        def _parse_type_conflicts(data: object) -> None | TypeConflicts | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                type_conflicts_type_0 = TypeConflicts.from_dict(data)

                return type_conflicts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TypeConflicts | Unset, data)

        type_conflicts = _parse_type_conflicts(d.pop("type_conflicts", UNSET))

        app_url = d.pop("app_url", UNSET)

        get_user_response = cls(
            id=id,
            is_being_deleted=is_being_deleted,
            uid=uid,
            display_name=display_name,
            email=email,
            properties=properties,
            schema=schema,
            type_conflicts=type_conflicts,
            app_url=app_url,
        )

        get_user_response.additional_properties = d
        return get_user_response

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
