"""The import runner: file rows → parsed values → links and matches → the records service.

Rows are handled in batches (``batch_size``, default 1,000). For each batch: every
mapped cell is read by its field type's ``from_cell``; link cells are resolved by the
target's title (or a chosen field) with one query per link field; match keys find
existing records with one query per key; then the records service checks the batch
(``dry_run=True``) so the report holds every problem per row and field, exactly as a
real write would see it.

A dry run (:meth:`Importer.check`) stops there. :meth:`Importer.run` either writes the
good rows and reports the refused ones (``skip_invalid``), or — the default — checks
the whole file first and writes nothing at all when any row is refused. Rows are
written through ``Records.bulk_create`` / ``bulk_update`` under the actor kind
``import`` with the import's id as ref, so every row's audit entry names the import.
If a write fails part-way (or the import is cancelled), what was written is undone
(:func:`tessera.dataio.undo.undo_import`): nothing is ever half-imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tessera.dataio import dedupe, mapping
from tessera.dataio.readers import DEFAULT_MAX_BYTES, FileProblem, open_table
from tessera.errors import FieldValueError, ValidationFailed
from tessera.fields import for_field
from tessera.fields.spreadsheet import cell_list, cell_text
from tessera.records import refs
from tessera.records.actor import Actor

ON_MATCH = ("skip", "update", "create")
WORKFLOWS = ("none", "per_row", "summary")
REPORT_CAP = 10_000
#: tables up to this many records are matched against an in-memory key index built once
#: per pass; larger ones by one SQL query per batch (IMPORT_MATCH_INDEX_MAX overrides)
MATCH_INDEX_MAX = 300_000
LINKS = ("link", "link_many", "user")


#: cell parsing is memoised per column for types with few distinct cells (a select by
#: label, a date, a boolean): the same text parses to the same value, so 100,000 rows
#: of three tier labels parse three times; at most MEMO_MAX texts per column are kept
MEMO_TYPES = ("select", "date", "boolean", "currency", "number", "percent")
MEMO_MAX = 4096
_MISS = object()


class _Refused:
    """A memoised parse failure (the message of its FieldValueError)."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


class Cancelled(Exception):
    """The import was cancelled by its user while running."""


@dataclass
class ImportOptions:
    """What to import and how; stored as JSON on the import job."""

    mapping: dict[str, str | None]
    match: list[str] = field(default_factory=list)
    on_match: str = "skip"
    encoding: str | None = None
    sheet: str | None = None
    skip_invalid: bool = False
    workflows: str = "none"
    create_missing: bool = False
    link_by: dict[str, str] = field(default_factory=dict)
    batch_size: int = 1000

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportOptions:
        """Options from a stored dict (unknown keys ignored)."""
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def problems(self) -> list[str]:
        """Option values that make no sense."""
        out = []
        if self.on_match not in ON_MATCH:
            out.append(f"--on-match must be one of {', '.join(ON_MATCH)}, not {self.on_match!r}")
        if self.workflows not in WORKFLOWS:
            out.append(f"workflows must be one of {', '.join(WORKFLOWS)}, not {self.workflows!r}")
        if not 1 <= int(self.batch_size) <= 10_000:
            out.append("batch_size must be 1..10000")
        return out


@dataclass
class Row:
    """One data row on its way in."""

    number: int
    cells: list[Any]
    values: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, Any] = field(default_factory=dict)  # link field -> cell text(s)
    pending: dict[str, list[str]] = field(default_factory=dict)  # links to create first
    errors: dict[str, list[str]] = field(default_factory=dict)
    action: str = "create"  # create | update | skip
    target: int | None = None
    note: str | None = None

    def error(self, key: str, message: str) -> None:
        """Record a problem with field ``key`` (``_row`` for the whole row)."""
        msgs = self.errors.setdefault(key, [])
        if message not in msgs:
            msgs.append(message)


