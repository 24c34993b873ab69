from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.response_schema import ResponseSchema


T = TypeVar("T", bound="LlmSettings")


@_attrs_define
class LlmSettings:
    """The prompts around the session's context, the sampling temperature, the answer's shape."""

    pre_prompt: str | Unset = UNSET
    """ Comes before the session's context in the prompt. """
    post_prompt: str | Unset = UNSET
    """ Comes after the session's context in the prompt. """
    temperature: float | Unset = UNSET
    """ Higher is more varied, lower more predictable. """
    response_schema: ResponseSchema | Unset = UNSET
    """ The shape the model's structured answer must take: JSON Schema with the type names in
    capitals (`OBJECT`, `STRING`, ...) and without `$schema` or `$id`. It nests: `items` and
    each of `properties` are schemas of the same kind.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pre_prompt = self.pre_prompt

        post_prompt = self.post_prompt

        temperature = self.temperature

        response_schema: dict[str, Any] | Unset = UNSET
        if not isinstance(self.response_schema, Unset):
            response_schema = self.response_schema.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if pre_prompt is not UNSET:
            field_dict["pre_prompt"] = pre_prompt
        if post_prompt is not UNSET:
            field_dict["post_prompt"] = post_prompt
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if response_schema is not UNSET:
            field_dict["response_schema"] = response_schema

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.response_schema import ResponseSchema

        d = dict(src_dict)
        pre_prompt = d.pop("pre_prompt", UNSET)

        post_prompt = d.pop("post_prompt", UNSET)

        temperature = d.pop("temperature", UNSET)

        _response_schema = d.pop("response_schema", UNSET)
        response_schema: ResponseSchema | Unset
        if isinstance(_response_schema, Unset):
            response_schema = UNSET
        else:
            response_schema = ResponseSchema.from_dict(_response_schema)

        llm_settings = cls(
            pre_prompt=pre_prompt,
            post_prompt=post_prompt,
            temperature=temperature,
            response_schema=response_schema,
        )

        llm_settings.additional_properties = d
        return llm_settings

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
