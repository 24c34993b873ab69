from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.create_event_request import CreateEventRequest
    from ..models.shared_data import SharedData


T = TypeVar("T", bound="CreateBatchEventsImportJobRequest")


@_attrs_define
class CreateBatchEventsImportJobRequest:
    requests: list[CreateEventRequest]
    shared: SharedData | Unset = UNSET
    """ Fields that apply to every item of an events import job. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        requests = []
        for requests_item_data in self.requests:
            requests_item = requests_item_data.to_dict()
            requests.append(requests_item)

        shared: dict[str, Any] | Unset = UNSET
        if not isinstance(self.shared, Unset):
            shared = self.shared.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "requests": requests,
            }
        )
        if shared is not UNSET:
            field_dict["shared"] = shared

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_event_request import CreateEventRequest
        from ..models.shared_data import SharedData

        d = dict(src_dict)
        requests = []
        _requests = d.pop("requests")
        for requests_item_data in _requests:
            requests_item = CreateEventRequest.from_dict(requests_item_data)

            requests.append(requests_item)

        _shared = d.pop("shared", UNSET)
        shared: SharedData | Unset
        if isinstance(_shared, Unset):
            shared = UNSET
        else:
            shared = SharedData.from_dict(_shared)

        create_batch_events_import_job_request = cls(
            requests=requests,
            shared=shared,
        )

        create_batch_events_import_job_request.additional_properties = d
        return create_batch_events_import_job_request

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
