from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.context import Context
    from ..models.properties import Properties
    from ..models.schema import Schema
    from ..models.session_id_response import SessionIdResponse
    from ..models.user_id_response import UserIdResponse


T = TypeVar("T", bound="BatchCreateEventsResponse")


@_attrs_define
class BatchCreateEventsResponse:
    """One event as an import job recorded it."""

    name: str
    timestamp: datetime.datetime | Unset = UNSET
    user: UserIdResponse | Unset = UNSET
    session: SessionIdResponse | Unset = UNSET
    context: Context | Unset = UNSET
    """ Where the event happened. """
    properties: Properties | Unset = UNSET
    """ Custom properties. Names start with a letter and continue with letters, digits or `_`; the
    dotted path of a nested name stays within 512 characters; at most 500 properties per object;
    one value takes at most 8192 bytes. Values are strings, numbers, booleans, nested objects or
    arrays of those primitives (never arrays of objects). Every number is stored as `real`
    unless `schema` says otherwise.
     """
    schema: Schema | Unset = UNSET
    """ Declared (in requests) or stored (in answers) types of custom properties. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        timestamp: str | Unset = UNSET
        if not isinstance(self.timestamp, Unset):
            timestamp = self.timestamp.isoformat()

        user: dict[str, Any] | Unset = UNSET
        if not isinstance(self.user, Unset):
            user = self.user.to_dict()

        session: dict[str, Any] | Unset = UNSET
        if not isinstance(self.session, Unset):
            session = self.session.to_dict()

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        properties: dict[str, Any] | Unset = UNSET
        if not isinstance(self.properties, Unset):
            properties = self.properties.to_dict()

        schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.schema, Unset):
            schema = self.schema.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if user is not UNSET:
            field_dict["user"] = user
        if session is not UNSET:
            field_dict["session"] = session
        if context is not UNSET:
            field_dict["context"] = context
        if properties is not UNSET:
            field_dict["properties"] = properties
        if schema is not UNSET:
            field_dict["schema"] = schema

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.context import Context
        from ..models.properties import Properties
        from ..models.schema import Schema
        from ..models.session_id_response import SessionIdResponse
        from ..models.user_id_response import UserIdResponse

        d = dict(src_dict)
        name = d.pop("name")

        _timestamp = d.pop("timestamp", UNSET)
        timestamp: datetime.datetime | Unset
        if isinstance(_timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = isoparse(_timestamp)

        _user = d.pop("user", UNSET)
        user: UserIdResponse | Unset
        if isinstance(_user, Unset):
            user = UNSET
        else:
            user = UserIdResponse.from_dict(_user)

        _session = d.pop("session", UNSET)
        session: SessionIdResponse | Unset
        if isinstance(_session, Unset):
            session = UNSET
        else:
            session = SessionIdResponse.from_dict(_session)

        _context = d.pop("context", UNSET)
        context: Context | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = Context.from_dict(_context)

        _properties = d.pop("properties", UNSET)
        properties: Properties | Unset
        if isinstance(_properties, Unset):
            properties = UNSET
        else:
            properties = Properties.from_dict(_properties)

        _schema = d.pop("schema", UNSET)
        schema: Schema | Unset
        if isinstance(_schema, Unset):
            schema = UNSET
        else:
            schema = Schema.from_dict(_schema)

        batch_create_events_response = cls(
            name=name,
            timestamp=timestamp,
            user=user,
            session=session,
            context=context,
            properties=properties,
            schema=schema,
        )

        batch_create_events_response.additional_properties = d
        return batch_create_events_response

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
