from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.analytics_status import AnalyticsStatus
    from ..models.project_options import ProjectOptions


T = TypeVar("T", bound="CheckResponse")


@_attrs_define
class CheckResponse:
    pid: str
    """ The project id to pass as `pid` when sending events. """
    analytics: AnalyticsStatus
    options: ProjectOptions
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pid = self.pid

        analytics = self.analytics.to_dict()

        options = self.options.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pid": pid,
                "analytics": analytics,
                "options": options,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.analytics_status import AnalyticsStatus
        from ..models.project_options import ProjectOptions

        d = dict(src_dict)
        pid = d.pop("pid")

        analytics = AnalyticsStatus.from_dict(d.pop("analytics"))

        options = ProjectOptions.from_dict(d.pop("options"))

        check_response = cls(
            pid=pid,
            analytics=analytics,
            options=options,
        )

        check_response.additional_properties = d
        return check_response

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
