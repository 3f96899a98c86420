"""Compile validated template data into the immutable Meta objects of ``meta.model``.

Decisions made here (so every layer sees the same thing):

- labels become a mapping that always has ``"en"``; a missing English text is derived
  from the key (``follow_up`` -> ``Follow up``), a missing label likewise;
- a field's type-specific settings go to ``Field.options``, with the documented
  defaults filled in (number ``scale`` 0, rating ``max`` 5, link ``on_delete``
  restrict, auto_number ``padding`` 6 / ``start`` 1 / ``prefix`` "", formula ``result``
  number, attachment ``multiple`` false) so readers need no defaults of their own;
- a ``link`` whose ``to`` is a list becomes a ``poly_link`` field (``dump`` writes it
  back as ``link``);
- select options get normalised labels (``{value, label: {en: ...}, color?}``);
- a record type without ``title`` uses its first text field, if it has one;
- sort entries get ``dir`` (asc by default), chart views ``aggregate`` (count), dashboard
  widgets ``width`` (6 of 12 columns);
- a ``form.submitted`` workflow without ``record_type`` takes its form's;
- a workflow without ``run_as`` runs as ``system``;
- a role's permission without ``owner`` uses the record type's ``owner`` user field,
  else ``created_by``; an operation left out is ``none``, a field left out ``write``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tessera.meta.model import (
    App,
    Field,
    Form,
    FormSection,
    Permission,
    RecordType,
    Role,
    Validation,
    View,
    Workflow,
    freeze,
)

FIELD_COMMON = ("key", "type", "label", "help", "required", "unique", "default", "renamed_from")
FIELD_DEFAULTS: dict[str, dict[str, Any]] = {
    "number": {"scale": 0},
    "rating": {"max": 5},
    "link": {"on_delete": "restrict"},
    "poly_link": {"on_delete": "restrict"},
    "auto_number": {"prefix": "", "padding": 6, "start": 1},
    "formula": {"result": "number"},
    "attachment": {"multiple": False},
}
VIEW_ATTRS = ("key", "type", "record_type", "label", "columns", "filter", "sort", "group_by")
VIEW_ATTRS += ("date_field",)
FORM_ATTRS = ("key", "record_type", "label", "sections", "public", "visible_when")
LABEL_OPTIONS = ("description", "submit_label", "success_message")


def humanize(key: str) -> str:
    """``follow_up`` -> ``Follow up``."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def label(value: Any, key: str | None = None) -> Mapping[str, str]:
    """Normalise a label (string or locale map) to a frozen map with ``"en"``."""
    if value is None:
        return freeze({"en": humanize(key or "")})
    if isinstance(value, str):
        return freeze({"en": value})
    out = dict(value)
    if "en" not in out:
        out["en"] = humanize(key) if key else next(iter(out.values()))
    return freeze(out)


def optional_label(value: Any) -> Mapping[str, str] | None:
    """:func:`label` for optional texts (None stays None)."""
    return None if value is None else label(value)


def compile_field(data: Mapping[str, Any]) -> Field:
    """One field: common settings as attributes, the rest in ``options``."""
    ftype = data["type"]
    if ftype == "link" and isinstance(data.get("to"), list | tuple):
        ftype = "poly_link"  # one of several record types: its own field type
    options = {**FIELD_DEFAULTS.get(ftype, {})}
    if ftype == "auto_number" and "format" in data:  # a naming series: no prefix/padding
        options = {"start": 1}
    options.update({k: v for k, v in data.items() if k not in FIELD_COMMON})
    if "options" in options:
        options["options"] = [_choice(o) for o in options["options"]]
    return Field(
        key=data["key"],
        type=ftype,
        label=label(data.get("label"), data["key"]),
        required=bool(data.get("required", False)),
        unique=bool(data.get("unique", False)),
        default=freeze(data.get("default")),
        help=optional_label(data.get("help")),
        renamed_from=data.get("renamed_from"),
        options=freeze(options),
    )


def _choice(option: Mapping[str, Any]) -> dict[str, Any]:
    """A select option with a normalised label."""
    out = {"value": option["value"], "label": label(option.get("label"), option["value"])}
    for extra in ("color", "renamed_from"):
        if extra in option:
            out[extra] = option[extra]
    return out


def compile_record_type(data: Mapping[str, Any]) -> RecordType:
    """One record type with its fields, indexes and validations."""
    fields = tuple(compile_field(f) for f in data["fields"])
    title = data.get("title") or next((f.key for f in fields if f.type == "text"), None)
    return RecordType(
        key=data["key"],
        label=label(data.get("label"), data["key"]),
        fields=fields,
        title=title,
        indexes=tuple(tuple(ix) for ix in data.get("indexes", ())),
        validations=tuple(_validation(v) for v in data.get("validations", ())),
        renamed_from=data.get("renamed_from"),
        search=tuple(data.get("search", ())),
        summary=tuple(data.get("summary", ())),
    )


def _validation(data: Mapping[str, Any]) -> Validation:
    """A record-level validation rule."""
    return Validation(
        condition=freeze(data["when"]),
        message=label(data["message"]),
        fields=tuple(data.get("fields", ())),
    )


