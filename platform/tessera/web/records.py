"""Record pages and generated forms: show, create, edit, delete, link lookup, downloads."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from tessera.access import audit, pool
from tessera.access.rules import rights
from tessera.errors import Conflict, FieldValueError, NotFound, ValidationFailed
from tessera.fields import for_field, polylinks
from tessera.fields.files import check_metadata, upload_path
from tessera.meta.children import row_fields
from tessera.meta.model import App, RecordType
from tessera.web import (
    automation,
    common,
    deletion,
    forms,
    people,
    present,
    resume,
    timeline,
    uploads,
)
from tessera.web.hostile import db_int, maybe_int
from tessera.web.i18n import label, translated
from tessera.web.row_changes import table_changes
from tessera.web.security import safe_next

bp = Blueprint("records", __name__)
common.protect(bp)

PICKER_OPTIONS = 50  # link choices rendered without script; the picker searches the rest
RELATED_ROWS = 10


# -- record page -----------------------------------------------------------------------------
@bp.get("/a/<app_id>/r/<rt_key>/<int:record_id>")
def show(app_id: str, rt_key: str, record_id: int):
    """A record: its fields in the form's sections, related lists and activity."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    record = common.engine_objects().records.get(app.id, rt.key, record_id, common.who())
    sections = display_sections(app, rt)
    present.prime_links(app, rt, [record], [f.key for f in rt.fields])
    kind = request.args.get("kind") or None
    story = timeline.build(app, rt, record_id, activity(app, rt, record_id), kind)
    return render_template(
        "record.html",
        app=app,
        rt=rt,
        record=record,
        sections=sections,
        related=related_lists(app, rt, record_id),
        activity=story["entries"],
        kinds=story["kinds"],
        kind=kind,
        key_numbers=timeline.key_numbers(app, rt, record),
        views=common.views_of(app, rt.key),
        pool_owner=_pool_owner(app, rt),
    )


def _locked(app: App, rt: RecordType) -> frozenset[str]:
    """Fields the signed-in user may read but not write."""
    full = common.engine_objects().registry.apps[app.id]
    r = rights(full, full.record_type(rt.key), common.who())
    return frozenset() if r is None else frozenset(k for k, v in r.fields.items() if v == "read")


def _pool_owner(app: App, rt: RecordType) -> str | None:
    """The owner field when the user may claim from / release to a pool of ``rt``."""
    who = common.who()
    rule = pool.pool_rule(app, rt, who) if who is not None else None
    return rule.owner if rule else None


def display_sections(app: App, rt: RecordType) -> list[forms.Section]:
    """The form's sections with every field (computed ones too), then the remaining fields."""
    form = forms.find_form(app, rt)
    sections, seen = [], set()
    for s in form.sections:
        fields = [rt.field(k) for k in s.fields if rt.has_field(k)]
        seen.update(f.key for f in fields)
        sections.append(forms.Section(s.title, fields))
    rest = [f for f in rt.fields if f.key not in seen]
    if rest:
        sections.append(forms.Section({"en": "More", "zh-CN": "更多"}, rest))
    return sections


def related_lists(app: App, rt: RecordType, record_id: int) -> list[dict]:
    """Records of other types whose link fields point at this record."""
    queries = common.engine_objects().queries
    out = []
    for src in app.record_types:
        for f in src.fields:
            if f.type == "poly_link" and rt.key in polylinks.targets(f):
                value: Any = {"type": rt.key, "id": record_id}  # "regarding this record"
            elif f.type == "link" and f.opt("to") == rt.key:
                value = record_id
            else:
                continue
            page = queries.list(
                app.id,
                src.key,
                filter={"field": f.key, "op": "eq", "value": value},
                sort="-id",
                limit=RELATED_ROWS,
                user_id=common.who(),
                with_total=True,
            )
            columns = _related_columns(src, f.key)
            present.prime_links(app, src, page.rows, columns)
            prefill = record_id if f.type == "link" else polylinks.join(rt.key, record_id)
            out.append({"rt": src, "link": f, "page": page, "columns": columns, "prefill": prefill})
    return out


def _related_columns(rt: RecordType, link_key: str) -> list[str]:
    skip = ("long_text", "attachment", "link_many")
    return [f.key for f in rt.fields if f.key not in (link_key, rt.title) and f.type not in skip][
        :3
    ]


