"""Rewrite the record type and field names that views, forms, workflows and roles use.

Before the keyed items (matched by key, not id) of a three-way merge are merged, each
version's items are renamed into the merged names, so a view the author changed still
points at a field the admin renamed (and the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Names = tuple[dict[str, str], dict[tuple[str, str], str]]  # rt map, (rt, field) map
VIEW_FIELDS = ("group_by", "date_field", "end_field", "x", "value")


def condition(cond: Any, fields: Mapping[str, str]) -> Any:
    """A condition with each leaf's ``field`` (first path segment) renamed."""
    if isinstance(cond, list):
        return [condition(c, fields) for c in cond]
    if not isinstance(cond, dict):
        return cond
    out = {k: condition(v, fields) for k, v in cond.items()}
    if isinstance(cond.get("field"), str):
        head, dot, rest = cond["field"].partition(".")
        out["field"] = fields.get(head, head) + dot + rest
    return out


def _names(fields: Mapping[str, str], values: Any) -> Any:
    if isinstance(values, list):
        return [fields.get(v, v) if isinstance(v, str) else v for v in values]
    return fields.get(values, values) if isinstance(values, str) else values


def _fields_of(names: Names, rt: Any) -> dict[str, str]:
    return {f: new for (r, f), new in names[1].items() if r == rt}


def item(group: str, props: dict[str, Any], names: Names) -> dict[str, Any]:
    """One view/form/workflow/role (template data) in the merged names."""
    if group == "roles":
        return _role(props, names)
    rt = props.get("record_type")
    fields = _fields_of(names, rt)
    out = dict(props)
    if isinstance(rt, str):
        out["record_type"] = names[0].get(rt, rt)
    if group == "views":
        _view(out, fields)
    elif group == "forms":
        _form(out, fields)
    elif group == "workflows":
        _workflow(out, fields)
    return out


def _view(out: dict[str, Any], fields: Mapping[str, str]) -> None:
    out.update({k: _names(fields, out[k]) for k in ("columns", *VIEW_FIELDS) if k in out})
    if isinstance(out.get("sort"), list):
        out["sort"] = condition(out["sort"], fields)
    if "filter" in out:
        out["filter"] = condition(out["filter"], fields)


def _form(out: dict[str, Any], fields: Mapping[str, str]) -> None:
    if isinstance(out.get("sections"), list):
        out["sections"] = [
            {**s, "fields": _names(fields, s.get("fields"))} if isinstance(s, dict) else s
            for s in out["sections"]
        ]
    if isinstance(out.get("visible_when"), dict):
        out["visible_when"] = {
            fields.get(k, k): condition(c, fields) for k, c in out["visible_when"].items()
        }


def _workflow(out: dict[str, Any], fields: Mapping[str, str]) -> None:
    trigger = out.get("trigger")
    if isinstance(trigger, dict):
        out["trigger"] = {
            **trigger,
            **{k: _names(fields, trigger[k]) for k in ("fields", "field") if k in trigger},
        }
    if "when" in out:
        out["when"] = condition(out["when"], fields)


def _role(props: dict[str, Any], names: Names) -> dict[str, Any]:
    perms = props.get("permissions")
    if not isinstance(perms, dict):
        return props
    out = {}
    for rt, perm in perms.items():
        fields = _fields_of(names, rt)
        if isinstance(perm, dict):
            perm = condition(perm, fields)
            if isinstance(perm.get("fields"), dict):
                perm["fields"] = {fields.get(k, k): v for k, v in perm["fields"].items()}
        out[names[0].get(rt, rt)] = perm
    return {**props, "permissions": out}


def record_type(props: dict[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """A record type's own settings (title, indexes, search, validations) renamed."""
    out = dict(props)
    if isinstance(out.get("title"), str):
        out["title"] = fields.get(out["title"], out["title"])
    if isinstance(out.get("indexes"), list):
        out["indexes"] = [_names(fields, ix) for ix in out["indexes"]]
    if "search" in out:
        out["search"] = _names(fields, out["search"])
    if isinstance(out.get("validations"), list):
        out["validations"] = [
            {**condition(v, fields), "fields": _names(fields, v.get("fields"))}
            if isinstance(v, dict) and "fields" in v
            else condition(v, fields)
            for v in out["validations"]
        ]
    return out
