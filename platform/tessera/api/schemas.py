"""JSON Schemas of fields and records, for the OpenAPI document.

Three schemas per record type: a record as returned, the create body (required
fields required) and the patch body (plus ``version``). A field's schema comes from
its type's ``json_schema(field)`` when the type defines one (the hook for plug-in
types), else from the built-in table :data:`BUILTIN`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tessera.fields import for_field
from tessera.meta.model import Field, RecordType, pick_label

Schema = dict[str, Any]

DECIMAL = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
DECIMAL_IN = {"type": ["string", "number"], "description": "a decimal, as a string or number"}
ID = {"type": "integer", "minimum": 1}
ATTACHMENT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "content_type": {"type": "string"},
        "path": {"type": "string"},
        "sha256": {"type": "string"},
    },
}


def _number(f: Field, writing: bool) -> Schema:
    scale = 2 if f.type == "currency" else int(f.opt("scale", 2 if f.type == "percent" else 0))
    if scale == 0 and not f.opt("precision"):
        return _bounded({"type": "integer"}, f)
    schema = dict(DECIMAL_IN if writing else DECIMAL)
    if f.type == "currency" and f.opt("currency"):
        schema["x-currency"] = f.opt("currency")
    if f.type == "currency" and f.opt("currency_field"):
        schema["x-currency-field"] = f.opt("currency_field")  # each record's own code
    return schema


def _bounded(schema: Schema, f: Field) -> Schema:
    for opt, key in (("min", "minimum"), ("max", "maximum")):
        if f.opt(opt) is not None:
            schema[key] = f.opt(opt)
    return schema


def _text(fmt: str | None = None) -> Callable[[Field, bool], Schema]:
    def schema(f: Field, writing: bool) -> Schema:
        out: Schema = {"type": "string"}
        if fmt:
            out["format"] = fmt
        if f.opt("max_length"):
            out["maxLength"] = f.opt("max_length")
        return out

    return schema


def _choices(f: Field) -> list[Any]:
    return [o["value"] for o in f.opt("options", ())]


def _computed_result(f: Field, writing: bool) -> Schema:
    result = f.opt("result", "number")
    if result in ("number", "currency"):
        return {"type": ["string", "integer"], "description": "a number (decimals as strings)"}
    return {"text": {"type": "string"}, "boolean": {"type": "boolean"}}.get(
        result, {"type": "string", "format": "date"}
    )


def _rollup(f: Field, writing: bool) -> Schema:
    return {"type": "integer"} if f.opt("aggregate", "count") == "count" else dict(DECIMAL)


#: a linked record named by value instead of id (records/refs.py), accepted on writes
REFERENCE: Schema = {
    "type": "object",
    "required": ["by", "value"],
    "properties": {
        "by": {"type": "string", "description": "title, or a field of the target (users: "
               "username or email)"},
        "value": {"description": "the value that field has on exactly one record"},
    },
    "additionalProperties": False,
}  # fmt: skip


def _ref(schema: Schema, writing: bool) -> Schema:
    """``schema``, or (when writing) it or a by-value reference."""
    return {"oneOf": [dict(schema), REFERENCE]} if writing else dict(schema)


def _poly(f: Field, writing: bool) -> Schema:
    """A polymorphic link: ``{type, id}`` (writing: or ``{type, by, value}``)."""
    kinds = {"type": "string", "enum": list(f.opt("to") or ())}
    read: Schema = {
        "type": "object",
        "required": ["type", "id"],
        "properties": {"type": kinds, "id": dict(ID)},
        "description": f"a {' / '.join(f.opt('to') or ())} record: its type and id",
    }
    if not writing:
        return read
    by_value = {
        **REFERENCE,
        "required": ["type", "by", "value"],
        "properties": {**REFERENCE["properties"], "type": kinds},
    }
    return {"oneOf": [read, by_value], "description": read["description"]}


BUILTIN: dict[str, Callable[[Field, bool], Schema]] = {
    "text": _text(),
    "long_text": _text(),
    "phone": _text(),
    "email": _text("email"),
    "url": _text("uri"),
    "number": _number,
    "currency": _number,
    "percent": _number,
    "rating": lambda f, w: {"type": "integer", "minimum": 1, "maximum": int(f.opt("max", 5))},
    "boolean": lambda f, w: {"type": "boolean"},
    "date": lambda f, w: {"type": "string", "format": "date"},
    "datetime": lambda f, w: {"type": "string", "format": "date-time"},
    "select": lambda f, w: {"type": "string", "enum": _choices(f)},
    "multi_select": lambda f, w: {
        "type": "array",
        "items": {"type": "string", "enum": _choices(f)},
        "uniqueItems": True,
    },
    "link": lambda f, w: {**_ref(ID, w), "description": f"id of a {f.opt('to')} record"},
    "poly_link": _poly,
    "user": lambda f, w: {**_ref(ID, w), "description": "id of a user"},
    "link_many": lambda f, w: {
        "type": "array",
        "items": _ref(ID, w),
        "description": f"ids of {f.opt('to')} records",
    },
    "attachment": lambda f, w: (
        {"type": "array", "items": ATTACHMENT} if f.opt("multiple") else dict(ATTACHMENT)
    ),
    "auto_number": lambda f, w: {"type": "string"},
    "formula": _computed_result,
    "rollup": _rollup,
    "lookup": lambda f, w: {"description": f"value of {f.opt('link')}.{f.opt('field')}"},
}


def field_schema(f: Field, *, writing: bool = False, nullable: bool = True) -> Schema:
    """The JSON Schema of one field's value (as read, or as accepted when ``writing``)."""
    ft = for_field(f)
    hook = getattr(ft, "json_schema", None)
    schema = dict(hook(f) if hook else BUILTIN.get(f.type, lambda f, w: {})(f, writing))
    schema["title"] = pick_label(f.label, "en", f.key)
    if f.help:
        schema["description"] = pick_label(f.help, "en", "")
    if ft.computed or f.opt("read_only"):  # read_only: only workflows and imports write it
        schema["readOnly"] = True
    return _nullable(schema) if nullable else schema


