"""The records service: the only code that writes record rows.

create / update / delete / bulk_create clean and validate values per field type,
check links and unique values, compute formulas and rollups, run the record type's
validation rules, and write the row with its audit entry and outbox event in one
transaction. Web, API, imports and workflows all come through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import sqlalchemy as sa

from tessera.access.rules import rights, strip
from tessera.errors import Conflict, FieldValueError, NotFound, ValidationFailed
from tessera.fields import for_field, polylinks
from tessera.messages import Label, Msg, field_label
from tessera.meta.children import PARENT, child_record_type, child_types, find_child
from tessera.meta.model import App, RecordType
from tessera.query import conditions
from tessera.query.policy import principal, scoped_select
from tessera.records import behaviour, log, refs
from tessera.records import rows as table_rows
from tessera.records.actor import SYSTEM, Actor
from tessera.records.guard import Guard, guard_for
from tessera.records.impact import Blockers, DeleteImpact, Tally
from tessera.records.values import Errors, clean_input, compute_formulas
from tessera.storage.system import reserve_sequence, users

MAX_CASCADE = 10_000


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class Records:
    """Record reads and writes for every installed app of a registry."""

    def __init__(self, registry, clock: Callable[[], datetime] = utcnow):
        self.registry = registry
        self.clock = clock
        #: called with no arguments after every committed write (the automation relay
        #: uses it to move outbox events promptly; it never sees uncommitted data)
        self.after_commit: list[Callable[[], None]] = []

    def _committed(self, conn: sa.Connection | None = None) -> None:
        if conn is not None:  # the caller's transaction: the caller commits and notifies
            return
        for callback in self.after_commit:
            callback()

    def _tx(self, conn: sa.Connection | None):
        """The caller's open transaction (``conn=``), or a new one committed on exit."""
        return nullcontext(conn) if conn is not None else self.registry.engine.begin()

    # -- lookup helpers ---------------------------------------------------------------
    def resolve(self, app_id: str, rt_key: str) -> tuple[App, RecordType, sa.Table]:
        """(App, RecordType, Table) for a path, or NotFound naming what is missing."""
        app = self.registry.apps.get(app_id)
        if app is None:
            raise NotFound(Msg("no app “%(app)s” is installed", app=app_id))
        if not app.has_record_type(rt_key):
            raise NotFound(Msg("app “%(app)s” has no record type “%(rt)s”", app=app_id, rt=rt_key))
        return app, app.record_type(rt_key), self.registry.table(app_id, rt_key)

    # -- reads ------------------------------------------------------------------------
    def get(self, app_id: str, rt_key: str, record_id: int, user_id: Any = None) -> dict[str, Any]:
        """One record as a dict of Python values (lookups and link_many included).

        Reads go through the access policy like every list does: a record the user may
        not see is reported as not found, and fields they may not read are left out.
        ``user_id`` is a user id, a Principal, or None (the system: everything).
        """
        app, rt, table = self.resolve(app_id, rt_key)
        with self.registry.engine.connect() as conn:
            who = principal(conn, user_id)
            query = scoped_select(app, rt, table, who).where(table.c.id == record_id)
            row = conn.execute(query).mappings().first()
            if row is None:
                raise NotFound(_missing(rt, record_id))
            found = self.attach(conn, app, rt, [dict(row)], who)[0]
            return strip(rights(app, rt, who), found)

    def visible(self, app_id: str, rt_key: str, row: dict, user_id: Any) -> dict[str, Any]:
        """``row`` without the fields ``user_id`` may not read (for echoing a write back)."""
        app, rt, _table = self.resolve(app_id, rt_key)
        return strip(rights(app, rt, principal(self.registry.engine, user_id)), row)

    def attach(
        self, conn: sa.Connection, app: App, rt: RecordType, rows: list[dict], who: Any = None
    ) -> list[dict]:
        """Add lookup values and link_many id lists to rows, batch-loaded (no N+1).

        With a principal ``who``, a lookup shows only what they could read on the
        linked record itself (the record in scope, the field not hidden).
        """
        for f in rt.fields:
            if f.type == "lookup":
                self._attach_lookup(conn, app, rt, f, rows, who)
            elif f.type == "link_many":
                self._attach_many(conn, app, rt, f, rows)
            elif f.type == "table" and rows:
                table_rows.attach(conn, self.registry, app, rt, f, rows)
        return rows

    def _attach_lookup(self, conn, app, rt, f, rows, who=None) -> None:
        link = rt.field(f.opt("link"))
        target_rt = app.record_type(link.opt("to"))
        target = self.registry.table(app.id, target_rt.key)
        ids = {r[link.key] for r in rows if r.get(link.key) is not None}
        found = {}
        target_rights = rights(app, target_rt, who)
        if ids and not (target_rights and f.opt("field") in target_rights.hidden):
            col = target.c[f.opt("field")]
            query = scoped_select(app, target_rt, target, who, target.c.id, col)
            found = dict(conn.execute(query.where(target.c.id.in_(ids))).all())
        for r in rows:
            r[f.key] = found.get(r.get(link.key))

    def _attach_many(self, conn, app, rt, f, rows) -> None:
        junction = self.registry.junction(app.id, rt.key, f.key)
        ids = [r["id"] for r in rows]
        found: dict[int, list[int]] = {i: [] for i in ids}
        if ids:
            query = (
                sa.select(junction.c.source_id, junction.c.target_id)
                .where(junction.c.source_id.in_(ids))
                .order_by(junction.c.target_id)
            )
            for src, dst in conn.execute(query):
                found[src].append(dst)
        for r in rows:
            r[f.key] = found.get(r["id"], [])

    @staticmethod
    def _row(conn, table, record_id, lock: bool = False):
        query = sa.select(table).where(table.c.id == record_id)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return conn.execute(query).mappings().first()

    # -- create -----------------------------------------------------------------------
    def create(
        self,
        app_id: str,
        rt_key: str,
        raw: Mapping[str, Any],
        actor: Actor = SYSTEM,
        *,
        conn: sa.Connection | None = None,
    ) -> dict[str, Any]:
        """Create one record; raises ValidationFailed with per-field messages.

        ``conn``: write in the caller's open transaction (it commits; nothing is notified).
        """
        return self.bulk_create(app_id, rt_key, [raw], actor, _single=True, conn=conn)[0]

    def bulk_create(
        self,
        app_id: str,
        rt_key: str,
        rows: Iterable[Mapping[str, Any]],
        actor: Actor = SYSTEM,
        *,
        events: bool = True,
        dry_run: bool = False,
        _single: bool = False,
        conn: sa.Connection | None = None,
        at: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Create many records all-or-nothing; errors are keyed by row index.

        ``events=False`` writes the audit entries but no outbox events (an import that
        must not fire workflows per row). ``dry_run=True`` runs every check, raises the
        same ValidationFailed, and writes nothing (returns []). ``at`` records another
        moment than now as their creation (history loaded after the fact: sample data).
        """
        app, rt, table = self.resolve(app_id, rt_key)
        rows, ref_errors = self._resolve_refs(app, rt, list(rows))
        now = at or self.clock()
        cleaned, errors = self._clean_rows(rt, rows, creating=True, now=now, actor=actor)
        _merge(errors, ref_errors)
        outer = conn
        try:
            with self._tx(outer) as conn:
                guard = guard_for(conn, app, rt, actor)
                if guard:
                    self._guard_create(conn, guard, rows, cleaned, errors)
                self._check_refs(conn, app, rt, cleaned, errors)
                self._check_unique(conn, rt, table, cleaned, errors)
                self._finish_values(conn, app, rt, cleaned, errors, actor, now)
                if errors:
                    raise _failed(rt, errors, single=_single)
                if guard:
                    self._created_in_scope(conn, guard, cleaned)
                if dry_run:
                    return []
                created = self._insert(conn, app, rt, table, cleaned, actor, now, events)
                if guard:
                    created = [guard.strip(r) for r in created]
        except sa.exc.IntegrityError as exc:
            raise self._lost_race(rt, table, cleaned, exc, single=_single) from None
        self._committed(outer)
        return created

    def _guard_create(self, conn, guard: Guard, rows, cleaned, errors) -> None:
        guard.create(rows)
        for i, (values, many) in enumerate(cleaned):
            guard.own_by_default(values)
            errs = errors.get(i, {})
            guard.links_readable(conn, self.registry, values, many, errs)
            if errs:
                errors[i] = errs

    def _created_in_scope(self, conn, guard: Guard, cleaned) -> None:
        for values, many in cleaned:
            record = {**values, **many}
            reader = self._linked_reader(conn, guard.app, guard.rt, record)
            guard.created_in_scope(record, reader.load)

    def _resolve_refs(self, app, rt, rows: list) -> tuple[list, dict[int, Errors]]:
        """Link references by value (``{"by": "email", "value": ...}``) as ids (records/refs)."""
        if not refs.has_refs(rt, rows):
            return rows, {}
        return refs.resolve(self.registry, app, rt, rows)

    def _clean_rows(
        self, rt, rows, *, creating, now=None, actor: Actor = SYSTEM
    ) -> tuple[list, dict[int, Errors]]:
        cleaned, errors = [], {}
        for i, raw in enumerate(rows):
            if not isinstance(raw, Mapping):
                errors[i] = {"_record": ["must be an object of field values"]}
                cleaned.append(({}, {}))
                continue
            values, many, errs = clean_input(rt, raw, creating=creating, now=now, me=actor.user_id)
            if creating and behaviour.protected(rt):
                _merge_one(errs, behaviour.refusals(rt, raw, {**values, **many}, actor))
            cleaned.append((values, many))
            if errs:
                errors[i] = errs
        return cleaned, errors

    def _insert(self, conn, app, rt, table, cleaned, actor, now, events=True) -> list[dict]:
        self._number(conn, app, rt, [v for v, _ in cleaned], now)
        system = {
            "created_at": now,
            "updated_at": now,
            "created_by": actor.user_id,
            "updated_by": actor.user_id,
            "version": 1,
        }
        base = {**system, **_initial_rollups(rt)}
        params = [{**base, **values} for values, _ in cleaned]
        columns = set().union(*params)
        if any(len(p) != len(columns) for p in params):  # executemany needs the same keys
            params = [{c: p.get(c) for c in columns} for p in params]
        ids = _insert_rows(conn, table, params)
        for rid, (_, many) in zip(ids, cleaned, strict=True):
            if many:
                self._write_many(conn, app, rt, rid, many)
        entries = [
            (rid, log.created(rt, values, many))
            for rid, (values, many) in zip(ids, cleaned, strict=True)
        ]
        log.write_many(
            conn,
            app_id=app.id,
            rt_key=rt.key,
            entries=entries,
            action="create",
            actor=actor,
            at=now,
            events=events,
        )
        self._rollups(
            conn, app, rt, [(None, {**v, "id": i}) for i, (v, _) in zip(ids, cleaned, strict=True)]
        )
        return [
            {"id": rid, **row, **many}
            for rid, row, (_, many) in zip(ids, params, cleaned, strict=True)
        ]

    def _number(self, conn, app, rt, rows: list[dict], now: datetime) -> None:
        """Fill auto_number fields from a counter row locked by its own UPDATE.

        A naming series counts per period (``...@2026``): the counter row of the period
        the batch is created in is advanced in this same transaction, so concurrent
        writers each get their own numbers and a rollback gives them back.
        """
        for f in rt.fields:
            if f.type != "auto_number" or not rows:
                continue
            ft = for_field(f)
            name = ft.counter(f, f"{app.id}.{rt.key}.{f.key}", now)
            last = reserve_sequence(conn, name, len(rows), f.opt("start", 1))
            for offset, values in enumerate(rows):
                values[f.key] = ft.next_label(f, last - len(rows) + 1 + offset, now)

    # -- update -----------------------------------------------------------------------
    def update(
        self,
        app_id: str,
        rt_key: str,
        record_id: int,
        raw: Mapping[str, Any],
        actor: Actor = SYSTEM,
        *,
        version: int | None = None,
        conn: sa.Connection | None = None,
        deltas: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Change some fields of a record; ``version`` (if given) must be current.

        ``deltas`` ({field: number}) are added to the stored values of the row read
        under its lock (an atomic increment, audited like any change); ``conn``: write in
        the caller's open transaction (it commits; nothing is notified).
        """
        app, rt, table = self.resolve(app_id, rt_key)
        (raw,), ref_errors = self._resolve_refs(app, rt, [raw])
        values, many, errs = clean_input(rt, raw, creating=False)
        now = self.clock()
        cleaned, errors = [(values, many)], ({0: errs} if errs else {})
        _merge(errors, ref_errors)
        outer = conn
        try:
            with self._tx(outer) as conn:
                guard = guard_for(conn, app, rt, actor)
                if guard:
                    guard.existing(conn, table, record_id, "update")
                current = self._current(conn, app, rt, table, record_id, version)
                self._protect(rt, raw, values, many, actor, errors, 0, current)
                if deltas:
                    self._add_deltas(rt, current, deltas, values, errors)
                if guard:
                    self._guard_update(conn, guard, current, values, many, errors)
                self._check_refs(conn, app, rt, cleaned, errors)
                self._check_unique(conn, rt, table, cleaned, errors, exclude_id=record_id)
                self._finish_values(conn, app, rt, cleaned, errors, actor, now, current=current)
                if errors:
                    raise _failed(rt, errors, single=True)
                if guard:
                    merged = {**current, **values, **many}
                    reader = self._linked_reader(conn, app, rt, merged)
                    guard.updated_in_scope(conn, merged, reader.load)
                updated = self._apply_update(
                    conn, app, rt, table, current, values, many, actor, now
                )
                if guard:
                    updated = guard.strip(updated)
        except sa.exc.IntegrityError as exc:
            raise self._lost_race(
                rt, table, cleaned, exc, single=True, exclude_id=record_id
            ) from None
        self._committed(outer)
        return updated

    @staticmethod
    def _protect(rt, raw, values, many, actor, errors, i, current) -> None:
        """read_only / set_once fields a person tries to change (records/behaviour)."""
        if not behaviour.protected(rt) or not isinstance(raw, Mapping):
            return
        found = behaviour.refusals(rt, raw, {**values, **many}, actor, current)
        if found:
            _merge_one(errors.setdefault(i, {}), found)

    def _guard_update(self, conn, guard: Guard, current, values, many, errors) -> None:
        """Changed fields must be writable; changed links must point at readable records."""
        changed = {k: v for k, v in values.items() if current.get(k) != v}
        changed_many = _changed_many(current, many)
        guard.fields_writable([*changed, *changed_many])
        errs = errors.get(0, {})
        guard.links_readable(conn, self.registry, changed, changed_many, errs)
        if errs:
            errors[0] = errs

    def bulk_update(
        self,
        app_id: str,
        rt_key: str,
        changes: Iterable[tuple[int, Mapping[str, Any]]],
        actor: Actor = SYSTEM,
        *,
        events: bool = True,
        dry_run: bool = False,
    ) -> list[dict[str, Any]]:
        """Change many records all-or-nothing: ``[(id, {field: value})]``; errors by index.

        ``events`` and ``dry_run`` as for :meth:`bulk_create`.

        Set-based: the current rows are read in one query per 1,000 ids (locked on
        PostgreSQL), and rows changing the same fields are written by one executemany.
        """
        app, rt, table = self.resolve(app_id, rt_key)
        changes = list(changes)
        raws, ref_errors = self._resolve_refs(app, rt, [raw for _, raw in changes])
        cleaned, errors = self._clean_rows(rt, raws, creating=False)
        _merge(errors, ref_errors)
        now = self.clock()
        ids = [int(rid) for rid, _ in changes]
        try:
            with self.registry.engine.begin() as conn:
                currents = self._currents(conn, app, rt, table, ids, errors)
                for i, current in enumerate(currents):
                    if current is not None:
                        self._protect(rt, raws[i], *cleaned[i], actor, errors, i, current)
                guard = guard_for(conn, app, rt, actor)
                if guard:
                    self._guard_bulk_update(conn, guard, table, currents, cleaned, errors)
                self._check_refs(conn, app, rt, cleaned, errors)
                self._check_unique_many(conn, rt, table, cleaned, ids, errors)
                for i, current in enumerate(currents):
                    if current is not None and i not in errors:
                        one: dict[int, Errors] = {}
                        self._finish_values(
                            conn, app, rt, [cleaned[i]], one, actor, now, current=current
                        )
                        if one:
                            errors[i] = one[0]
                if errors:
                    raise _failed(rt, errors, single=False)
                if guard:
                    self._bulk_updated_in_scope(conn, guard, currents, cleaned)
                if dry_run:
                    return []
                updated = self._update_many(conn, app, rt, table, currents, cleaned, actor, now)
                self._write_update_log(conn, app, rt, currents, updated, actor, now, events)
        except sa.exc.IntegrityError as exc:
            raise self._lost_race(rt, table, cleaned, exc, single=False) from None
        self._committed()
        return [guard.strip(r) for r in updated] if guard else updated

    def _guard_bulk_update(self, conn, guard: Guard, table, currents, cleaned, errors) -> None:
        """Each record in the update scope, changed fields writable, links readable."""
        for i, (current, (values, many)) in enumerate(zip(currents, cleaned, strict=True)):
            if current is None:
                continue
            guard.existing(conn, table, current["id"], "update")
            one = {0: errors[i]} if i in errors else {}
            self._guard_update(conn, guard, current, values, many, one)
            if one:
                errors[i] = one[0]

    def _bulk_updated_in_scope(self, conn, guard: Guard, currents, cleaned) -> None:
        for current, (values, many) in zip(currents, cleaned, strict=True):
            merged = {**current, **values, **many}
            reader = self._linked_reader(conn, guard.app, guard.rt, merged)
            guard.updated_in_scope(conn, merged, reader.load)

    def _currents(self, conn, app, rt, table, ids, errors) -> list[dict | None]:
        found: dict[int, dict] = {}
        for start in range(0, len(ids), 1000):
            query = sa.select(table).where(table.c.id.in_(ids[start : start + 1000]))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            rows = [dict(r) for r in conn.execute(query).mappings()]
            found.update({r["id"]: r for r in self.attach(conn, app, rt, rows)})
        for i, rid in enumerate(ids):
            if rid not in found:
                errors.setdefault(i, {}).setdefault("_record", []).append(_missing(rt, rid))
        if len(set(ids)) != len(ids):
            seen: set[int] = set()
            for i, rid in enumerate(ids):
                if rid in seen:
                    errors.setdefault(i, {}).setdefault("_record", []).append(
                        Msg("%(rt)s #%(id)s is changed twice in one batch", rt=_rt(rt), id=rid)
                    )
                seen.add(rid)
        return [found.get(rid) for rid in ids]

    def _check_unique_many(self, conn, rt, table, cleaned, ids, errors) -> None:
        """Unique fields of a batch update: no clash with other stored rows nor in the batch."""
        for f in rt.fields:
            if not f.unique:
                continue
            by_value = _by_value(cleaned, f.key)
            owners: dict[Any, set[int]] = {}
            values = list(by_value)
            for start in range(0, len(values), 1000):
                col = table.c[f.key]
                query = sa.select(col, table.c.id).where(col.in_(values[start : start + 1000]))
                for value, rid in conn.execute(query):
                    owners.setdefault(value, set()).add(rid)
            _refuse_taken(
                errors,
                rt,
                f.key,
                by_value,
                lambda v, idxs, owners=owners: owners.get(v, set()) - {ids[i] for i in idxs},
            )

    def _update_many(self, conn, app, rt, table, currents, cleaned, actor, now) -> list[dict]:
        groups: dict[tuple[str, ...], list[dict]] = {}
        updated = []
        for current, (values, many) in zip(currents, cleaned, strict=True):
            changed = {k: v for k, v in values.items() if current.get(k) != v}
            changed_many = _changed_many(current, many)
            if not changed and not changed_many:
                updated.append(current)
                continue
            system = {"updated_at": now, "updated_by": actor.user_id}
            system["version"] = current["version"] + 1
            row = {**system, **changed}
            groups.setdefault(tuple(sorted(changed)), []).append(
                {"_id": current["id"], **{f"v_{k}": v for k, v in row.items()}}
            )
            for key, ids in changed_many.items():
                self._write_many(conn, app, rt, current["id"], {key: ids}, replace=True)
            updated.append({**current, **system, **changed, **changed_many})
        for keys, params in groups.items():
            cols = ("updated_at", "updated_by", "version", *keys)
            stmt = (
                table.update()
                .where(table.c.id == sa.bindparam("_id"))
                .values({c: sa.bindparam(f"v_{c}") for c in cols})
            )
            conn.execute(stmt, params)
        return updated

    def _write_update_log(self, conn, app, rt, currents, updated, actor, now, events) -> None:
        entries, pairs = [], []
        for old, new in zip(currents, updated, strict=True):
            if new is old:
                continue
            keys = [k for k in rt.field_map if k in new and old.get(k) != new.get(k)]
            before = log.json_values(rt, {k: old.get(k) for k in keys})
            after = log.json_values(rt, {k: new.get(k) for k in keys})
            entries.append((old["id"], log.diff(before, after)))
            pairs.append((old, new))
        log.write_many(
            conn, app_id=app.id, rt_key=rt.key, entries=entries, action="update",
            actor=actor, at=now, events=events,
        )  # fmt: skip
        self._rollups(conn, app, rt, pairs)

    @staticmethod
    def _add_deltas(rt, current, deltas, values, errors) -> None:
        """values[k] = stored value + delta, for number-like fields (row already locked)."""
        for key, delta in deltas.items():
            f = rt.field_map.get(key)
            if f is None or f.type not in ("number", "currency", "percent", "rating"):
                errors.setdefault(0, {}).setdefault(key, []).append(Msg("is not a number field"))
                continue
            base = current.get(key) or 0
            try:
                delta = Decimal(str(delta)) if isinstance(base, Decimal) else delta
                values[key] = for_field(f).coerce_valid(f, base + delta)
            except (TypeError, ValueError, FieldValueError) as exc:
                errors.setdefault(0, {}).setdefault(key, []).append(str(exc))

    def _lost_race(self, rt, table, cleaned, exc, *, single, exclude_id=None):
        """Turn a constraint violation (a concurrent writer won) into per-field errors."""
        errors: dict[int, Errors] = {}
        with self.registry.engine.connect() as conn:
            self._check_unique(conn, rt, table, cleaned, errors, exclude_id=exclude_id)
        if errors:
            return _failed(rt, errors, single=single)
        return Conflict(
            f"the database refused the change (a concurrent write?): "
            f"{str(exc.orig).splitlines()[0]}"
        )

    def _current(self, conn, app, rt, table, record_id, version) -> dict:
        row = self._row(conn, table, record_id, lock=True)
        if row is None:
            raise NotFound(_missing(rt, record_id))
        current = self.attach(conn, app, rt, [dict(row)])[0]
        if version is not None and int(version) != current["version"]:
            raise self._stale(conn, rt, current, version)
        return current

    def _stale(self, conn, rt, current, version) -> Conflict:
        who = None
        if current.get("updated_by"):
            who = conn.execute(
                sa.select(users.c.display_name).where(users.c.id == current["updated_by"])
            ).scalar()
        when = current["updated_at"]
        if when is not None and when.tzinfo is None:  # SQLite drops the zone; we store UTC
            when = when.replace(tzinfo=UTC)
        message = Msg(
            "%(rt)s #%(id)s was changed by %(who)s at %(when)s (version %(version)s, "
            "you sent %(sent)s); reload and try again",
            rt=_rt(rt),
            id=current["id"],
            who=who or Msg("someone else"),
            when=when.isoformat() if when else "?",
            version=current["version"],
            sent=version,
        )
        err = Conflict(message)
        err.details = {
            "version": current["version"],
            "updated_by": who,
            "updated_at": when.isoformat() if when else None,
        }
        return err

    def _apply_update(self, conn, app, rt, table, current, values, many, actor, now) -> dict:
        changed = {k: v for k, v in values.items() if current.get(k) != v}
        changed_many = _changed_many(current, many)
        if not changed and not changed_many:
            return current
        system = {"updated_at": now, "updated_by": actor.user_id, "version": current["version"] + 1}
        result = conn.execute(
            table.update()
            .where(table.c.id == current["id"], table.c.version == current["version"])
            .values(**system, **changed)
        )
        if result.rowcount != 1:
            raise self._stale(conn, rt, current, current["version"])
        for key, ids in changed_many.items():
            self._write_many(conn, app, rt, current["id"], {key: ids}, replace=True)
        old_json = log.json_values(rt, {k: current.get(k) for k in {**changed, **changed_many}})
        new_json = log.json_values(rt, {**changed, **changed_many})
        log.write(
            conn,
            app_id=app.id,
            rt_key=rt.key,
            record_id=current["id"],
            action="update",
            changes=log.diff(old_json, new_json),
            actor=actor,
            at=now,
        )
        updated = {**current, **system, **changed, **changed_many}
        self._rollups(conn, app, rt, [(current, updated)])
        return updated

    # -- delete -----------------------------------------------------------------------
    def delete(
        self,
        app_id: str,
        rt_key: str,
        record_id: int,
        actor: Actor = SYSTEM,
        *,
        version: int | None = None,
    ) -> None:
        """Delete a record, applying each incoming link's on_delete rule through this service."""
        app, rt, table = self.resolve(app_id, rt_key)
        now = self.clock()
        with self.registry.engine.begin() as conn:
            guard = guard_for(conn, app, rt, actor)
            if guard:  # cascades follow from the template's on_delete, not the writer's rights
                guard.existing(conn, table, record_id, "delete")
            current = self._current(conn, app, rt, table, record_id, version)
            self._delete(conn, app, rt, table, current, actor, now, budget=[MAX_CASCADE])
        self._committed()

    def delete_impact(
        self, app_id: str, rt_key: str, record_id: int, actor: Actor = SYSTEM
    ) -> DeleteImpact:
        """What deleting the record would also delete or unlink, or why it is refused.

        Runs the real delete with a tally and rolls it back, so the counts follow the
        very rules :meth:`delete` applies (see ``records.impact``).
        """
        app, rt, table = self.resolve(app_id, rt_key)
        tally = Tally()
        with self.registry.engine.connect() as conn:
            tx = conn.begin()
            try:
                guard = guard_for(conn, app, rt, actor)
                if guard:
                    guard.existing(conn, table, record_id, "delete")
                current = self._current(conn, app, rt, table, record_id, None)
                budget = [MAX_CASCADE]
                self._delete(conn, app, rt, table, current, actor, self.clock(), budget, tally)
            except Conflict as exc:
                impact = DeleteImpact.of(tally, rt.key)
                impact.refused, impact.blockers = exc.message, getattr(exc, "blockers", None)
                return impact
            finally:
                tx.rollback()
        return DeleteImpact.of(tally, rt.key)

    def _delete(self, conn, app, rt, table, current, actor, now, budget, tally=None) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise Conflict(
                Msg("delete would cascade to more than %(n)s records; refused", n=MAX_CASCADE)
            )
        target = (rt.key, current["id"])
        for src_rt, link in self._incoming(app, rt.key):
            self._on_delete(conn, app, src_rt, link, target, actor, now, budget, tally)
        if tally is not None:  # counted before the database cascades its own rows away
            tally.before_delete(conn, self.registry, app, rt, current["id"])
        conn.execute(table.delete().where(table.c.id == current["id"]))
        before = log.json_values(
            rt, {f.key: current.get(f.key) for f in rt.fields if f.key in current}
        )
        log.write(
            conn,
            app_id=app.id,
            rt_key=rt.key,
            record_id=current["id"],
            action="delete",
            changes={k: [v, None] for k, v in before.items() if v is not None},
            actor=actor,
            at=now,
        )
        self._rollups(conn, app, rt, [(current, None)])

    def _incoming(self, app: App, rt_key: str):
        for src in app.record_types:
            for f in src.fields:
                if (
                    f.type == "link"
                    and f.opt("to") == rt_key
                    or f.type == "poly_link"
                    and rt_key in polylinks.targets(f)
                ):
                    yield src, f
        for child in child_types(app):  # table rows: their links always restrict
            for f in child.fields:
                if f.type == "link" and f.opt("to") == rt_key and f.key != PARENT:
                    yield child, f

    def _on_delete(self, conn, app, src_rt, link, target, actor, now, budget, tally) -> None:
        """Apply ``link``'s on_delete rule to the records linking to ``target`` (type, id)."""
        src_table = self.registry.table(app.id, src_rt.key)
        rule = link.opt("on_delete", "restrict")
        value = target[1] if link.type == "link" else polylinks.join(*target)  # poly: no FK
        query = sa.select(src_table).where(src_table.c[link.key] == value)
        if rule == "restrict":
            blockers = conn.execute(query.limit(6)).mappings().all()
            if blockers:
                exc = Conflict(
                    _restrict_message(app, src_rt, link, blockers),
                    {"_record": [_linked_from(app, src_rt, b) for b in blockers[:5]]},
                )
                exc.blockers = _blockers(app, src_rt, link, blockers)  # for words in the UI
                raise exc
            return
        for row in conn.execute(query).mappings().all():
            child = self.attach(conn, app, src_rt, [dict(row)])[0]
            if rule == "cascade":
                self._delete(conn, app, src_rt, src_table, child, actor, now, budget, tally)
            else:
                if tally is not None:
                    tally.cleared[(src_rt.key, link.key)] += 1
                self._apply_update(
                    conn, app, src_rt, src_table, child, {link.key: None}, {}, actor, now
                )

    # -- shared write steps -----------------------------------------------------------
    def _check_refs(self, conn, app, rt, cleaned, errors) -> None:
        """Links and user fields must name existing records (one query per field)."""
        table_rows.check_refs(conn, self.registry, app, rt, cleaned, errors)
        for f in rt.fields:
            if f.type == "poly_link":
                self._check_poly_refs(conn, app, f, cleaned, errors)
            if f.type not in ("link", "user", "link_many"):
                continue
            wanted = {
                i: _as_ids(vals.get(f.key) if f.type != "link_many" else many.get(f.key))
                for i, (vals, many) in enumerate(cleaned)
            }
            every = set().union(*wanted.values()) if wanted else set()
            if not every:
                continue
            target = users if f.type == "user" else self.registry.table(app.id, f.opt("to"))
            found = set(conn.scalars(sa.select(target.c.id).where(target.c.id.in_(every))))
            what = Msg("user") if f.type == "user" else _rt(app.record_type(f.opt("to")))
            for i, ids in wanted.items():
                missing = sorted(ids - found)
                if missing:
                    errors.setdefault(i, {}).setdefault(f.key, []).append(
                        Msg(
                            "no %(what)s with id %(ids)s",
                            what=what,
                            ids=", ".join(map(str, missing)),
                        )
                    )

    def _check_poly_refs(self, conn, app, f, cleaned, errors) -> None:
        """A polymorphic link names an existing record (one query per target type)."""
        wanted: dict[str, dict[int, list[int]]] = {}
        for i, (vals, _many) in enumerate(cleaned):
            parts = polylinks.split(vals.get(f.key))
            if parts:
                wanted.setdefault(parts[0], {}).setdefault(parts[1], []).append(i)
        for rt_key, by_id in wanted.items():
            target = self.registry.table(app.id, rt_key)
            found = set(conn.scalars(sa.select(target.c.id).where(target.c.id.in_(by_id))))
            for rid in sorted(set(by_id) - found):
                for i in by_id[rid]:
                    errors.setdefault(i, {}).setdefault(f.key, []).append(
                        Msg(
                            "no %(what)s with id %(ids)s",
                            what=_rt(app.record_type(rt_key)),
                            ids=str(rid),
                        )
                    )

    def _check_unique(self, conn, rt, table, cleaned, errors, exclude_id=None) -> None:
        """Unique fields: no clash with stored rows nor inside the batch."""
        for f in rt.fields:
            if not f.unique:
                continue
            by_value = _by_value(cleaned, f.key)
            if not by_value:
                continue
            query = sa.select(table.c[f.key]).where(table.c[f.key].in_(list(by_value)))
            if exclude_id is not None:
                query = query.where(table.c.id != exclude_id)
            taken = set(conn.scalars(query))
            _refuse_taken(errors, rt, f.key, by_value, lambda v, _idxs, taken=taken: v in taken)

    def _finish_values(self, conn, app, rt, cleaned, errors, actor, now, current=None) -> None:
        """Compute formulas and run the record type's validation rules on each row."""
        has_formulas = any(f.type == "formula" for f in rt.fields)
        has_tables = bool(table_rows.table_fields(rt))
        if not has_formulas and not rt.validations and not has_tables:
            return  # nothing to compute or check per row (a flat type's bulk write)
        needs_links = has_formulas or rt.validations
        for i, (values, many) in enumerate(cleaned):
            if i in errors and current is None and len(cleaned) > 1:
                continue
            record = {**(current or {}), **values, **many}
            linked = self._linked_reader(conn, app, rt, record) if needs_links else None
            if has_tables:  # row formulas, then the rollups over rows the formulas may read
                rollups = table_rows.compute(rt, record, partial(self._linked_reader, conn, app))
                record.update(rollups)
                values.update(rollups)
            values.update(compute_formulas(rt, record, linked))
            self._validate_rules(app, rt, record, errors.setdefault(i, {}), actor, now, linked)
            if not errors[i]:
                del errors[i]

    def _linked_reader(self, conn, app, rt, record):
        """Reads values behind links (``customer.account.region``), each record once."""
        cache: dict[tuple[str, int], dict | None] = {}

        def target_of(path: str):
            current = rt
            for seg in path.split("."):
                f = current.field_map.get(seg)
                if f is not None and f.type == "table":  # items.product: through the rows
                    current = child_record_type(current, f)
                    continue
                if f is None or f.type != "link":
                    return None
                current = app.record_type(f.opt("to"))
            return current

        def load(path: str, linked_id: Any) -> dict | None:
            target = target_of(path) if linked_id is not None else None
            if target is None:
                return None
            key = (target.key, linked_id)
            if key not in cache:
                table = self.registry.table(app.id, target.key)
                row = conn.execute(sa.select(table).where(table.c.id == linked_id)).mappings()
                cache[key] = dict(row.first() or {}) or None
            return cache[key]

        def linked(dotted: str) -> Any:
            parts = dotted.split(".")
            current: dict | None = record
            for i, seg in enumerate(parts[:-1]):
                current = load(".".join(parts[: i + 1]), current.get(seg))
                if current is None:
                    return None
            return current.get(parts[-1])

        linked.load = load  # the condition evaluator's resolve hook
        return linked

    def _validate_rules(self, app, rt, record, errs, actor, now, linked) -> None:
        for rule in rt.validations:
            ok = conditions.evaluate(
                rule.condition,
                record,
                rt,
                app,
                me=actor.user_id,
                now=now,
                resolve=linked.load if linked else None,
            )
            if not ok:
                message = (
                    Msg("%(rule)s", rule=Label(rule.message, locale=actor.locale))
                    if rule.message
                    else Msg("invalid record")
                )
                for key in rule.fields or ("_record",):
                    errs.setdefault(key, []).append(message)

    def _write_many(self, conn, app, rt, record_id, many, replace=False) -> None:
        for key, ids in many.items():
            f = rt.field_map[key]
            if f.type == "table":
                table_rows.write(conn, self.registry, app, rt, f, record_id, ids)
                continue
            junction = self.registry.junction(app.id, rt.key, key)
            if replace:
                conn.execute(junction.delete().where(junction.c.source_id == record_id))
            if ids:
                conn.execute(
                    junction.insert(),
                    [{"source_id": record_id, "target_id": t} for t in dict.fromkeys(ids)],
                )

    def _rollups(self, conn, app, rt, changes: list[tuple[dict | None, dict | None]]) -> None:
        """Recompute rollup fields on records that rows of ``rt`` link to (old and new)."""
        for target_rt in app.record_types:
            for f in target_rt.fields:
                if f.type == "rollup" and f.opt("from") == rt.key:
                    via = f.opt("via")
                    ids = {r.get(via) for pair in changes for r in pair if r} - {None}
                    if rt.has_field(via) and rt.field(via).type == "poly_link":
                        ids = _poly_ids(ids, target_rt.key)
                    if ids:
                        self._recompute_rollup(conn, app, rt, target_rt, f, ids)

    def _recompute_rollup(self, conn, app, src_rt, target_rt, f, ids) -> None:
        src = self.registry.table(app.id, src_rt.key)
        target = self.registry.table(app.id, target_rt.key)
        agg = f.opt("aggregate", "count")
        column = src.c.id if agg == "count" else src.c[f.opt("field")]
        fn = getattr(sa.func, agg)(column)
        value = sa.select(sa.func.coalesce(fn, 0) if agg in ("count", "sum") else fn)
        points_here: Any = target.c.id
        if src_rt.field(f.opt("via")).type == "poly_link":  # "customer:" || id (indexed)
            points_here = sa.literal(f"{target_rt.key}:") + sa.cast(target.c.id, sa.String)
        value = value.where(src.c[f.opt("via")] == points_here).scalar_subquery()
        conn.execute(target.update().where(target.c.id.in_(ids)).values({f.key: value}))

    # -- history ----------------------------------------------------------------------
    def history(self, app_id: str, rt_key: str, record_id: int, user_id: Any = None) -> list[dict]:
        """The record's audit entries, oldest first (404 if it never existed).

        With a user, the record must be readable by them now (a deleted record's
        history is the system's and admins'), and hidden fields are left out.
        """
        app, rt, table = self.resolve(app_id, rt_key)
        with self.registry.engine.connect() as conn:
            who = principal(conn, user_id)
            r = rights(app, rt, who)
            if r is not None:
                query = scoped_select(app, rt, table, who, table.c.id)
                if conn.execute(query.where(table.c.id == record_id)).first() is None:
                    raise NotFound(_missing(rt, record_id))
            entries = log.history(conn, app_id, rt_key, record_id)
        if not entries:
            raise NotFound(Msg("%(rt)s #%(id)s has no history", rt=_rt(rt), id=record_id))
        if r is not None and r.hidden:
            entries = [{**e, "changes": strip(r, dict(e["changes"]))} for e in entries]
        return entries

    def as_of(
        self, app_id: str, rt_key: str, record_id: int, at: datetime, user_id: Any = None
    ) -> dict | None:
        """The record's JSON values at moment ``at`` (None if it did not exist then)."""
        return log.replay(self.history(app_id, rt_key, record_id, user_id), at)


def _insert_rows(conn: sa.Connection, table: sa.Table, params: list[dict]) -> list[int]:
    """Insert rows and return their ids in parameter order.

    SQLite cannot batch an ordered RETURNING (SQLAlchemy falls back to one statement
    per row), so there ids are assigned explicitly as max(id)+1...: exactly what SQLite
    itself would pick for a rowid key, and safe because the write transaction holds
    the database's write lock (BEGIN IMMEDIATE, see db.py). On PostgreSQL they are
    drawn from the column's sequence first (:func:`_reserve_ids_pg`).
    """
    if len(params) == 1:
        return [conn.execute(table.insert(), params[0]).inserted_primary_key[0]]
    if conn.dialect.name == "sqlite":
        start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
        ids = list(range(start + 1, start + 1 + len(params)))
        conn.execute(table.insert(), [{**p, "id": i} for p, i in zip(params, ids, strict=True)])
        return ids
    if conn.dialect.name == "postgresql":
        ids = _reserve_ids_pg(conn, table, len(params))
        if ids is not None:
            conn.execute(table.insert(), [{**p, "id": i} for p, i in zip(params, ids, strict=True)])
            return ids
    query = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return [r[0] for r in conn.execute(query, params)]


def _reserve_ids_pg(conn: sa.Connection, table: sa.Table, n: int) -> list[int] | None:
    """``n`` ids drawn from the id column's own sequence (ascending), or None without one.

    What the column default would draw row by row; drawing them up front lets the rows
    go as a plain executemany (psycopg pipelines it) instead of one multi-row INSERT ..
    RETURNING whose statement text psycopg re-parses for every batch (it dominated bulk
    writes on PostgreSQL).
    """
    name = conn.dialect.identifier_preparer.format_table(table)
    seq = conn.execute(sa.select(sa.func.pg_get_serial_sequence(name, "id"))).scalar()
    if seq is None:
        return None
    series = sa.func.generate_series(1, n).table_valued("i")
    return sorted(conn.scalars(sa.select(sa.func.nextval(seq)).select_from(series)))


def _poly_ids(values: set, rt_key: str) -> set[int]:
    """The ids among polymorphic link values (``customer:3``) that name ``rt_key``."""
    parts = (polylinks.split(v) for v in values)
    return {p[1] for p in parts if p and p[0] == rt_key}


def _initial_rollups(rt: RecordType) -> dict[str, int]:
    """Counts and sums over no linked records yet are 0, not unknown."""
    return {
        f.key: 0
        for f in rt.fields
        if f.type == "rollup" and f.opt("aggregate", "count") in ("count", "sum")
    }


def _changed_many(current: Mapping[str, Any], many: Mapping[str, Any]) -> dict[str, Any]:
    """The link_many lists and table rows of ``many`` that differ from ``current``'s."""
    return {k: v for k, v in many.items() if not table_rows.same(current.get(k), v)}


def _as_ids(value: Any) -> set:
    if value is None:
        return set()
    return set(value) if isinstance(value, list | tuple | set) else {value}


def _linked_from(app: App, src_rt: RecordType, blocker) -> Msg:
    """``linked from Follow-up #3`` (a table row names its record: ``Order #7 (Items)``)."""
    owner = find_child(app, src_rt.key)
    if owner is not None:
        return Msg(
            "linked from %(rt)s #%(id)s (%(field)s)",
            rt=_rt(owner[0]),
            id=blocker[PARENT],
            field=field_label(owner[1]),
        )
    return Msg("linked from %(rt)s #%(id)s", rt=_rt(src_rt), id=blocker["id"])


def _blockers(app: App, src_rt: RecordType, link, rows) -> Blockers:
    """The restrict link refusing a delete (a table's rows name their parent record type)."""
    owner = find_child(app, src_rt.key)
    if owner is not None:
        return Blockers(owner[0], link, [dict(r) for r in rows], table_field=owner[1])
    return Blockers(src_rt, link, [dict(r) for r in rows])


def _restrict_message(app: App, src_rt: RecordType, link, blockers) -> Msg | str:
    owner = find_child(app, src_rt.key)
    if owner is not None:
        return table_rows.blockers_message(owner[0], owner[1], link, blockers)
    ids = ", ".join(f"#{b['id']}" for b in blockers[:5])
    if len(blockers) > 5:
        ids = Msg("%(ids)s and more", ids=ids)
    return Msg(
        "cannot delete: %(rt)s records %(ids)s link here through “%(field)s”; "
        "delete or relink them first",
        rt=_rt(src_rt),
        ids=ids,
        field=field_label(link),
    )


def _rt(rt: RecordType) -> Label:
    """A record type's label, for messages."""
    return Label(rt.label, rt.key)


def _missing(rt: RecordType, record_id: Any) -> Msg:
    return Msg("%(rt)s #%(id)s does not exist", rt=_rt(rt), id=record_id)


def _merge(errors: dict[int, Errors], more: dict[int, Errors]) -> None:
    """Add ``more`` into ``errors``; a reference's message replaces the type's own."""
    for i, errs in more.items():
        errors.setdefault(i, {}).update(errs)


def _merge_one(errs: Errors, more: Errors) -> None:
    """Add the per-field messages ``more`` into one row's ``errs``."""
    for key, messages in more.items():
        errs.setdefault(key, []).extend(messages)


def _failed(rt: RecordType, errors: dict[int, Errors], *, single: bool) -> ValidationFailed:
    if single:
        fields = errors.get(0, {})
        return ValidationFailed(
            Msg("invalid values — %(summary)s", summary=summary(rt, fields)), fields
        )
    rows = {str(i): errs for i, errs in sorted(errors.items())}
    err = ValidationFailed(
        Msg("%(n)s row(s) invalid; nothing was written", n=len(rows)),
        {f"rows[{i}].{k}": v for i, e in rows.items() for k, v in e.items()},
    )
    err.rows = rows
    return err


def _by_value(cleaned: list, key: str) -> dict[Any, list[int]]:
    """{value: indexes of the rows holding it} of field ``key``'s non-empty values."""
    by_value: dict[Any, list[int]] = {}
    for i, (vals, _) in enumerate(cleaned):
        if vals.get(key) is not None:
            by_value.setdefault(vals[key], []).append(i)
    return by_value


def _refuse_taken(errors, rt, key: str, by_value: dict, taken) -> None:
    """Every row whose value is ``taken(value, rows)`` elsewhere, and repeats in the batch."""
    for value, idxs in by_value.items():
        for i in idxs if taken(value, idxs) else idxs[1:]:
            errors.setdefault(i, {}).setdefault(key, []).append(
                Msg("%(value)s is already used by another %(rt)s", value=str(value), rt=_rt(rt))
            )


def summary(rt: RecordType, fields: Errors) -> Msg:
    """Per-field problems as one message naming each field by its label, not its key."""
    parts = []
    for key, problems in fields.items():
        joined = Msg.join(problems, ", ")
        f = rt.field_map.get(key)
        if key == "_record":
            parts.append(joined)
        else:
            label = field_label(f) if f else key
            parts.append(Msg("%(field)s: %(problems)s", field=label, problems=joined))
    return Msg.join(parts)