def activity(app: App, rt: RecordType, record_id: int) -> list[dict]:
    """The audit history, newest first, with changed values shown per field."""
    try:
        entries = common.engine_objects().records.history(app.id, rt.key, record_id, common.who())
    except NotFound:
        return []
    names = people.directory()
    out = []
    for e in reversed(entries):
        changes = []
        for key, (old, new) in (e["changes"] or {}).items():
            f = rt.field_map.get(key)
            if f is not None and f.type == "table":  # only the rows and cells that changed
                changes += table_changes(rt, f, old, new, partial(_json_html, app))
            elif f is not None:
                changes.append((f, _json_html(app, rt, f, old), _json_html(app, rt, f, new)))
        out.append({**e, "who": _who(e, names), "fields": changes, "via": _via(e)})
    return out


def _who(entry: dict, names: dict) -> str:
    """Who made a change, in words: a person, a workflow run, a public form, an import."""
    person = names.get(entry["user_id"]) if entry["user_id"] else None
    kind, ref = entry["actor_kind"], entry["actor_ref"] or ""
    if kind == "workflow":
        robot = _("Workflow run #%(run)s", run=ref.split("/")[0])
        return f"{robot} ({person})" if person else robot
    if kind == "api_token":
        return f"{person} (API)" if person else "API"
    if ref.startswith("public-form:"):
        return _("Public form %(form)s", form=ref.split(":", 1)[1])
    return person or ref or kind


def _via(entry: dict) -> str:
    """Through which door the change came, in words: UI, API, workflow, import, public form."""
    kind = audit.via(entry["actor_kind"], entry["actor_ref"])
    words = {
        "ui": _("via the web"),
        "api": _("via the API"),
        "workflow": _("via a workflow"),
        "import": _("via an import"),
        "public_form": _("via a public form"),
    }
    return words.get(kind, _("by the system"))


def _json_html(app: App, rt: RecordType, f, value: Any):
    if value is None:
        return present.value_html(app, rt, f, None)
    try:
        if f.type == "table":  # rows as logged: each cell back to its own type's value
            coerced = [
                {c.key: _json_value(c, row.get(c.key)) for c in row_fields(f)} for row in value
            ]
        elif f.type in ("link_many", "lookup"):
            coerced = value
        else:
            coerced = for_field(f).coerce(f, value)
    except (FieldValueError, TypeError, ValueError, AttributeError):
        coerced = value
    try:
        return present.value_html(app, rt, f, coerced, {})
    except Exception:  # noqa: BLE001 - history may hold values of an older field type
        return str(value)


def _json_value(f, value: Any) -> Any:
    """A logged JSON value as ``f``'s Python value (as it was, when it does not convert)."""
    try:
        return for_field(f).coerce(f, value)
    except (FieldValueError, TypeError, ValueError):
        return value


# -- create and edit -------------------------------------------------------------------------
@bp.route("/a/<app_id>/r/<rt_key>/new", methods=["GET", "POST"])
def new(app_id: str, rt_key: str):
    """The create form; query arguments prefill fields (``?customer=7``)."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    spec = forms.spec(app, rt, forms.find_form(app, rt, request.args.get("form")), _locked(app, rt))
    back = safe_next(request.values.get("next"), "")
    if request.method == "GET":
        kept = resume.restore(common.me())
        if kept is not None:
            return _render_form(app, spec, _posted(spec, None, kept), back=back, resumed=True)
        values = forms.initial(spec, None, request.args, me=common.me())
        return _render_form(app, spec, values, back=back)
    raw, errors = forms.read_submission(
        spec, request.form, request.files, _instance(), on_saved=uploads.saved
    )
    raw = _drop_hidden(app, spec, raw, None)
    if errors:
        return _render_form(app, spec, _posted(spec), errors=errors, back=back), 422
    try:
        row = common.engine_objects().records.create(
            app.id, rt.key, raw, common.actor(f"form:{spec.form.key}")
        )
    except ValidationFailed as exc:
        return _render_form(app, spec, _posted(spec), errors=exc.fields, back=back), 422
    automation.form_submitted(app.id, spec.form.key, row["id"], common.me())
    flash(_("Saved %(title)s.", title=present.title(rt, row)), "ok")
    return redirect(
        back or url_for("records.show", app_id=app.id, rt_key=rt.key, record_id=row["id"])
    )


@bp.route("/a/<app_id>/r/<rt_key>/<int:record_id>/edit", methods=["GET", "POST"])
def edit(app_id: str, rt_key: str, record_id: int):
    """The edit form; a stale version shows who changed what meanwhile."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    records = common.engine_objects().records
    record = records.get(app.id, rt.key, record_id, common.who())
    form = forms.find_form(app, rt, request.args.get("form"))
    spec = forms.spec(app, rt, form, _locked(app, rt), editing=True, record=record)
    if request.method == "GET":
        kept = resume.restore(common.me())
        if kept is not None:  # the version they started from: a change meanwhile conflicts
            values, version = _posted(spec, record, kept), kept.get("version", type=db_int)
            return _render_form(app, spec, values, record=record, version=version, resumed=True)
        return _render_form(app, spec, forms.initial(spec, record), record=record)
    raw, errors = forms.read_submission(
        spec, request.form, request.files, _instance(), record, on_saved=uploads.saved
    )
    raw = _drop_hidden(app, spec, raw, record)
    version = request.form.get("version", type=db_int)
    if errors:
        return _render_form(
            app, spec, _posted(spec, record), errors=errors, record=record, version=version
        ), 422
    try:
        row = records.update(
            app.id, rt.key, record_id, raw, common.actor(f"form:{spec.form.key}"), version=version
        )
    except ValidationFailed as exc:
        return _render_form(
            app, spec, _posted(spec, record), errors=exc.fields, record=record, version=version
        ), 422
    except Conflict as exc:
        conflict = _conflict(app, rt, record_id, version, exc)
        return _render_form(
            app,
            spec,
            _posted(spec, record),
            record=record,
            conflict=conflict,
            version=record["version"],
        ), 409
    flash(_("Saved %(title)s.", title=present.title(rt, row)), "ok")
    return redirect(url_for("records.show", app_id=app.id, rt_key=rt.key, record_id=record_id))