@dataclass
class Result:
    """Counts and the per-row report of a check or an import."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("rows", "created", "updated", "skipped", "refused", "links_created"), 0
        )
    )
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)  # skipped rows and why
    written: bool = False
    fraction: float | None = None  # of the file read when the last batch was reported

    @property
    def ok(self) -> bool:
        """True when no row was refused."""
        return self.counts["refused"] == 0


class Importer:
    """Import one file into one record type (see the module docstring)."""

    def __init__(
        self,
        tessera: Any,
        app_id: str,
        rt_key: str,
        path: str | Path,
        options: ImportOptions,
        actor: Actor,
        *,
        file_name: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: Callable[[int, Result], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ):
        self.t = tessera
        self.app, self.rt, self.table = tessera.records.resolve(app_id, rt_key)
        self.path = Path(path)
        self.options = options
        self.actor = actor
        self.file_name = file_name
        self.max_bytes = max_bytes
        self.progress = progress or (lambda n, r: None)
        self.cancelled = cancelled or (lambda: False)
        self.keys = dedupe.parse_keys(self.rt, options.match)
        self.headers: list[str] = []
        self.fraction: float | None = None  # how far through the file the pass is
        self.columns: list[tuple[int, str, Any]] = []  # (cell index, header, Field)

    # -- passes -------------------------------------------------------------------------
    def check(self) -> Result:
        """Dry run: the report of every problem; writes nothing."""
        return self._pass(write=False)

    def run(self) -> Result:
        """Import: good rows only (skip_invalid) or all-or-nothing (checked first)."""
        if not self.options.skip_invalid:
            checked = self.check()
            if not checked.ok:
                return checked
        try:
            result = self._pass(write=True)
        except BaseException:
            self._undo()
            raise
        if self.options.workflows == "summary":
            from tessera.dataio.undo import write_summary_event

            write_summary_event(
                self.t, self.app.id, self.rt.key, self.actor, result.counts,
                self.file_name or self.path.name,
            )  # fmt: skip
        return result

    def _undo(self) -> None:
        from tessera.dataio.undo import undo_import

        undo_import(self.t, self.app.id, self.actor.ref, self.actor, force=True)

    def _pass(self, *, write: bool) -> Result:
        result = Result(written=write)
        self._seen_keys: dict[tuple, dict[tuple, int]] = {k: {} for k in self.keys}
        self._seen_unique: dict[str, dict[Any, int]] = {}
        self._indexes: dict[tuple, dedupe.KeyIndex | None] = {}
        for batch in self._batches():
            if self.cancelled():
                raise Cancelled("the import was cancelled")
            rows = [Row(n, cells) for n, cells in batch]
            self._prepare(rows, validate=not write)
            if write and not self.options.skip_invalid and any(r.errors for r in rows):
                bad = next(r for r in rows if r.errors)
                raise FileProblem(f"row {bad.number} was refused while writing; nothing imported")
            if write:
                self._write(rows)
            self._tally(rows, result, write)
            result.fraction = self.fraction
            self.progress(result.counts["rows"], result)
        if result.counts["rows"] == 0:
            raise FileProblem("the file has a header row but no data rows")
        return result

    def _batches(self):
        table = open_table(
            self.path,
            encoding=self.options.encoding,
            sheet=self.options.sheet,
            max_bytes=self.max_bytes,
            name=self.file_name,
        )
        try:
            self._bind_columns(table.headers)
            batch: list = []
            for item in table.rows:
                batch.append(item)
                if len(batch) >= int(self.options.batch_size):
                    self.fraction = table.done()
                    yield batch
                    batch = []
            self.fraction = 1.0
            if batch:
                yield batch
        finally:
            table.close()

    def _bind_columns(self, headers: list[str]) -> None:
        problems = mapping.check(self.rt, headers, self.options.mapping)
        problems += self.options.problems()
        if problems:
            raise FileProblem("; ".join(problems))
        self.headers = headers
        self._memo = {
            key: {} for key in self.options.mapping.values() if key and
            self.rt.field(key).type in MEMO_TYPES
        }  # fmt: skip
        self.columns = [
            (headers.index(col), col, self.rt.field(key))
            for col, key in self.options.mapping.items()
            if key
        ]

    # -- one batch ----------------------------------------------------------------------
    def _prepare(self, rows: list[Row], *, validate: bool = True) -> None:
        """Parse, resolve links, match; ``validate``: ask the service to check the batch.

        A writing pass skips the separate check: the write itself refuses bad rows
        (reported and left out with skip_invalid; the whole import undone otherwise).
        """
        for row in rows:
            self._parse(row)
        with self.t.engine.connect() as conn:
            self._resolve_links(conn, rows)
            self._match(conn, rows)
        # a writing pass checks only rows already refused, so their report is complete
        self._validate(rows if validate else [r for r in rows if r.errors])
        self._unique_across_batches(rows)

    def _parse(self, row: Row) -> None:
        width = len(self.headers)
        extra = [c for c in row.cells[width:] if c is not None and str(c).strip()]
        if extra:
            row.error("_row", f"has {width + len(extra)} cells but the header names {width}")
        for index, _header, f in self.columns:
            cell = row.cells[index] if index < len(row.cells) else None
            if f.type in LINKS:
                texts = cell_list(cell) if f.type == "link_many" else cell_text(cell)
                if texts:
                    row.texts[f.key] = texts
                continue
            memo = self._memo.get(f.key)
            hit = memo.get(cell, _MISS) if memo is not None and isinstance(cell, str) else _MISS
            if hit is _MISS:
                try:
                    hit = for_field(f).from_cell(f, cell)
                except FieldValueError as exc:
                    hit = _Refused(str(exc))
                if memo is not None and isinstance(cell, str) and len(memo) < MEMO_MAX:
                    memo[cell] = hit
            if isinstance(hit, _Refused):
                row.error(f.key, hit.message)
            elif hit is not None:
                row.values[f.key] = hit

    def _resolve_links(self, conn, rows: list[Row]) -> None:
        for _, _, f in self.columns:
            if f.type not in LINKS:
                continue
            by = self.options.link_by.get(f.key) or ("username" if f.type == "user" else "title")
            wanted = {t for r in rows for t in _as_list(r.texts.get(f.key))}
            if not wanted:
                continue
            try:
                found = refs.lookup(conn, self.t.registry, self.app, f, by, wanted)
                _, _, target_field = refs.target_column(self.t.registry, self.app, f, by)
            except ValueError as exc:
                raise FileProblem(f"{f.key}: {exc}") from None
            for row in rows:
                self._link_row(row, f, by, found, target_field)

    def _link_row(self, row: Row, f, by: str, found: dict, target_field) -> None:
        texts = row.texts.get(f.key)
        if not texts:
            return
        ids = []
        for text in _as_list(texts):
            hits = found.get(refs._normal(target_field, text, by), [])
            what = "user" if f.type == "user" else f.opt("to")
            if len(hits) == 1:
                ids.append(hits[0])
            elif hits:
                shown = ", ".join(f"#{i}" for i in hits[:5])
                row.error(f.key, f'{len(hits)} {what} records have {by} "{text}" ({shown})')
            elif self.options.create_missing and f.type != "user" and by == "title":
                row.pending.setdefault(f.key, []).append(text)
            else:
                hint = "" if f.type == "user" else " (or allow creating missing ones)"
                row.error(f.key, f'no {what} with {by} "{text}"{hint}')
        if f.key not in row.errors and ids:
            row.values[f.key] = ids if f.type == "link_many" else ids[0]

    def _match(self, conn, rows: list[Row]) -> None:
        if not self.keys:
            return
        matches: dict[int, set[int]] = {}
        for key in self.keys:
            keyed = [(r, dedupe.row_key(self.rt, key, r.values)) for r in rows]  # once per row
            wanted = {k for _, k in keyed if k is not None}
            found = self._existing(conn, key, wanted) if wanted else {}
            seen = self._seen_keys[key]
            for row, k in keyed:
                if k is None:
                    continue
                matches.setdefault(row.number, set()).update(found.get(k, ()))
                first = seen.setdefault(k, row.number)
                if first != row.number and self.options.on_match != "create" and not row.note:
                    row.action, row.note = "skip", f"same {'+'.join(key)} as row {first}"
        for row in rows:
            self._decide(row, sorted(matches.get(row.number, ())))

    def _existing(self, conn, key: tuple[str, ...], wanted: set) -> dict:
        """Stored records with these keys: from the pass's key index, else by SQL."""
        if key not in self._indexes:
            limit = self.t.config.get("IMPORT_MATCH_INDEX_MAX")
            limit = MATCH_INDEX_MAX if limit is None else int(limit)
            self._indexes[key] = dedupe.KeyIndex.build(conn, self.rt, self.table, key, limit)
        index = self._indexes[key]
        if index is not None:
            return index.lookup(wanted)
        return dedupe.find_existing(conn, self.rt, self.table, key, wanted)

    def _decide(self, row: Row, ids: list[int]) -> None:
        if row.action == "skip" or not ids or self.options.on_match == "create":
            return
        shown = ", ".join(f"#{i}" for i in ids[:5])
        if self.options.on_match == "skip":
            row.action, row.note = "skip", f"matches existing {self.rt.key} {shown}"
        elif len(ids) > 1:
            row.error("_row", f"matches {len(ids)} existing {self.rt.key} records ({shown})")
        else:
            row.action, row.target = "update", ids[0]

    def _raw(self, row: Row) -> dict[str, Any]:
        return {k: v for k, v in row.values.items() if k not in row.errors}

    def _validate(self, rows: list[Row]) -> None:
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        records = self.t.records
        app, rt = self.app.id, self.rt.key
        self._service_errors(
            creates,
            lambda raws: records.bulk_create(app, rt, raws, self.actor, dry_run=True),
            lambda r: self._raw(r),
        )
        self._service_errors(
            updates,
            lambda pairs: records.bulk_update(app, rt, pairs, self.actor, dry_run=True),
            lambda r: (r.target, self._raw(r)),
        )

    def _service_errors(self, rows: list[Row], call, shape) -> None:
        if not rows:
            return
        try:
            call([shape(r) for r in rows])
        except ValidationFailed as exc:
            for index, errs in (getattr(exc, "rows", None) or {}).items():
                row = rows[int(index)]
                for key, messages in errs.items():
                    if key in row.errors or key in row.pending:
                        continue  # already reported, or a link created on import
                    if key in row.texts and messages == ["required"]:
                        continue
                    for m in messages:
                        row.error(key, m)

    def _unique_across_batches(self, rows: list[Row]) -> None:
        for f in self.rt.fields:
            if not f.unique:
                continue
            seen = self._seen_unique.setdefault(f.key, {})
            for row in rows:
                value = row.values.get(f.key)
                if value is None or row.action == "skip" or f.key in row.errors:
                    continue
                try:
                    value = for_field(f).coerce(f, value)
                except FieldValueError:
                    continue
                first = seen.setdefault(value, row.number)
                if first != row.number:
                    row.error(f.key, f"{value} is also in row {first} of this file")

    # -- writing ------------------------------------------------------------------------
    def _write(self, rows: list[Row]) -> None:
        good = [r for r in rows if not r.errors and r.action != "skip"]
        if not good:
            return
        self._create_pending_links(good)
        events = self.options.workflows == "per_row"
        creates = [r for r in good if r.action == "create"]
        updates = [r for r in good if r.action == "update"]
        app, rt = self.app.id, self.rt.key
        records = self.t.records
        self._write_rows(
            creates, lambda rs: records.bulk_create(app, rt, rs, self.actor, events=events), False
        )
        self._write_rows(
            updates, lambda rs: records.bulk_update(app, rt, rs, self.actor, events=events), True
        )

    def _write_rows(self, rows: list[Row], call, update: bool) -> None:
        """Write; with skip_invalid, rows refused now (a race) are reported, the rest retried."""
        for _attempt in range(3):
            if not rows:
                return
            try:
                call([(r.target, self._raw(r)) if update else self._raw(r) for r in rows])
                return
            except ValidationFailed as exc:
                if not self.options.skip_invalid:
                    raise FileProblem(f"a row was refused while writing: {exc}") from None
                bad = {int(i) for i in (getattr(exc, "rows", None) or {})}
                for i in bad:
                    for key, messages in exc.rows[str(i)].items():
                        for m in messages:
                            rows[i].error(key, m)
                rows = [r for i, r in enumerate(rows) if i not in bad]
        raise FileProblem("rows kept being refused while writing (concurrent changes?)")

    def _create_pending_links(self, rows: list[Row]) -> None:
        for _, _, f in self.columns:
            texts = list(dict.fromkeys(t for r in rows for t in r.pending.get(f.key, ())))
            if not texts:
                continue
            target = self.app.record_type(f.opt("to"))
            created = self.t.records.bulk_create(
                self.app.id, target.key, [{target.title: t} for t in texts], self.actor
            )
            ids = {t: c["id"] for t, c in zip(texts, created, strict=True)}
            self.links_created = getattr(self, "links_created", 0) + len(ids)
            for row in rows:
                if f.key in row.pending:
                    new = [ids[t] for t in row.pending[f.key]]
                    if f.type == "link_many":
                        row.values[f.key] = list(row.values.get(f.key) or []) + new
                    else:
                        row.values[f.key] = new[0]

    # -- report -------------------------------------------------------------------------
    def _tally(self, rows: list[Row], result: Result, write: bool) -> None:
        counts = result.counts
        counts["rows"] += len(rows)
        column_of = {f.key: header for _, header, f in self.columns}
        for row in rows:
            if row.errors:
                counts["refused"] += 1
                for key, messages in row.errors.items():
                    for m in messages:
                        self._report(result, row, key, column_of, m)
            elif row.action == "skip":
                counts["skipped"] += 1
                if len(result.notes) < REPORT_CAP:
                    result.notes.append({"row": row.number, "message": row.note})
            else:
                counts["created" if row.action == "create" else "updated"] += 1
        pending = {t for r in rows if not r.errors for ts in r.pending.values() for t in ts}
        if write:
            counts["links_created"] = getattr(self, "links_created", 0)
        else:
            counts["links_created"] += len(pending)

    def _report(self, result: Result, row: Row, key: str, column_of: dict, message: str) -> None:
        if len(result.problems) >= REPORT_CAP:
            return
        column = column_of.get(key)
        index = self.headers.index(column) if column in self.headers else None
        value = row.cells[index] if index is not None and index < len(row.cells) else None
        result.problems.append(
            {
                "row": row.number,
                "column": column,
                "field": None if key == "_row" else key,
                "value": None if value is None else str(value),
                "message": message,
            }
        )


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def format_problem(p: dict[str, Any]) -> str:
    """``row 7, column "Phone" (phone): not a valid phone number``."""
    where = f"row {p['row']}"
    if p.get("column"):
        where += f', column "{p["column"]}" ({p["field"]})'
    elif p.get("field"):
        where += f" ({p['field']})"
    return f"{where}: {p['message']}"
