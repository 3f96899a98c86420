"""Generated forms: which fields a form shows, their initial values, and reading a submission.

A form is the template's ``Form`` for the record type (the first non-public one when the
caller names none), else one section of every editable field. Values travel through the
page as strings (or lists of strings): :func:`to_form` turns stored values into them and
:func:`read_submission` turns a posted form back into the raw input the records service
cleans and validates — the web layer never validates values itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from tessera import timezones
from tessera.errors import FieldValueError
from tessera.fields import for_field, richtext
from tessera.fields.files import save_upload
from tessera.meta.children import row_fields
from tessera.meta.model import App, Field, Form, FormSection, RecordType, freeze
from tessera.query import conditions
from tessera.records import behaviour, defaults
from tessera.web.i18n import user_zone

LIST_TYPES = frozenset({"multi_select", "link_many"})
#: the Chinese texts of the grid (registered in BABEL_TRANSLATION_DIRECTORIES)
TRANSLATIONS = Path(__file__).resolve().parent / "translations_tables"
#: a hidden input ``<table field>-rows`` marks that a grid was posted (it may have no rows)
ROWS_MARK = "-rows"


@dataclass
class Section:
    """A titled group of fields on a rendered form, on a tab, in 1 to 4 columns."""

    title: Any
    fields: list[Field]
    tab: Any = None
    columns: int = 1


@dataclass
class FormSpec:
    """What one rendered form shows: sections of editable fields and visibility rules."""

    rt: RecordType
    form: Form
    sections: list[Section]
    visible_when: dict[str, Any] = field(default_factory=dict)
    #: fields shown as text, not inputs: read_only ones, and set_once ones when editing
    fixed: frozenset[str] = frozenset()

    @property
    def tabs(self) -> list[tuple[Any, list[Section]]]:
        """Sections grouped by tab, in order of first appearance ([(None, all)] untabbed).

        Sections without a ``tab`` join the tab before them (the first tab when they lead).
        """
        groups: list[tuple[Any, list[Section]]] = []
        for s in self.sections:
            if s.tab is not None and all(s.tab != t for t, _ in groups):
                groups.append((s.tab, []))
            if not groups:
                groups.append((None, []))
            target = next((g for t, g in groups if t == s.tab), None) if s.tab else None
            (target if target is not None else groups[-1][1]).append(s)
        if len(groups) > 1 and groups[0][0] is None:  # untabbed lead sections: first tab
            lead = groups.pop(0)[1]
            groups[0][1][:0] = lead
        return groups

    @property
    def fields(self) -> list[Field]:
        """Every field on the form, in order."""
        return [f for s in self.sections for f in s.fields]

    @property
    def multipart(self) -> bool:
        """True when the form uploads files."""
        return any(f.type == "attachment" for f in self.fields)


def editable(f: Field) -> bool:
    """True for fields a person fills in (not formulas, rollups, lookups, numbers)."""
    return not for_field(f).computed


def default_form(rt: RecordType) -> Form:
    """A one-section form of every editable field, for record types without a form."""
    keys = tuple(f.key for f in rt.fields if editable(f))
    return Form(
        key=f"{rt.key}_default",
        record_type=rt.key,
        label=rt.label,
        sections=(FormSection(title=None, fields=keys),),
    )


def find_form(app: App, rt: RecordType, key: str | None = None) -> Form:
    """The form ``key`` of this record type, else its first non-public form, else a default."""
    mine = [f for f in app.forms if f.record_type == rt.key]
    if key:
        return next((f for f in mine if f.key == key), None) or default_form(rt)
    return next((f for f in mine if not f.public), None) or default_form(rt)


def spec(
    app: App,
    rt: RecordType,
    form: Form,
    locked: frozenset[str] = frozenset(),
    *,
    editing: bool = False,
    record: dict | None = None,
) -> FormSpec:
    """The sections of ``form`` with their editable fields, unknown and ``locked`` keys skipped.

    ``locked`` are fields the user's roles make read-only: left off the form (the record
    page shows them), so a save never writes them. ``read_only`` fields (and, when
    ``editing``, ``set_once`` ones the stored ``record`` already holds) stay on the form as
    text and are never read from a submission; an empty set_once field may be filled once.
    """
    sections = []
    for s in form.sections:
        fields = [
            rt.field(k)
            for k in s.fields
            if rt.has_field(k) and editable(rt.field(k)) and k not in locked
        ]
        if fields:
            tab, columns = getattr(s, "tab", None), getattr(s, "columns", 1)
            sections.append(Section(s.title, fields, tab, columns))
    visible = {k: v for k, v in form.visible_when.items() if rt.has_field(k)}
    fixed = frozenset(
        f.key
        for f in rt.fields
        if behaviour.read_only(f) or (editing and behaviour.set_once(f) and _filled(f, record))
    )
    return FormSpec(rt, form, sections, dict(visible), fixed)


def _filled(f: Field, record: dict | None) -> bool:
    """True unless ``record`` is given and holds no value for ``f``."""
    return record is None or not for_field(f).is_empty(record.get(f.key))


# -- values to and from the page -------------------------------------------------------------
def to_form(f: Field, value: Any) -> Any:
    """A stored value as the string (or list of strings) an input shows."""
    if f.type == "table":  # rows of cell strings
        return [{c.key: to_form(c, row.get(c.key)) for c in row_fields(f)} for row in value or ()]
    if value is None:
        return [] if f.type in LIST_TYPES else ""
    if f.type in LIST_TYPES:
        return [str(v) for v in value]
    if f.type == "boolean":
        return "true" if value else ""
    if f.type in ("attachment", "poly_link"):
        return value  # poly_link: the stored "customer:3" is what its chooser posts
    if f.type in ("duration", "time"):  # as people type them ("1h 30m", "09:30")
        return for_field(f).format(f, value, "en")
    if isinstance(value, datetime):  # entered and shown in the reader's zone
        return timezones.to_local(value, user_zone()).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(for_field(f).to_json(f, value))


def initial(
    spec_: FormSpec, record: dict | None, prefill: MultiDict | None = None, me: int | None = None
) -> dict:
    """Form values: the record's, else defaults and ``prefill`` (query string) values.

    Defaults are those a create applies (records/defaults): ``$me`` is ``me``, ``today``,
    ``now`` and ``{expr}`` are computed now. Prefill never fills a fixed (read-only) field.
    """
    values = {}
    now = datetime.now(user_zone())  # "today" is the reader's day
    for f in spec_.rt.fields:
        if record is not None:
            values[f.key] = to_form(f, record.get(f.key))
            continue
        values[f.key] = _default(f, now, me)
        if prefill and f.key in prefill and f.key not in spec_.fixed:
            values[f.key] = prefill.getlist(f.key) if f.type in LIST_TYPES else prefill[f.key]
    return values


def _default(f: Field, now: datetime, me: int | None = None) -> Any:
    default = f.default
    if f.type == "table":
        return []
    if default is not None and defaults.is_computed(f):
        default = defaults.resolve(f, now=now, me=me)
    if default is None:
        return [] if f.type in LIST_TYPES else ""
    try:
        return to_form(f, for_field(f).coerce(f, default))
    except FieldValueError:
        return str(default)


def posted_values(spec_: FormSpec, form: MultiDict) -> dict:
    """The form strings as posted, keyed by field (to show the input back on errors)."""
    values = {}
    for f in spec_.fields:
        if f.key in spec_.fixed:
            continue
        if f.type == "table":
            values[f.key] = posted_rows(f, form)
        elif f.type in LIST_TYPES:
            values[f.key] = form.getlist(f.key)
        elif f.type == "boolean":
            values[f.key] = "true" if "true" in form.getlist(f.key) else ""
        elif f.type == "rich_text":  # shown back in the editor: only the safe subset
            values[f.key] = richtext.sanitize(form.get(f.key, ""))
        elif f.type != "attachment":
            values[f.key] = form.get(f.key, "")
    return values


def read_submission(
    spec_: FormSpec,
    form: MultiDict,
    files: MultiDict,
    instance_path: str,
    current: dict | None = None,
    *,
    on_saved: Callable[[dict, list], str | None] | None = None,
) -> tuple[dict, dict[str, list[str]]]:
    """(raw input for the records service, upload errors) from a posted form.

    ``on_saved(metadata, new_paths)`` is called after each stored upload (the web layer
    tracks new files and the uploader's volume); a message it returns refuses the file.
    """
    raw: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for f in spec_.fields:
        if f.key in spec_.fixed:
            continue  # shown as text: a posted value (a crafted request) is ignored
        if f.type == "attachment":
            _read_files(f, form, files, instance_path, current, raw, errors, on_saved)
        elif f.type == "table":
            if f"{f.key}{ROWS_MARK}" in form:  # the grid was on the page
                raw[f.key] = posted_rows(f, form)
        elif f.type in LIST_TYPES:
            raw[f.key] = [v for v in form.getlist(f.key) if v != ""]
        elif f.type == "boolean":
            raw[f.key] = "true" in form.getlist(f.key)
        elif f.type == "datetime" and f.key in form:
            raw[f.key] = from_form(form.get(f.key, ""))
        elif f.key in form:
            raw[f.key] = form.get(f.key, "")
    return raw, errors


def from_form(text: str) -> str:
    """A ``datetime-local`` input (the reader's wall clock) as UTC ISO text for the
    records service; text that is not a date-time goes on as it is (it reports it)."""
    text = (text or "").strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return timezones.from_local(value, user_zone()).isoformat()


def posted_rows(f: Field, form: MultiDict) -> list[dict[str, Any]]:
    """A grid's rows as posted: inputs ``items-<n>-<cell>``, in order of ``n``, blank rows left out.

    The page's script renumbers ``n`` in screen order when rows are added, removed or
    moved; without it, the grid still posts its rows and a spare blank one (ignored).
    """
    cells = [c for c in row_fields(f) if editable(c)]
    numbers = sorted({int(m.group(1)) for k in form if (m := _cell_name(f.key).match(k))})
    rows = []
    for n in numbers:
        row: dict[str, Any] = {}
        for c in cells:
            name = f"{f.key}-{n}-{c.key}"
            if c.type == "boolean":
                row[c.key] = "true" in form.getlist(name)
            elif c.type in LIST_TYPES:
                row[c.key] = [v for v in form.getlist(name) if v != ""]
            else:
                row[c.key] = form.get(name, "")
        if any(v not in ("", [], False) for v in row.values()):
            rows.append(row)
    return rows


def _cell_name(key: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(key)}-(\d{{1,5}})-")


def _read_files(f, form, files, instance_path, current, raw, errors, on_saved=None) -> None:
    kept = _kept_files(f, form, current)
    uploads = [u for u in files.getlist(f.key) if isinstance(u, FileStorage) and u.filename]
    limit = f.opt("max_size_mb")
    new = []
    for upload in uploads:
        created: list = []
        try:
            meta = save_upload(
                instance_path,
                upload.filename,
                upload.stream,
                content_type=upload.mimetype or None,
                max_bytes=int(float(limit) * 1024 * 1024) if limit else None,
                created=created,
            )
            refused = on_saved(meta, created) if on_saved else None
            if refused:
                raise FieldValueError(refused)
            new.append(meta)
        except FieldValueError as exc:
            errors.setdefault(f.key, []).append(f"{upload.filename}: {exc}")
    combined = (kept + new) if f.opt("multiple") else (new[-1:] or kept[:1])
    if uploads or current is None or len(kept) != len(_as_list(current.get(f.key))):
        raw[f.key] = (
            (combined or None) if f.opt("multiple") else (combined[0] if combined else None)
        )


def _kept_files(f: Field, form: MultiDict, current: dict | None) -> list[dict]:
    existing = _as_list((current or {}).get(f.key))
    keep = set(form.getlist(f"{f.key}__keep"))
    return [m for m in existing if m["sha256"] in keep]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# -- visibility --------------------------------------------------------------------------------
def hidden_fields(
    app: App, spec_: FormSpec, raw: dict, current: dict | None, me: int | None
) -> set:
    """Fields whose ``visible_when`` does not hold for the submitted values (server side)."""
    if not spec_.visible_when:
        return set()
    record = {**(current or {}), **_coerced(spec_.rt, raw)}
    hidden = set()
    now = datetime.now(UTC)
    for key, cond in spec_.visible_when.items():
        try:
            shown = conditions.evaluate(cond, record, spec_.rt, app, me=me, now=now)
        except conditions.ConditionError:
            shown = True  # a rule the validator let through but we cannot read: do not hide
        if not shown:
            hidden.add(key)
    return hidden


def visibility_input(spec_: FormSpec, values: dict) -> dict:
    """The non-empty form values of a rendered form, as input for :func:`hidden_fields`."""
    return {
        f.key: values.get(f.key)
        for f in spec_.fields
        if f.type != "attachment" and values.get(f.key) not in (None, "", [])
    }


def _coerced(rt: RecordType, raw: dict) -> dict:
    out = {}
    for key, value in raw.items():
        f = rt.field(key)
        try:
            out[key] = for_field(f).coerce(f, value)
        except (FieldValueError, TypeError, ValueError):
            out[key] = None
    return out


def conditions_json(spec_: FormSpec) -> dict:
    """The visibility rules as plain data for the page's script."""
    from tessera.meta.model import thaw

    return {k: thaw(freeze(v)) for k, v in spec_.visible_when.items()}