def _instance() -> str:
    return str(common.engine_objects().instance_path)


def _posted(spec: forms.FormSpec, record: dict | None = None, posted=None) -> dict:
    """The posted strings; fixed (read-only) fields keep the record's or default value."""
    shown = forms.initial(spec, record, me=common.me())
    return {**shown, **forms.posted_values(spec, request.form if posted is None else posted)}


def _drop_hidden(app: App, spec: forms.FormSpec, raw: dict, current: dict | None) -> dict:
    hidden = forms.hidden_fields(app, spec, raw, current, common.me())
    return {k: v for k, v in raw.items() if k not in hidden}


def _conflict(app: App, rt: RecordType, record_id: int, version: int | None, exc: Conflict):
    """Who changed the record since ``version``, when, and which fields."""
    details = getattr(exc, "details", None) or {}
    entries = activity(app, rt, record_id)
    newer = [e for e in entries if e["action"] == "update"][
        : max(0, details.get("version", 1) - (version or 0))
    ]
    return {"message": translated(exc.message), "details": details, "entries": newer}


def _render_form(
    app,
    spec,
    values,
    *,
    errors=None,
    record=None,
    conflict=None,
    version=None,
    back="",
    resumed=False,
):
    rt = spec.rt
    return render_template(
        "record_form.html",
        resumed=resumed,
        app=app,
        rt=rt,
        spec=spec,
        values=values,
        errors=errors or {},
        record=record,
        conflict=conflict,
        back=back,
        version=version if version is not None else (record or {}).get("version"),
        hidden=forms.hidden_fields(
            app, spec, forms.visibility_input(spec, values), record, common.me()
        ),
        rules=forms.conditions_json(spec),
        links=_link_choices(app, spec, values),
        users=people.choices() if any(f.type == "user" for f in spec.fields) else [],
    )


def _link_choices(app: App, spec: forms.FormSpec, values: dict) -> dict[str, list]:
    """For each link field: (id, title) choices, the current value(s) first."""
    queries = common.engine_objects().queries
    out = {}
    for f in spec.fields:
        if f.type == "poly_link":
            out[f.key] = _poly_choices(app, f, values.get(f.key))
    for key, f, current in _link_inputs(spec, values):
        target = app.record_type(f.opt("to"))
        current = {
            n
            for n in (maybe_int(v) for v in (current if isinstance(current, list) else [current]))
            if n is not None and n > 0
        }
        chosen = present.linked_rows(app, target.key, current)
        page = queries.list(
            app.id, target.key, limit=PICKER_OPTIONS, sort="-updated_at", user_id=common.who()
        )
        rows = list(chosen.values()) + [r for r in page.rows if r["id"] not in chosen]
        out[key] = [(r["id"], present.title(target, r)) for r in rows]
    return out


def _link_inputs(spec: forms.FormSpec, values: dict):
    """(choices key, link field, current value(s)) of each link input, grid cells included.

    A grid's link cells share one list of choices, keyed ``items.product``.
    """
    for f in spec.fields:
        if f.type in ("link", "link_many"):
            yield f.key, f, values.get(f.key) or []
        elif f.type == "table":
            for c in row_fields(f):
                if c.type == "link":
                    rows = values.get(f.key) or []
                    yield f"{f.key}.{c.key}", c, [r.get(c.key) for r in rows if r.get(c.key)]


