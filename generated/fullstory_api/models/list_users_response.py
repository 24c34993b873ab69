from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.get_user_response import GetUserResponse


T = TypeVar("T", bound="ListUsersResponse")


@_attrs_define
class ListUsersResponse:
    results: list[GetUserResponse]
    total_records: str
    """ The number of matching users, as a decimal string. """
    next_page_token: str | Unset = UNSET
    """ Absent or empty on the last page. """
    app_url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)

        total_records = self.total_records

        next_page_token = self.next_page_token

        app_url = self.app_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "results": results,
                "total_records": total_records,
            }
        )
        if next_page_token is not UNSET:
            field_dict["next_page_token"] = next_page_token
        if app_url is not UNSET:
            field_dict["app_url"] = app_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.get_user_response import GetUserResponse

        d = dict(src_dict)
        results = []
        _results = d.pop("results")
        for results_item_data in _results:
            results_item = GetUserResponse.from_dict(results_item_data)

            results.append(results_item)

        total_records = d.pop("total_records")

        next_page_token = d.pop("next_page_token", UNSET)

        app_url = d.pop("app_url", UNSET)

        list_users_response = cls(
            results=results,
            total_records=total_records,
            next_page_token=next_page_token,
            app_url=app_url,
        )

        list_users_response.additional_properties = d
        return list_users_response

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