def compile_view(data: Mapping[str, Any]) -> View:
    """A view; settings without an attribute of their own go to ``options``."""
    options = {k: v for k, v in data.items() if k not in VIEW_ATTRS}
    if data["type"] == "chart":
        options.setdefault("aggregate", "count")
    if data["type"] == "dashboard":
        options["widgets"] = [_widget(w) for w in data["widgets"]]
    _label_options(options)
    return View(
        key=data["key"],
        type=data["type"],
        record_type=data.get("record_type"),
        label=label(data.get("label"), data["key"]),
        columns=tuple(data.get("columns", ())),
        filter=freeze(data.get("filter")),
        sort=tuple(
            freeze({"field": s["field"], "dir": s.get("dir", "asc")}) for s in data.get("sort", ())
        ),
        group_by=data.get("group_by"),
        date_field=data.get("date_field"),
        options=freeze(options),
    )


def _widget(data: Mapping[str, Any]) -> dict[str, Any]:
    """A dashboard tile with its width (6 of 12 columns by default) and label filled in."""
    out = {**data, "width": data.get("width", 6)}
    if "title" in data:
        out["title"] = label(data["title"])
    return out


def _label_options(options: dict[str, Any]) -> None:
    """Normalise the label-valued options (description, submit_label...) in place."""
    for name in LABEL_OPTIONS:
        if name in options:
            options[name] = label(options[name])


def compile_form(data: Mapping[str, Any]) -> Form:
    """A form with its sections and visibility rules."""
    options = {k: v for k, v in data.items() if k not in FORM_ATTRS}
    _label_options(options)
    sections = tuple(
        FormSection(
            title=optional_label(s.get("title")),
            fields=tuple(s["fields"]),
            tab=optional_label(s.get("tab")),
            columns=int(s.get("columns", 1)),
        )
        for s in data["sections"]
    )
    return Form(
        key=data["key"],
        record_type=data["record_type"],
        label=label(data.get("label"), data["key"]),
        sections=sections,
        public=bool(data.get("public", False)),
        visible_when=freeze(data.get("visible_when", {})),
        options=freeze(options),
    )


def compile_workflow(data: Mapping[str, Any], forms: Mapping[str, Form]) -> Workflow:
    """A workflow; its trigger and actions stay plain (frozen) data."""
    trigger = data["trigger"]
    record_type = data.get("record_type")
    if record_type is None and trigger["on"] == "form.submitted" and trigger["form"] in forms:
        record_type = forms[trigger["form"]].record_type
    return Workflow(
        key=data["key"],
        label=label(data.get("label"), data["key"]),
        trigger=freeze(trigger),
        actions=freeze(data["actions"]),
        record_type=record_type,
        when=freeze(data.get("when")),
        enabled=bool(data.get("enabled", True)),
        run_as=data.get("run_as", "system"),
    )


def compile_role(data: Mapping[str, Any]) -> Role:
    """A role with one Permission per record type it names (``*``: the rest)."""
    perms = tuple(_permission(rt_key, p) for rt_key, p in (data.get("permissions") or {}).items())
    return Role(
        key=data["key"],
        label=label(data.get("label"), data["key"]),
        permissions=perms,
        description=optional_label(data.get("description")),
    )


def _permission(rt_key: str, data: Mapping[str, Any]) -> Permission:
    """One permission (the access layer resolves a missing ``owner`` per record type)."""
    return Permission(
        record_type=rt_key,
        owner=data.get("owner"),
        fields=freeze(dict(data.get("fields") or {})),
        pool=freeze(data.get("pool")),
        **{op: freeze(data.get(op, "none")) for op in ("create", "read", "update", "delete")},
    )


def _typed_rollups(record_types: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Mark min/max rollups over a date/datetime field with ``result`` (their column type).

    A rollup's storage follows the field it aggregates, which lives on another record
    type (or in a table field's rows): only the whole app knows it.
    """
    types = {rt["key"]: {f["key"]: f for f in rt.get("fields", ())} for rt in record_types}
    out = []
    for rt in record_types:
        fields = []
        for f in rt.get("fields", ()):
            if f.get("type") == "rollup" and f.get("aggregate") in ("min", "max"):
                if "table" in f:
                    rows = types[rt["key"]].get(f["table"], {}).get("fields", ())
                    source = {c["key"]: c for c in rows}.get(f.get("field"), {})
                else:
                    source = types.get(f.get("from"), {}).get(f.get("field"), {})
                if source.get("type") in ("date", "datetime"):
                    f = {**f, "result": source["type"]}
            fields.append(f)
        out.append({**rt, "fields": fields})
    return out


def compile_app(data: Mapping[str, Any], source_name: str = "<data>") -> App:
    """Validated template data -> App (call validate_data first; this trusts its input)."""
    forms = tuple(compile_form(f) for f in data.get("forms", ()))
    by_key = {f.key: f for f in forms}
    return App(
        id=data["id"],
        version=data["version"],
        label=label(data.get("label"), data["id"]),
        record_types=tuple(compile_record_type(rt) for rt in _typed_rollups(data["record_types"])),
        views=tuple(compile_view(v) for v in data.get("views", ())),
        forms=forms,
        workflows=tuple(compile_workflow(w, by_key) for w in data.get("workflows", ())),
        description=optional_label(data.get("description")),
        roles=tuple(compile_role(r) for r in data.get("roles", ())),
        home=data.get("home"),
        source=freeze({"name": source_name, "data": data}),
    )
