"""Lists of records: filter + sort + keyset/offset pagination + search, and aggregates.

Sorting is multi-key with NULLs last in both directions and ``id`` as the final tie
breaker, so keyset cursors are stable. A first page never needs an exact COUNT(*):
``total`` is counted up to :data:`COUNT_CAP` rows and reported as an estimate beyond.

Search (``q``) is a case-insensitive substring match over the record type's text
fields; it is isolated in :func:`search_condition` so PostgreSQL full-text search and
SQLite FTS5 can replace it without touching callers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from tessera.access.rules import rights, strip, visible_app
from tessera.errors import BadRequest, FieldValueError
from tessera.fields import for_field, polylinks
from tessera.meta.children import expand
from tessera.meta.model import SEARCHABLE, App, RecordType
from tessera.query import buckets, conditions
from tessera.query.policy import principal, scoped_select
from tessera.storage import search
from tessera.storage.naming import SYSTEM_COLUMNS

MAX_LIMIT = 500
COUNT_CAP = 10_000
SYSTEM_SORTABLE = {"id", "created_at", "updated_at", "version"}
BUCKETS = buckets.BUCKETS
MEASURES = ("count", "sum", "avg", "min", "max")


@dataclass
class Page:
    """One page of a list."""

    rows: list[dict[str, Any]]
    next_cursor: str | None = None
    total: int | None = None
    total_is_estimate: bool = False
    expanded: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY key: a column and a direction."""

    field: str
    desc: bool = False


