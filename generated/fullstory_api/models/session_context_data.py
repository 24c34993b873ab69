from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.context_page import ContextPage
    from ..models.session_surroundings import SessionSurroundings


T = TypeVar("T", bound="SessionContextData")


@_attrs_define
class SessionContextData:
    context: SessionSurroundings | Unset = UNSET
    """ The session and who, where and on what it happened; the parts asked for only. """
    pages: list[ContextPage] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        pages: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.pages, Unset):
            pages = []
            for pages_item_data in self.pages:
                pages_item = pages_item_data.to_dict()
                pages.append(pages_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if context is not UNSET:
            field_dict["context"] = context
        if pages is not UNSET:
            field_dict["pages"] = pages

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.context_page import ContextPage
        from ..models.session_surroundings import SessionSurroundings

        d = dict(src_dict)
        _context = d.pop("context", UNSET)
        context: SessionSurroundings | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = SessionSurroundings.from_dict(_context)

        _pages = d.pop("pages", UNSET)
        pages: list[ContextPage] | Unset = UNSET
        if _pages is not UNSET:
            pages = []
            for pages_item_data in _pages:
                pages_item = ContextPage.from_dict(pages_item_data)

                pages.append(pages_item)

        session_context_data = cls(
            context=context,
            pages=pages,
        )

        session_context_data.additional_properties = d
        return session_context_data

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
