from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.failed_user_import import FailedUserImport


T = TypeVar("T", bound="GetBatchUserImportErrorsResponse")


@_attrs_define
class GetBatchUserImportErrorsResponse:
    total_records: str
    """ The number of failed items, as a decimal string. """
    results: list[FailedUserImport] | Unset = UNSET
    next_page_token: str | Unset = UNSET
    """ Absent or empty on the last page. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        total_records = self.total_records

        results: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.results, Unset):
            results = []
            for results_item_data in self.results:
                results_item = results_item_data.to_dict()
                results.append(results_item)

        next_page_token = self.next_page_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "total_records": total_records,
            }
        )
        if results is not UNSET:
            field_dict["results"] = results
        if next_page_token is not UNSET:
            field_dict["next_page_token"] = next_page_token

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.failed_user_import import FailedUserImport

        d = dict(src_dict)
        total_records = d.pop("total_records")

        _results = d.pop("results", UNSET)
        results: list[FailedUserImport] | Unset = UNSET
        if _results is not UNSET:
            results = []
            for results_item_data in _results:
                results_item = FailedUserImport.from_dict(results_item_data)

                results.append(results_item)

        next_page_token = d.pop("next_page_token", UNSET)

        get_batch_user_import_errors_response = cls(
            total_records=total_records,
            results=results,
            next_page_token=next_page_token,
        )

        get_batch_user_import_errors_response.additional_properties = d
        return get_batch_user_import_errors_response

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
