from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.llm_settings import LlmSettings
    from ..models.profile_configuration import ProfileConfiguration


T = TypeVar("T", bound="SummaryProfile")


@_attrs_define
class SummaryProfile:
    """A stored profile. When it is read back, the session-context settings are grouped under
    `configuration` while `llm` stays at the top. The vendor's example leaves out even `id`
    and `name`, so no field is required here.

    """

    id: str | Unset = UNSET
    name: str | Unset = UNSET
    configuration: ProfileConfiguration | Unset = UNSET
    """ The session-context part of a stored profile. """
    llm: LlmSettings | Unset = UNSET
    """ The prompts around the session's context, the sampling temperature, the answer's shape. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        configuration: dict[str, Any] | Unset = UNSET
        if not isinstance(self.configuration, Unset):
            configuration = self.configuration.to_dict()

        llm: dict[str, Any] | Unset = UNSET
        if not isinstance(self.llm, Unset):
            llm = self.llm.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if name is not UNSET:
            field_dict["name"] = name
        if configuration is not UNSET:
            field_dict["configuration"] = configuration
        if llm is not UNSET:
            field_dict["llm"] = llm

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.llm_settings import LlmSettings
        from ..models.profile_configuration import ProfileConfiguration

        d = dict(src_dict)
        id = d.pop("id", UNSET)

        name = d.pop("name", UNSET)

        _configuration = d.pop("configuration", UNSET)
        configuration: ProfileConfiguration | Unset
        if isinstance(_configuration, Unset):
            configuration = UNSET
        else:
            configuration = ProfileConfiguration.from_dict(_configuration)

        _llm = d.pop("llm", UNSET)
        llm: LlmSettings | Unset
        if isinstance(_llm, Unset):
            llm = UNSET
        else:
            llm = LlmSettings.from_dict(_llm)

        summary_profile = cls(
            id=id,
            name=name,
            configuration=configuration,
            llm=llm,
        )

        summary_profile.additional_properties = d
        return summary_profile

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