class Queries:
    """Read side over a registry; every query goes through the access policy."""

    def __init__(self, registry, records, clock: Callable[[], datetime] | None = None):
        self.registry = registry
        self.records = records
        self.clock = clock or (lambda: datetime.now(UTC))

    def list(
        self,
        app_id: str,
        rt_key: str,
        *,
        filter: dict | None = None,
        sort: Any = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int | None = None,
        q: str | None = None,
        fields: list[str] | None = None,
        expand: list[str] | None = None,
        user_id: Any = None,
        with_total: bool = False,
        zone: tzinfo | None = None,
    ) -> Page:
        """A page of records matching ``filter`` and ``q``, ordered by ``sort``.

        ``user_id`` (an id, a Principal, or None for the system) scopes the rows, and
        fields that user may not read are neither returned nor usable in filter,
        sort, search, ``fields`` or ``expand`` (they are reported as unknown).
        ``zone`` is the reader's time zone: relative dates ("today", "this week") in a
        filter are their days there (default: UTC).
        """
        app, rt, table = self.records.resolve(app_id, rt_key)
        who = principal(self.registry.engine, user_id)
        seen_app = visible_app(app, who)
        seen_rt = seen_app.record_type(rt_key)
        limit = _limit(limit)
        keys = parse_sort(seen_rt, sort)
        where = self.where(seen_app, seen_rt, table, filter=filter, q=q, user_id=who, zone=zone)
        query = scoped_select(app, rt, table, who, *_columns(seen_rt, table, fields, keys))
        query = query.where(*where)
        if cursor:
            query = query.where(_after(rt, table, keys, decode_cursor(cursor, len(keys))))
        skip = 0 if cursor or not offset else _offset(offset)
        dialect = self.registry.engine.dialect.name
        filled = self._rejects_empty(app, rt, filter, user_id, keys[0].field, zone)
        query = _paged(query, table, keys, limit + 1, skip, dialect, filled)
        with self.registry.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            more = len(rows) > limit
            rows = self.records.attach(conn, app, rt, rows[:limit], who)
            page = Page(rows, encode_cursor(rt, keys, rows[-1]) if more and rows else None)
            if with_total:
                page.total, page.total_is_estimate = self._count(conn, app, rt, table, where, who)
            page.expanded = self._expand(conn, app, seen_rt, rows, expand or [], who)
        seen_rights = rights(app, rt, who)  # once, not per row
        page.rows = [strip(seen_rights, r) for r in rows]
        return page

    def now(self, zone: tzinfo | None = None, now: datetime | None = None) -> datetime:
        """``now`` (default: the clock's moment), in ``zone`` when given (relative dates
        are that zone's days)."""
        moment = now or self.clock()
        return moment.astimezone(zone) if zone is not None else moment

    def where(
        self,
        app: App,
        rt: RecordType,
        table: sa.Table,
        *,
        filter=None,
        q=None,
        user_id=None,
        zone: tzinfo | None = None,
        now: datetime | None = None,
    ) -> list:
        """The WHERE clauses for a filter and a search text (validated; BadRequest).

        Pass the app and record type as the user sees them (:func:`visible_app`), so a
        hidden field in a filter or the search is unknown; ``user_id`` is ``$me``.
        """
        if user_id is not None and not isinstance(user_id, int):
            user_id = user_id.user_id  # a Principal
        clauses = []
        if filter:
            problems = conditions.check(filter, rt, app, "filter")
            if problems:
                raise BadRequest(
                    "bad filter: " + "; ".join(str(p) for p in problems),
                    {p.path: [p.message] for p in problems},
                )
            clauses.append(
                conditions.to_sql(
                    filter, rt, app, self._tables(app), me=user_id, now=self.now(zone, now)
                )
            )
        if q:
            dialect = self.registry.engine.dialect.name
            installed = self.registry.apps[app.id].record_type(rt.key).search
            # the search index holds every declared field: not usable when some are hidden
            indexed = rt.search == installed
            clauses.append(search_condition(rt, table, q, dialect, indexed=indexed))
        return clauses

    def _rejects_empty(self, app: App, rt: RecordType, filter, user_id, key: str, zone) -> bool:
        # The filter was checked by where(); compiling it again is cheap and cannot fail.
        if not filter:
            return False
        compiled = conditions.compile(filter, rt, app, me=user_id, now=self.now(zone))
        return compiled.rejects_empty(key)

    def _tables(self, app: App) -> dict[str, sa.Table]:
        # child tables too: a condition on items.product looks into the rows' table
        return {rt.key: self.registry.table(app.id, rt.key) for rt in expand(app).record_types}

    def _count(self, conn, app, rt, table, where, user_id) -> tuple[int, bool]:
        inner = scoped_select(app, rt, table, user_id, table.c.id).where(*where)
        capped = inner.limit(COUNT_CAP + 1).subquery()
        n = conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()
        return (n, False) if n <= COUNT_CAP else (_estimate(conn, table, n), True)

    def _expand(self, conn, app, rt, rows, expand, who=None) -> dict[str, dict[int, dict]]:
        """Linked records by link field, read through the policy (unreadable ones left out)."""
        out = {}
        for key in expand:
            if rt.has_field(key) and rt.field(key).type == "poly_link":
                out[key] = self._expand_poly(conn, app, rt.field(key), rows, who)
                continue
            if not rt.has_field(key) or rt.field(key).type != "link":
                raise BadRequest(
                    f"expand: {key!r} is not a link field of {rt.key}",
                    {"expand": [f"{key!r} is not a link field of {rt.key}"]},
                )
            target_rt = app.record_type(rt.field(key).opt("to"))
            target = self.registry.table(app.id, target_rt.key)
            ids = {r[key] for r in rows if r.get(key) is not None}
            found = []
            if ids:
                query = scoped_select(app, target_rt, target, who).where(target.c.id.in_(ids))
                found = [dict(r) for r in conn.execute(query).mappings()]
                found = self.records.attach(conn, app, target_rt, found, who)
            r = rights(app, target_rt, who)
            out[key] = {row["id"]: strip(r, row) for row in found}
        return out

    def _expand_poly(self, conn, app, f, rows, who=None) -> dict[str, dict]:
        """Records a polymorphic link points at, by stored value (``customer:3``)."""
        by_type: dict[str, set[int]] = {}
        for r in rows:
            parts = polylinks.split(r.get(f.key))
            if parts and app.has_record_type(parts[0]):
                by_type.setdefault(parts[0], set()).add(parts[1])
        out: dict[str, dict] = {}
        for rt_key, ids in by_type.items():
            target_rt = app.record_type(rt_key)
            target = self.registry.table(app.id, rt_key)
            query = scoped_select(app, target_rt, target, who).where(target.c.id.in_(ids))
            found = [dict(r) for r in conn.execute(query).mappings()]
            found = self.records.attach(conn, app, target_rt, found, who)
            r = rights(app, target_rt, who)
            for row in found:
                out[polylinks.join(rt_key, row["id"])] = strip(r, row)
        return out

    def aggregate(
        self,
        app_id: str,
        rt_key: str,
        *,
        group_by: str | None = None,
        bucket: str | None = None,
        measures: list[tuple[str, str | None]] = (("count", None),),
        filter: dict | None = None,
        q: str | None = None,
        user_id: Any = None,
        zone: tzinfo | None = None,
        series: str | None = None,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Grouped aggregates for charts and kanban counts: [{group, count, sum_amount}].

        ``bucket`` (day, week, month, quarter, year) groups a date or datetime field by
        period, each named by its first day (``2026-04-01``); ``series`` adds a second
        grouping column (``series`` in each row). ``now`` resolves relative dates in the
        filter (default: the clock), so a KPI can ask for the previous period.
        Scoped like :meth:`list`: only rows the user may read, and a hidden field can be
        neither grouped nor measured.
        """
        app, rt, table = self.records.resolve(app_id, rt_key)
        who = principal(self.registry.engine, user_id)
        seen_app = visible_app(app, who)
        seen = seen_app.record_type(rt_key)
        where = self.where(
            seen_app, seen, table, filter=filter, q=q, user_id=who, zone=zone, now=now
        )
        cols = [_measure(seen, table, fn, key) for fn, key in measures]
        dialect = self.registry.engine.dialect.name
        groups = []
        if group_by:
            groups.append(_group_expr(seen, table, group_by, bucket, dialect).label("group"))
        if series:
            groups.append(_group_expr(seen, table, series, None, dialect, "series"))
        query = scoped_select(app, rt, table, who, *groups, *cols).where(*where)
        if groups:
            query = query.group_by(*groups).order_by(*groups)
        with self.registry.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]


# -- sorting and cursors ----------------------------------------------------------------
def parse_sort(rt: RecordType, sort: Any) -> list[SortKey]:
    """Sort keys from "-amount,name" or [{field, dir}], validated, with ``id`` last."""
    items = _sort_items(sort)
    keys = []
    for i, (name, desc) in enumerate(items):
        path = f"sort[{i}]"
        if name not in SYSTEM_SORTABLE and not (rt.has_field(name) and _sortable(rt.field(name))):
            raise BadRequest(
                f"{path}: cannot sort by {name!r} — not a sortable field of {rt.key}",
                {path: [f"unknown or unsortable field {name!r}"]},
            )
        keys.append(SortKey(name, desc))
    if not any(k.field == "id" for k in keys):
        keys.append(SortKey("id"))
    return keys


def _sort_items(sort: Any) -> list[tuple[str, bool]]:
    if sort in (None, "", []):
        return []
    if isinstance(sort, str):
        parts = [p.strip() for p in sort.split(",") if p.strip()]
        return [(p.lstrip("-+"), p.startswith("-")) for p in parts]
    if isinstance(sort, list | tuple):
        out = []
        for i, item in enumerate(sort):
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("field"), str)
                or item.get("dir", "asc") not in ("asc", "desc")
            ):
                raise BadRequest(
                    f"sort[{i}]: expected {{field, dir: asc|desc}}",
                    {f"sort[{i}]": ["expected {field, dir: asc|desc}"]},
                )
            out.append((item["field"], item.get("dir") == "desc"))
        return out
    raise BadRequest(
        'sort: expected "-field,field" or a list of {field, dir}', {"sort": ["bad sort"]}
    )


def _sortable(f) -> bool:
    ft = for_field(f)
    return ft.stored and f.type not in ("multi_select", "attachment", "link_many", "long_text")


def _paged(
    query,
    table: sa.Table,
    keys: list[SortKey],
    n: int,
    skip: int,
    dialect: str,
    filled: bool = False,
):
    """``query`` ordered by ``keys`` (NULLs last), ``skip`` rows skipped, ``n`` rows kept.

    PostgreSQL reads a btree index backwards as DESC NULLS FIRST, so a first key of
    DESC NULLS LAST would sort every match. There the query is split into the rows
    with a value (index order, stops early) and those without, each limited, then
    merged: a few hundred rows sorted instead of the whole table. When the filter
    already excludes empty values of the first key (``filled``), only the first half
    is needed, and plain DESC (which then means the same) reads the index directly.
    """
    first = keys[0]
    if dialect != "postgresql" or not first.desc or first.field == "id":
        return query.order_by(*_order(table, keys)).offset(skip or None).limit(n)
    col, rest = table.c[first.field], _order(table, keys[1:])
    if filled:
        return query.order_by(col.desc(), *rest).offset(skip or None).limit(n)
    span = n + skip
    filled = query.where(col.is_not(None)).order_by(col.desc(), *rest).limit(span).subquery()
    empty = query.where(col.is_(None)).order_by(*rest).limit(span).subquery()
    both = sa.union_all(sa.select(filled), sa.select(empty)).subquery()
    return sa.select(both).order_by(*_order(both, keys)).offset(skip or None).limit(n)


def _order(table: sa.Table, keys: list[SortKey]) -> list:
    out = []
    for k in keys:
        col = table.c[k.field]
        out.append((col.desc() if k.desc else col.asc()).nulls_last())
    return out


def encode_cursor(rt: RecordType, keys: list[SortKey], row: dict) -> str:
    """An opaque cursor holding the last row's sort values."""
    values = [_json_value(rt, k.field, row.get(k.field)) for k in keys]
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str, n: int) -> list:
    """The values packed by :func:`encode_cursor`; BadRequest when tampered with."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, RecursionError):
        values = None
    scalar = (str, int, float, bool, type(None))
    if (
        not isinstance(values, list)
        or len(values) != n
        or not all(isinstance(v, scalar) for v in values)
    ):
        raise BadRequest(
            "cursor: not a cursor from this list (sort changed?) — start from the first page",
            {"cursor": ["invalid cursor"]},
        )
    return values


def _json_value(rt, key, value):
    if value is None:
        return None
    if key in SYSTEM_COLUMNS:
        return value.isoformat() if isinstance(value, datetime) else value
    f = rt.field(key)
    return for_field(f).to_json(f, value)


def _cursor_value(rt, key, raw):
    if raw is None:
        return None
    try:
        if key in ("created_at", "updated_at"):
            return datetime.fromisoformat(raw)
        if key in SYSTEM_COLUMNS:
            return int(raw)
        f = rt.field(key)
        return for_field(f).coerce(f, raw)
    except (FieldValueError, ValueError, TypeError):
        raise BadRequest(
            "cursor: not a cursor from this list", {"cursor": ["invalid cursor"]}
        ) from None


def _after(rt, table, keys: list[SortKey], raw_values: list):
    """Rows strictly after the cursor in (sort keys, NULLs last) order."""
    values = [_cursor_value(rt, k.field, v) for k, v in zip(keys, raw_values, strict=True)]
    ors = []
    for i, k in enumerate(keys):
        eqs = [_eq(table.c[p.field], values[j]) for j, p in enumerate(keys[:i])]
        col, v = table.c[k.field], values[i]
        if v is None:
            continue  # nothing sorts after NULL on this key (NULLs last)
        beyond = sa.or_(col < v if k.desc else col > v, col.is_(None))
        ors.append(sa.and_(*eqs, beyond))
    return sa.or_(*ors) if ors else sa.false()


def _eq(col, value):
    return col.is_(None) if value is None else col == value


# -- search, counting, aggregates -----------------------------------------------------
def search_condition(
    rt: RecordType, table: sa.Table, q: str, dialect: str | None = None, *, indexed: bool = True
):
    """Case-insensitive substring match of ``q`` over the declared (or every) text field.

    Declared search fields are indexed: on PostgreSQL ILIKE uses their trigram indexes;
    on SQLite a query of three or more characters goes through the FTS5 trigram table
    (shorter ones, which have no trigram, scan with LIKE). ``indexed=False`` (some
    declared fields are hidden from the user) always scans the given fields with LIKE.
    """
    if rt.search and indexed and dialect == "sqlite" and len(q) >= 3:
        return table.c.id.in_(search.match_ids(table, q))
    keys = rt.search or [f.key for f in rt.fields if f.type in SEARCHABLE]
    cols = [table.c[k] for k in keys]
    if not cols:
        return sa.false()
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(*(c.ilike(pattern, escape="\\") for c in cols))


def _estimate(conn, table: sa.Table, at_least: int) -> int:
    if conn.dialect.name == "postgresql":
        est = conn.execute(
            sa.text("SELECT reltuples::bigint FROM pg_class WHERE relname = :t"), {"t": table.name}
        ).scalar()
        if est and est > at_least:
            return int(est)
    return at_least


def _limit(limit: Any) -> int:
    try:
        n = int(limit)
    except (TypeError, ValueError):
        n = -1
    if not 1 <= n <= MAX_LIMIT:
        raise BadRequest(
            f"limit: must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}",
            {"limit": [f"must be 1..{MAX_LIMIT}"]},
        )
    return n


def _offset(offset: Any) -> int:
    try:
        n = int(offset)
    except (TypeError, ValueError):
        n = -1
    if n < 0:
        raise BadRequest(
            f"offset: must be a whole number ≥ 0, got {offset!r}", {"offset": ["must be ≥ 0"]}
        )
    return n


def _columns(rt: RecordType, table: sa.Table, fields: list[str] | None, keys: list[SortKey]):
    if not fields:
        return [table]
    unknown = [f for f in fields if f not in SYSTEM_COLUMNS and not rt.has_field(f)]
    if unknown:
        raise BadRequest(
            f"fields: unknown field(s) {', '.join(map(repr, unknown))} on {rt.key}",
            {"fields": [f"unknown field {u!r}" for u in unknown]},
        )
    wanted = dict.fromkeys(["id", "version", *(k.field for k in keys), *fields])
    return [table.c[k] for k in wanted if k in table.c]


def _measure(rt: RecordType, table: sa.Table, fn: str, key: str | None):
    if fn not in MEASURES:
        raise BadRequest(f"aggregate: unknown function {fn!r}", {"aggregate": [fn]})
    if fn == "count":
        return sa.func.count().label("count")
    if key not in table.c or not rt.has_field(key):
        raise BadRequest(
            f"aggregate: {fn} needs a stored field of {rt.key}, got {key!r}",
            {"aggregate": [f"unknown field {key!r}"]},
        )
    return getattr(sa.func, fn)(table.c[key]).label(f"{fn}_{key}")


def _group_expr(rt, table, group_by, bucket, dialect: str, what: str = "group_by"):
    if group_by not in table.c or not rt.has_field(group_by):
        raise BadRequest(
            f"{what}: {group_by!r} is not a stored field of {rt.key}",
            {what: [f"unknown field {group_by!r}"]},
        )
    col = table.c[group_by]
    if not bucket:
        return col.label("group" if what == "group_by" else what)
    if bucket not in buckets.BUCKETS:
        raise BadRequest(
            f"bucket: must be one of {', '.join(buckets.BUCKETS)}", {"bucket": [str(bucket)]}
        )
    kind = rt.field(group_by).type
    if kind not in ("date", "datetime"):
        raise BadRequest(
            f"bucket: {group_by!r} is a {kind} field; only date and datetime fields have periods",
            {"bucket": [f"{group_by!r} is not a date"]},
        )
    return buckets.start_expr(col, bucket, dialect, kind == "datetime")
