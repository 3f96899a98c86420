"""The OpenAPI 3.1 document of /api/v1, generated from the installed Meta.

One set of paths per record type (``/<app>/<type>``, ``/<app>/<type>/{id}``,
``.../bulk``, ``.../{id}/history``) and its schemas from :mod:`~tessera.api.schemas`;
parameters, error responses and the error shape are shared components.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tessera.api import params
from tessera.api.errors import PREFIX
from tessera.api.schemas import create_schema, patch_schema, record_schema
from tessera.meta.model import App, RecordType, pick_label

Schema = dict[str, Any]
JSON = "application/json"


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: Schema) -> Schema:
    return {JSON: {"schema": schema}}


def _ok(description: str, schema: Schema | None = None) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = _json(schema)
    return out


def _errors(*statuses: int) -> dict[str, Schema]:
    return {str(s): _ref("responses", ERROR_RESPONSES[s][0]) for s in (*statuses, 401, 404)}


ERROR_RESPONSES = {
    400: ("BadRequest", "Bad request: malformed JSON, bad filter, sort, cursor or limit."),
    401: ("Unauthorized", "Missing, malformed or revoked API token."),
    404: ("NotFound", "No such app, record type or record."),
    409: ("Conflict", "Stale version (details say who changed it and when) or blocked delete."),
    413: ("TooLarge", "Request body over the configured size limit."),
    415: ("UnsupportedMediaType", "The body is not application/json."),
    422: ("ValidationFailed", "Field values broke their rules; fields maps field -> messages."),
}

ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "details": {"type": "object"},
                "rows": {"type": "object"},
            },
        }
    },
}

HISTORY_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "action": {"type": "string", "enum": ["create", "update", "delete"]},
        "at": {"type": "string", "format": "date-time"},
        "actor": {
            "type": "object",
            "properties": {
                "kind": {"type": "string"},
                "ref": {"type": ["string", "null"]},
                "user_id": {"type": ["integer", "null"]},
            },
        },
        "changes": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"old": {}, "new": {}},
            },
        },
    },
}

PARAMETERS: dict[str, Schema] = {
    "filter": {
        "name": "filter",
        "in": "query",
        "description": 'A condition as JSON: {"field": "tier", "op": "eq", "value": "high"}, '
        "or {all|any: [...]}, {not: ...}.",
        "content": _json({"type": "object"}),
    },
    "sort": {
        "name": "sort",
        "in": "query",
        "description": 'Comma list of fields, "-" for descending: "-amount,name".',
        "schema": {"type": "string"},
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT, "default": 50},
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "description": "next_cursor of the previous page.",
        "schema": {"type": "string"},
    },
    "offset": {
        "name": "offset",
        "in": "query",
        "description": "Rows to skip (not with cursor; cursors are faster on deep pages).",
        "schema": {"type": "integer", "minimum": 0, "maximum": params.MAX_OFFSET},
    },
    "q": {
        "name": "q",
        "in": "query",
        "description": "Search text over the text fields.",
        "schema": {"type": "string"},
    },
    "fields": {
        "name": "fields",
        "in": "query",
        "description": "Comma list of fields to return (id is always returned).",
        "schema": {"type": "string"},
    },
    "expand": {
        "name": "expand",
        "in": "query",
        "description": "Comma list of link fields to return as the linked record.",
        "schema": {"type": "string"},
    },
    "total": {
        "name": "total",
        "in": "query",
        "description": "Also return total (estimated on large lists).",
        "schema": {"type": "boolean", "default": False},
    },
    "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
    "If-Match": {
        "name": "If-Match",
        "in": "header",
        "description": "The record version (its ETag) you read; a stale one gets 409.",
        "schema": {"type": "string"},
    },
    "as_of": {
        "name": "as_of",
        "in": "query",
        "description": "Return the record's values at this moment (ISO 8601) instead.",
        "schema": {"type": "string", "format": "date-time"},
    },
}


def document(apps: Iterable[App]) -> Schema:
    """The whole OpenAPI document for these installed apps."""
    paths: dict[str, Schema] = {"/apps": _apps_path(), "/openapi.json": _self_path()}
    schemas: dict[str, Schema] = {"Error": ERROR_SCHEMA, "HistoryEntry": HISTORY_SCHEMA}
    for app in sorted(apps, key=lambda a: a.id):
        for rt in app.record_types:
            paths.update(record_type_paths(app, rt))
            name = f"{app.id}.{rt.key}"
            schemas[name] = record_schema(rt)
            schemas[f"{name}.create"] = create_schema(rt)
            schemas[f"{name}.patch"] = patch_schema(rt)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera API",
            "version": "1",
            "description": "Records of the installed apps. Every error is "
            '{"error": {"code", "message", "fields"}}.',
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerAuth": []}, {"session": []}],
        "paths": paths,
        "components": _components(schemas),
    }


def _components(schemas: dict[str, Schema]) -> Schema:
    responses = {
        name: {"description": text, "content": _json(_ref("schemas", "Error"))}
        for name, text in ERROR_RESPONSES.values()
    }
    return {
        "schemas": schemas,
        "parameters": PARAMETERS,
        "responses": responses,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "flask --app app token create USERNAME",
            },
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        },
    }


def _apps_path() -> Schema:
    return {
        "get": {
            "operationId": "apps.list",
            "summary": "Installed apps and their record types",
            "responses": {"200": _ok("The installed apps", {"type": "object"}), **_errors()},
        }
    }


def _self_path() -> Schema:
    return {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": _ok("OpenAPI 3.1 document", {"type": "object"}), **_errors()},
        }
    }


def record_type_paths(app: App, rt: RecordType) -> dict[str, Schema]:
    """The four paths of one record type."""
    base, name = f"/{app.id}/{rt.key}", f"{app.id}.{rt.key}"
    label = pick_label(rt.label, "en", rt.key)
    record = _ref("schemas", name)
    return {
        base: {"get": _list_op(name, label, record), "post": _create_op(name, label, record)},
        f"{base}/{{id}}": {
            "parameters": [_ref("parameters", "id")],
            "get": _get_op(name, label, record),
            "patch": _patch_op(name, label, record),
            "delete": _delete_op(name, label),
        },
        f"{base}/bulk": {"post": _bulk_op(name, label)},
        f"{base}/{{id}}/history": {
            "parameters": [_ref("parameters", "id")],
            "get": _history_op(name, label),
        },
    }


def _list_op(name: str, label: str, record: Schema) -> Schema:
    page = {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": record},
            "next_cursor": {"type": ["string", "null"]},
            "next": {"type": ["string", "null"]},
            "total": {"type": ["integer", "null"]},
            "total_is_estimate": {"type": "boolean"},
        },
    }
    names = ("filter", "sort", "limit", "cursor", "offset", "q", "fields", "expand", "total")
    return {
        "operationId": f"{name}.list",
        "summary": f"List {label} records",
        "parameters": [_ref("parameters", p) for p in names],
        "responses": {"200": _ok("A page of records", page), **_errors(400)},
    }


def _create_op(name: str, label: str, record: Schema) -> Schema:
    return {
        "operationId": f"{name}.create",
        "summary": f"Create a {label} record",
        "requestBody": {"required": True, "content": _json(_ref("schemas", f"{name}.create"))},
        "responses": {"201": _ok("Created", record), **_errors(400, 409, 413, 415, 422)},
    }


def _get_op(name: str, label: str, record: Schema) -> Schema:
    return {
        "operationId": f"{name}.get",
        "summary": f"Get a {label} record",
        "responses": {"200": _ok("The record (ETag: its version)", record), **_errors()},
    }


def _patch_op(name: str, label: str, record: Schema) -> Schema:
    return {
        "operationId": f"{name}.update",
        "summary": f"Change fields of a {label} record",
        "parameters": [_ref("parameters", "If-Match")],
        "requestBody": {"required": True, "content": _json(_ref("schemas", f"{name}.patch"))},
        "responses": {"200": _ok("The updated record", record), **_errors(400, 409, 413, 415, 422)},
    }


def _delete_op(name: str, label: str) -> Schema:
    return {
        "operationId": f"{name}.delete",
        "summary": f"Delete a {label} record",
        "parameters": [_ref("parameters", "If-Match")],
        "responses": {"204": _ok("Deleted"), **_errors(400, 409)},
    }


def _bulk_op(name: str, label: str) -> Schema:
    body = {
        "type": "array",
        "items": _ref("schemas", f"{name}.create"),
        "minItems": 1,
        "maxItems": params.MAX_BULK,
    }
    created = {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    return {
        "operationId": f"{name}.bulk_create",
        "summary": f"Create up to {params.MAX_BULK} {label} records, all or nothing",
        "requestBody": {"required": True, "content": _json(body)},
        "responses": {"201": _ok("All created", created), **_errors(400, 409, 413, 415, 422)},
    }


def _history_op(name: str, label: str) -> Schema:
    entries = {
        "type": "object",
        "properties": {"data": {"type": "array", "items": _ref("schemas", "HistoryEntry")}},
    }
    as_of = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "as_of": {"type": "string", "format": "date-time"},
            "exists": {"type": "boolean"},
            "values": {"type": ["object", "null"]},
        },
    }
    return {
        "operationId": f"{name}.history",
        "summary": f"Change history of a {label} record",
        "parameters": [_ref("parameters", "as_of")],
        "responses": {
            "200": _ok("Audit entries, or the values as_of a moment", {"anyOf": [entries, as_of]}),
            **_errors(400),
        },
    }
