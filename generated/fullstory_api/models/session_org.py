from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SessionOrg")


@_attrs_define
class SessionOrg:
    org_id: str | Unset = UNSET
    name: str | Unset = UNSET
    industry: str | Unset = UNSET
    domain: str | Unset = UNSET
    country: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        org_id = self.org_id

        name = self.name

        industry = self.industry

        domain = self.domain

        country = self.country

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if org_id is not UNSET:
            field_dict["org_id"] = org_id
        if name is not UNSET:
            field_dict["name"] = name
        if industry is not UNSET:
            field_dict["industry"] = industry
        if domain is not UNSET:
            field_dict["domain"] = domain
        if country is not UNSET:
            field_dict["country"] = country

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        org_id = d.pop("org_id", UNSET)

        name = d.pop("name", UNSET)

        industry = d.pop("industry", UNSET)

        domain = d.pop("domain", UNSET)

        country = d.pop("country", UNSET)

        session_org = cls(
            org_id=org_id,
            name=name,
            industry=industry,
            domain=domain,
            country=country,
        )

        session_org.additional_properties = d
        return session_org

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