def _nullable(schema: Schema) -> Schema:
    if "oneOf" in schema:
        return {**schema, "oneOf": [*schema["oneOf"], {"type": "null"}]}
    kind = schema.get("type")
    if kind is None:
        return schema  # no type constraint: null already allowed
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None], "type": [kind, "null"]}
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]}


def _writable(rt: RecordType) -> Iterable[Field]:
    return (f for f in rt.fields if not for_field(f).computed)


def record_schema(rt: RecordType) -> Schema:
    """A record as the API returns it."""
    props: dict[str, Schema] = {"id": dict(ID)}
    props.update({f.key: field_schema(f) for f in rt.fields})
    props.update(
        created_at={"type": "string", "format": "date-time", "readOnly": True},
        updated_at={"type": "string", "format": "date-time", "readOnly": True},
        created_by={"type": ["integer", "null"], "readOnly": True},
        updated_by={"type": ["integer", "null"], "readOnly": True},
        version={"type": "integer", "minimum": 1, "readOnly": True},
    )
    return {
        "type": "object",
        "title": pick_label(rt.label, "en", rt.key),
        "properties": props,
        "required": ["id"],
    }


def create_schema(rt: RecordType) -> Schema:
    """The body of a create: writable fields, required ones without defaults required."""
    fields = list(_writable(rt))
    props = {f.key: field_schema(f, writing=True, nullable=not f.required) for f in fields}
    required = [f.key for f in fields if f.required and f.default is None]
    schema: Schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def patch_schema(rt: RecordType) -> Schema:
    """The body of a patch: any writable fields, plus the optional expected ``version``."""
    props = {f.key: field_schema(f, writing=True, nullable=not f.required) for f in _writable(rt)}
    props["version"] = {
        "type": "integer",
        "minimum": 1,
        "description": "the version you read; a stale one is refused with 409",
    }
    return {"type": "object", "properties": props, "additionalProperties": False}