def _poly_choices(app: App, f, current: Any) -> list[dict]:
    """Per target type of a polymorphic link: its label, lookup URL and recent records."""
    queries = common.engine_objects().queries
    chosen = polylinks.split(current)
    groups = []
    for rt_key in polylinks.targets(f):
        if not app.has_record_type(rt_key):
            continue
        target = app.record_type(rt_key)
        page = queries.list(
            app.id, rt_key, limit=PICKER_OPTIONS, sort="-updated_at", user_id=common.who()
        )
        rows = page.rows
        if chosen and chosen[0] == rt_key and all(r["id"] != chosen[1] for r in rows):
            rows = list(present.linked_rows(app, rt_key, {chosen[1]}).values()) + rows
        groups.append(
            {
                "type": rt_key,
                "label": label(target.label, rt_key),
                "lookup": url_for("records.lookup", app_id=app.id, rt_key=rt_key),
                "choices": [
                    (polylinks.join(rt_key, r["id"]), present.title(target, r)) for r in rows
                ],
                "selected": bool(chosen and chosen[0] == rt_key),
            }
        )
    return groups


# -- delete, lookup, download ----------------------------------------------------------------
def confirm_delete(app_id: str, rt_key: str, record_id: int):
    """Ask before deleting, naming what would go with the record (or who blocks it)."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    objects = common.engine_objects()
    record = objects.records.get(app.id, rt.key, record_id, common.who())
    impact = objects.records.delete_impact(app.id, rt.key, record_id, common.actor())
    full = objects.registry.apps[app.id]
    blockers = impact.blockers
    return render_template(
        "record_delete.html",
        app=app,
        rt=rt,
        record=record,
        impact=impact,
        consequences=deletion.consequences(full, impact),
        blocker=deletion.blocker_sentence(full, blockers) if blockers else None,
        blocker_links=deletion.blocker_links(full, blockers) if blockers else [],
        next=safe_next(request.args.get("next"), ""),
    )


@bp.route("/a/<app_id>/r/<rt_key>/<int:record_id>/delete", methods=["GET", "POST"])
def delete(app_id: str, rt_key: str, record_id: int):
    """Delete a record (links' on_delete rules apply); refusals are shown, not raised.

    GET asks first (one route for both: a second rule would answer 405, not 404, to an
    id beyond the database's range).
    """
    if request.method == "GET":
        return confirm_delete(app_id, rt_key, record_id)
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    try:
        common.engine_objects().records.delete(app.id, rt.key, record_id, common.actor())
    except Conflict as exc:
        flash(translated(exc.message), "error")
        return redirect(url_for("records.show", app_id=app.id, rt_key=rt.key, record_id=record_id))
    flash(_("Deleted."), "ok")
    default = url_for("views.all_records", app_id=app.id, rt_key=rt.key)
    return redirect(safe_next(request.form.get("next"), default))


@bp.get("/a/<app_id>/r/<rt_key>/lookup")
def lookup(app_id: str, rt_key: str):
    """JSON for the link picker: ``[{id, title}]`` of records matching ``q``."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    q = request.args.get("q", "").strip()[:100] or None
    page = common.engine_objects().queries.list(
        app.id, rt.key, q=q, limit=20, sort="-updated_at", user_id=common.who()
    )
    return {"results": [{"id": r["id"], "title": present.title(rt, r)} for r in page.rows]}


@bp.get("/a/<app_id>/r/<rt_key>/<int:record_id>/files/<field>/<int:n>")
def download(app_id: str, rt_key: str, record_id: int, field: str, n: int):
    """One attached file of a record."""
    app = common.meta(app_id)
    rt = common.record_type(app, rt_key)
    if not rt.has_field(field) or rt.field(field).type != "attachment":
        abort(404, _("No such file."))
    value = common.engine_objects().records.get(app.id, rt.key, record_id, common.who()).get(field)
    files = value if isinstance(value, list) else [value] if value else []
    if not 0 <= n < len(files):
        abort(404, _("No such file."))
    try:  # stored metadata is checked again: a clean name and type/subtype, our path
        meta, path = check_metadata(files[n]), upload_path(_instance(), files[n])
    except FieldValueError:
        abort(404, _("No such file."))
    if not path.exists():
        abort(404, _("The file is missing from the upload folder."))
    return send_file(
        path, mimetype=meta["content_type"], as_attachment=True, download_name=meta["name"]
    )
