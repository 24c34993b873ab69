from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.batch_user_import_request import BatchUserImportRequest


T = TypeVar("T", bound="FailedUserImport")


@_attrs_define
class FailedUserImport:
    """An item of a users job that could not be imported, with the reason."""

    message: str
    code: str
    user: BatchUserImportRequest
    """ One user to upsert in an import job. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        code = self.code

        user = self.user.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
                "code": code,
                "user": user,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_user_import_request import BatchUserImportRequest

        d = dict(src_dict)
        message = d.pop("message")

        code = d.pop("code")

        user = BatchUserImportRequest.from_dict(d.pop("user"))

        failed_user_import = cls(
            message=message,
            code=code,
            user=user,
        )

        failed_user_import.additional_properties = d
        return failed_user_import

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
