"""What is installed: the apps listing and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for

from tessera.api.errors import json_response
from tessera.api.openapi import document
from tessera.api.serialize import label
from tessera.fields import for_field
from tessera.meta.model import App, RecordType


def _apps() -> list[App]:
    apps = current_app.extensions["tessera"].registry.apps
    return [apps[key] for key in sorted(apps)]


def apps() -> Response:
    """GET /apps: installed apps, their record types and fields."""
    return json_response({"data": [_app_json(app) for app in _apps()]})


def _app_json(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "version": app.version,
        "label": label(app.label),
        "record_types": [_rt_json(app, rt) for rt in app.record_types],
    }


def _rt_json(app: App, rt: RecordType) -> dict[str, Any]:
    return {
        "key": rt.key,
        "label": label(rt.label),
        "title": rt.title,
        "url": url_for("api.list_records", app_id=app.id, rt_key=rt.key),
        "fields": [
            {
                "key": f.key,
                "type": f.type,
                "label": label(f.label),
                "required": f.required,
                "unique": f.unique,
                "read_only": for_field(f).computed,
            }
            for f in rt.fields
        ],
    }


def openapi_json() -> Response:
    """GET /openapi.json: the OpenAPI 3.1 document of the installed apps."""
    return json_response(document(_apps()))
