"""Turn an App back into plain template data (dicts, lists, strings, numbers).

The output is a complete, normalised template: ``app_from_data(dump_app(app)) == app``.
Settings equal to their "absent" value (required false, no filter...) are left out so
the dump reads like a hand-written template.
"""

from __future__ import annotations

from typing import Any

from tessera.meta.model import (
    OPERATIONS,
    App,
    Field,
    Form,
    RecordType,
    Role,
    View,
    Workflow,
    thaw,
)


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``out[key]`` to the thawed value unless it is None, empty or False."""
    if value is None or value is False or value == () or value == {}:
        return
    out[key] = thaw(value)


def dump_field(f: Field) -> dict[str, Any]:
    """A field as template data."""
    written = "link" if f.type == "poly_link" else f.type  # see compile_field
    out: dict[str, Any] = {"key": f.key, "type": written, "label": thaw(f.label)}
    _put(out, "help", f.help)
    _put(out, "required", f.required)
    _put(out, "unique", f.unique)
    if f.default is not None:
        out["default"] = thaw(f.default)
    _put(out, "renamed_from", f.renamed_from)
    out.update(thaw(f.options))
    return out


def dump_record_type(rt: RecordType) -> dict[str, Any]:
    """A record type as template data."""
    out: dict[str, Any] = {"key": rt.key, "label": thaw(rt.label)}
    _put(out, "title", rt.title)
    out["fields"] = [dump_field(f) for f in rt.fields]
    _put(out, "search", rt.search)
    _put(out, "summary", rt.summary)
    _put(out, "indexes", rt.indexes)
    validations = []
    for v in rt.validations:
        rule = {"when": thaw(v.condition), "message": thaw(v.message)}
        _put(rule, "fields", v.fields)
        validations.append(rule)
    _put(out, "validations", tuple(validations))
    _put(out, "renamed_from", rt.renamed_from)
    return out


def dump_view(v: View) -> dict[str, Any]:
    """A view as template data."""
    out: dict[str, Any] = {"key": v.key, "type": v.type}
    _put(out, "record_type", v.record_type)
    out["label"] = thaw(v.label)
    for name in ("columns", "filter", "sort", "group_by", "date_field"):
        _put(out, name, getattr(v, name))
    out.update(thaw(v.options))
    return out


def dump_form(f: Form) -> dict[str, Any]:
    """A form as template data."""
    out: dict[str, Any] = {"key": f.key, "record_type": f.record_type, "label": thaw(f.label)}
    sections = []
    for s in f.sections:
        section: dict[str, Any] = {}
        _put(section, "title", s.title)
        _put(section, "tab", s.tab)
        if s.columns != 1:
            section["columns"] = s.columns
        section["fields"] = list(s.fields)
        sections.append(section)
    out["sections"] = sections
    _put(out, "public", f.public)
    _put(out, "visible_when", f.visible_when)
    out.update(thaw(f.options))
    return out


def dump_workflow(w: Workflow) -> dict[str, Any]:
    """A workflow as template data."""
    out: dict[str, Any] = {"key": w.key, "label": thaw(w.label)}
    _put(out, "record_type", w.record_type)
    out["trigger"] = thaw(w.trigger)
    _put(out, "when", w.when)
    out["actions"] = thaw(w.actions)
    if not w.enabled:
        out["enabled"] = False
    if w.run_as != "system":
        out["run_as"] = w.run_as
    return out


def dump_role(role: Role) -> dict[str, Any]:
    """A role as template data (operations that are none left out)."""
    out: dict[str, Any] = {"key": role.key, "label": thaw(role.label)}
    _put(out, "description", role.description)
    perms = {}
    for p in role.permissions:
        perm = {op: thaw(p.scope(op)) for op in OPERATIONS if p.scope(op) != "none"}
        _put(perm, "owner", p.owner)
        _put(perm, "fields", p.fields)
        if p.pool is not None:
            perm["pool"] = thaw(p.pool)
        perms[p.record_type] = perm
    _put(out, "permissions", perms)
    return out


def dump_app(app: App) -> dict[str, Any]:
    """An App as plain template data that compiles back into an equal App."""
    out: dict[str, Any] = {"id": app.id, "version": app.version, "label": thaw(app.label)}
    _put(out, "description", app.description)
    out["record_types"] = [dump_record_type(rt) for rt in app.record_types]
    for name, items, fn in (
        ("views", app.views, dump_view),
        ("forms", app.forms, dump_form),
        ("workflows", app.workflows, dump_workflow),
        ("roles", app.roles, dump_role),
    ):
        if items:
            out[name] = [fn(x) for x in items]
    _put(out, "home", app.home)
    return out
