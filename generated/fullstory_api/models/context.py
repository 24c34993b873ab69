from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.browser_context import BrowserContext
    from ..models.device_context import DeviceContext
    from ..models.location_context import LocationContext
    from ..models.mobile_context import MobileContext


T = TypeVar("T", bound="Context")


@_attrs_define
class Context:
    """Where the event happened."""

    browser: BrowserContext | Unset = UNSET
    mobile: MobileContext | Unset = UNSET
    device: DeviceContext | Unset = UNSET
    location: LocationContext | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        browser: dict[str, Any] | Unset = UNSET
        if not isinstance(self.browser, Unset):
            browser = self.browser.to_dict()

        mobile: dict[str, Any] | Unset = UNSET
        if not isinstance(self.mobile, Unset):
            mobile = self.mobile.to_dict()

        device: dict[str, Any] | Unset = UNSET
        if not isinstance(self.device, Unset):
            device = self.device.to_dict()

        location: dict[str, Any] | Unset = UNSET
        if not isinstance(self.location, Unset):
            location = self.location.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if browser is not UNSET:
            field_dict["browser"] = browser
        if mobile is not UNSET:
            field_dict["mobile"] = mobile
        if device is not UNSET:
            field_dict["device"] = device
        if location is not UNSET:
            field_dict["location"] = location

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.browser_context import BrowserContext
        from ..models.device_context import DeviceContext
        from ..models.location_context import LocationContext
        from ..models.mobile_context import MobileContext

        d = dict(src_dict)
        _browser = d.pop("browser", UNSET)
        browser: BrowserContext | Unset
        if isinstance(_browser, Unset):
            browser = UNSET
        else:
            browser = BrowserContext.from_dict(_browser)

        _mobile = d.pop("mobile", UNSET)
        mobile: MobileContext | Unset
        if isinstance(_mobile, Unset):
            mobile = UNSET
        else:
            mobile = MobileContext.from_dict(_mobile)

        _device = d.pop("device", UNSET)
        device: DeviceContext | Unset
        if isinstance(_device, Unset):
            device = UNSET
        else:
            device = DeviceContext.from_dict(_device)

        _location = d.pop("location", UNSET)
        location: LocationContext | Unset
        if isinstance(_location, Unset):
            location = UNSET
        else:
            location = LocationContext.from_dict(_location)

        context = cls(
            browser=browser,
            mobile=mobile,
            device=device,
            location=location,
        )

        context.additional_properties = d
        return context

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
