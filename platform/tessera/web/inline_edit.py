"""Inline edit of a table view's cells: one field of one record, saved with its version.

A cell is offered for editing only when its field is a plain stored value a person may
change (not computed, not ``read_only``/``set_once``, not read-only for the user's
roles); the save goes through ``Records.update`` with the version the page showed, so
a change made meanwhile answers 409 with the usual conflict message, and the records
service re-checks every permission whatever the page offered.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _

from tessera.access.rules import rights
from tessera.errors import Conflict, Forbidden, ValidationFailed
from tessera.meta.model import App, Field, RecordType
from tessera.records import behaviour
from tessera.web import common, present
from tessera.web.hostile import json_object, maybe_int
from tessera.web.i18n import label, local_time, translated

bp = Blueprint("inline", __name__)
common.protect(bp)

#: field type -> the input the cell editor shows
INPUTS = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "number": "number",
    "currency": "number",
    "date": "date",
    "select": "select",
}


def editable(app: App, rt: RecordType, columns: list[str]) -> dict[str, str]:
    """The shown columns the signed-in user may edit in place: {field: input kind}."""
    full = common.engine_objects().registry.apps[app.id]
    r = rights(full, full.record_type(rt.key), common.who())
    if r is not None and not r.can("update"):
        return {}
    out = {}
    for c in columns:
        f = rt.field(c) if rt.has_field(c) else None
        if f is not None and _plain(f) and (r is None or r.level(c) == "write"):
            out[c] = INPUTS[f.type]
    return out


def edit_value(value: Any) -> str:
    """A stored value as the cell editor's starting text (dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def select_options(f: Field) -> list[list[str]]:
    """``[[value, label], ...]`` of a select field, for the cell editor's dropdown."""
    return [[o["value"], label(o.get("label"), o["value"])] for o in f.opt("options", ())]


def _plain(f: Field) -> bool:
    return f.type in INPUTS and not behaviour.read_only(f) and not behaviour.set_once(f)


@bp.post("/a/<app_id>/r/<rt_key>/<int:record_id>/cell")
def save_cell(app_id: str, rt_key: str, record_id: int):
    """Save one cell: JSON ``{field, value, version}`` -> ``{html, version}`` or an error."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    body = json_object()
    key, value = body.get("field"), body.get("value")
    if key not in editable(app, rt, [key] if isinstance(key, str) else []) or not isinstance(
        value, str | None
    ):
        return _error("bad_request", _("This cell cannot be edited here."), 400)
    records = common.engine_objects().records
    try:
        row = records.update(
            app.id,
            rt.key,
            record_id,
            {key: value},
            common.actor("inline-edit"),
            version=maybe_int(body.get("version")),
        )
    except ValidationFailed as exc:
        messages = exc.fields.get(key) or [m for ms in exc.fields.values() for m in ms]
        text = " ".join(translated(m) for m in messages) or translated(exc.message)
        return _error("validation_failed", text, 422)
    except Conflict as exc:
        return _error("conflict", conflict_message(exc), 409)
    except Forbidden:
        return _error("forbidden", _("You may not change this record."), 403)
    present.prime_links(app, rt, [row], [key])
    return {"html": str(present.cell(app, rt, key, row)), "version": row["version"]}


def conflict_message(exc: Conflict) -> str:
    """The record form's conflict message, for a cell."""
    details = getattr(exc, "details", None) or {}
    when = details.get("updated_at")
    if isinstance(when, str):
        with suppress(ValueError):  # a stored ISO time: show it in the user's zone
            when = local_time(datetime.fromisoformat(when))
    head = _("Someone else changed this record while you were editing.")
    body = _(
        "%(who)s saved it at %(when)s (now version %(v)s). Nothing of yours was saved yet.",
        who=details.get("updated_by") or _("Someone"),
        when=when or "?",
        v=details.get("version"),
    )
    return f"{head} {body} {_('Reload the page to see the change.')}"


def _error(code: str, message: str, status: int):
    return {"error": {"code": code, "message": message}}, status
