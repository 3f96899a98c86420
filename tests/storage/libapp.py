"""The small library app the storage tests install, upgrade and export (knows no CRM)."""

from __future__ import annotations

import copy
from typing import Any

from tessera.meta import app_from_data
from tessera.meta.model import App

LIBRARY: dict[str, Any] = {
    "id": "lib",
    "version": "1.0.0",
    "label": {"en": "Library", "zh-CN": "图书馆"},
    "record_types": [
        {
            "key": "author",
            "label": "Author",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True, "max_length": 100},
                {"key": "email", "type": "email", "unique": True},
                {"key": "born", "type": "text"},
                {"key": "notes", "type": "long_text"},
            ],
        },
        {
            "key": "book",
            "label": "Book",
            "title": "title",
            "fields": [
                {"key": "title", "type": "text", "required": True},
                {"key": "author", "type": "link", "to": "author", "on_delete": "cascade"},
                {"key": "editor", "type": "link", "to": "author", "on_delete": "set_null"},
                {"key": "agent", "type": "link", "to": "author"},
                {"key": "owner", "type": "user"},
                {"key": "fans", "type": "link_many", "to": "author"},
                {"key": "pages", "type": "number"},
            ],
            "indexes": [["title", "pages"]],
        },
    ],
}


def library(version: str = "1.0.0", edit=None) -> tuple[App, dict[str, Any]]:
    """The library app at ``version``; ``edit(data)`` changes the template data first."""
    data = copy.deepcopy(LIBRARY)
    data["version"] = version
    if edit:
        edit(data)
    return app_from_data(data), data


def rt_data(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The record type ``key`` in template data."""
    return next(rt for rt in data["record_types"] if rt["key"] == key)


def field_data(data: dict[str, Any], rt: str, key: str) -> dict[str, Any]:
    """The field ``key`` of record type ``rt`` in template data."""
    return next(f for f in rt_data(data, rt)["fields"] if f["key"] == key)
