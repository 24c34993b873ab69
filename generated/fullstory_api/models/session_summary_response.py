from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.response_schema import ResponseSchema
    from ..models.structured_answer import StructuredAnswer


T = TypeVar("T", bound="SessionSummaryResponse")


@_attrs_define
class SessionSummaryResponse:
    summary: str | Unset = UNSET
    """ The summary as text. """
    response: StructuredAnswer | Unset = UNSET
    """ The structured answer, when the profile gives a `response_schema`: one entry per
    property of that schema.
     """
    response_schema: ResponseSchema | Unset = UNSET
    """ The shape the model's structured answer must take: JSON Schema with the type names in
    capitals (`OBJECT`, `STRING`, ...) and without `$schema` or `$id`. It nests: `items` and
    each of `properties` are schemas of the same kind.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        summary = self.summary

        response: dict[str, Any] | Unset = UNSET
        if not isinstance(self.response, Unset):
            response = self.response.to_dict()

        response_schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.response_schema, Unset):
            response_schema = self.response_schema.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if summary is not UNSET:
            field_dict["summary"] = summary
        if response is not UNSET:
            field_dict["response"] = response
        if response_schema is not UNSET:
            field_dict["response_schema"] = response_schema

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.response_schema import ResponseSchema
        from ..models.structured_answer import StructuredAnswer

        d = dict(src_dict)
        summary = d.pop("summary", UNSET)

        _response = d.pop("response", UNSET)
        response: StructuredAnswer | Unset
        if isinstance(_response, Unset):
            response = UNSET
        else:
            response = StructuredAnswer.from_dict(_response)

        _response_schema = d.pop("response_schema", UNSET)
        response_schema: ResponseSchema | Unset
        if isinstance(_response_schema, Unset):
            response_schema = UNSET
        else:
            response_schema = ResponseSchema.from_dict(_response_schema)

        session_summary_response = cls(
            summary=summary,
            response=response,
            response_schema=response_schema,
        )

        session_summary_response.additional_properties = d
        return session_summary_response

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
