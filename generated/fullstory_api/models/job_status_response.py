from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_metadata import JobMetadata


T = TypeVar("T", bound="JobStatusResponse")


@_attrs_define
class JobStatusResponse:
    job: JobMetadata
    imports: int | Unset = UNSET
    """ Items imported so far; read a missing count as 0. """
    errors: int | Unset = UNSET
    """ Items that failed so far; may be left out when there are none (read it as 0). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        job = self.job.to_dict()

        imports = self.imports

        errors = self.errors

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "job": job,
            }
        )
        if imports is not UNSET:
            field_dict["imports"] = imports
        if errors is not UNSET:
            field_dict["errors"] = errors

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job_metadata import JobMetadata

        d = dict(src_dict)
        job = JobMetadata.from_dict(d.pop("job"))

        imports = d.pop("imports", UNSET)

        errors = d.pop("errors", UNSET)

        job_status_response = cls(
            job=job,
            imports=imports,
            errors=errors,
        )

        job_status_response.additional_properties = d
        return job_status_response

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
