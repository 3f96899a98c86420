"""Write checks: the records service asks these before it changes a row.

Each check raises :class:`~tessera.errors.Forbidden` (403) naming the operation or the
fields, or adds a per-field message (422) for a link to a record the writer cannot
read. A record the writer may not even read is reported as not found, so its
existence does not leak. All of it runs inside the write's transaction: a refused
write writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tessera.access.principal import Principal, with_team_members
from tessera.access.rules import Rights, grants_match, rights, sql_condition, strip
from tessera.access.tables import record_shares
from tessera.errors import Forbidden, NotFound
from tessera.fields import polylinks
from tessera.messages import Label, Msg, field_label
from tessera.meta.children import row_fields
from tessera.meta.model import App, RecordType
from tessera.query.policy import principal
from tessera.records.actor import Actor

LINKS = ("link", "link_many")


@dataclass(frozen=True)
class Guard:
    """The writer's principal and rights on one record type (None: unchecked)."""

    who: Principal
    rights: Rights
    app: App
    rt: RecordType

    # -- create -------------------------------------------------------------------------
    def create(self, raw_rows: list[Mapping[str, Any]]) -> None:
        """Refuse the create outright, or the fields the writer may not write."""
        if not self.rights.can("create"):
            raise Forbidden(Msg("your roles do not allow creating %(rt)s records", rt=self._rt))
        for raw in raw_rows:  # an empty value (a blank form input) writes nothing
            if isinstance(raw, Mapping):
                given = (k for k, v in raw.items() if v not in (None, "", []))
                self.fields_writable(k for k in given if self.rt.has_field(k))

    def own_by_default(self, values: dict[str, Any]) -> None:
        """A new record without an owner is the writer's (so own/team scopes cover it)."""
        if self.rights.everywhere("create"):
            return
        for g in self.rights.grants["create"]:
            if g.owner in self.rt.field_map and values.get(g.owner) is None:
                values[g.owner] = self.who.user_id

    def created_in_scope(self, record: Mapping[str, Any], resolve) -> None:
        """The new record must lie inside one of the create scopes."""
        grants = self.rights.grants["create"]
        record = {"created_by": self.who.user_id, "updated_by": self.who.user_id, **record}
        if not grants_match(self.app, self.rt, grants, record, self.who, resolve=resolve):
            raise Forbidden(
                Msg(
                    "your roles allow creating %(rt)s records only within %(scopes)s; "
                    "this one is outside",
                    rt=self._rt,
                    scopes=_scopes(grants),
                )
            )

    # -- update / delete ---------------------------------------------------------------
    def existing(self, conn, table: sa.Table, record_id: int, operation: str) -> None:
        """The stored record must be in the ``operation`` scope (else 403; 404 if unreadable)."""
        if self._matches(conn, table, record_id, operation):
            return
        if self._matches(conn, table, record_id, "read"):
            raise Forbidden(_not_allowed(operation, self._rt, record_id))
        raise NotFound(Msg("%(rt)s #%(id)s does not exist", rt=self._rt, id=record_id))

    @property
    def _rt(self) -> Label:
        return Label(self.rt.label, self.rt.key)

    def _matches(self, conn, table, record_id, operation) -> bool:
        cond = sql_condition(self.app, self.rt, table, self.who, operation)
        query = sa.select(table.c.id).where(table.c.id == record_id)
        if cond is not None:
            query = query.where(cond)
        return conn.execute(query).first() is not None

    def fields_writable(self, keys) -> None:
        """Refuse writing fields the writer may only read (or not see at all)."""
        bad = sorted(k for k in keys if self.rights.level(k) != "write")
        if bad:
            names = ", ".join(str(field_label(self.rt.field_map.get(k)) or k) for k in bad)
            raise Forbidden(
                Msg(
                    "your roles do not allow changing %(fields)s on %(rt)s",
                    fields=names,
                    rt=self._rt,
                ),
                {k: [Msg("read-only for your roles")] for k in bad},
            )

    def updated_in_scope(self, conn, record: Mapping[str, Any], resolve) -> None:
        """The changed record must stay inside the update scope (no giving it away)."""
        grants = self.rights.grants["update"]
        if self.rights.everywhere("update") or self._shared_edit(conn, record["id"]):
            return
        if not grants_match(self.app, self.rt, grants, record, self.who, resolve=resolve):
            raise Forbidden(
                Msg(
                    "this change would take %(rt)s #%(id)s outside what your roles may "
                    "update (%(scopes)s)",
                    rt=self._rt,
                    id=record["id"],
                    scopes=_scopes(grants),
                )
            )

    def _shared_edit(self, conn, record_id: int) -> bool:
        s = record_shares.c
        whom = s.user_id == self.who.user_id
        if self.who.team_ids:
            whom = sa.or_(whom, s.team_id.in_(sorted(self.who.team_ids)))
        query = sa.select(s.id).where(
            s.app_id == self.app.id,
            s.record_type == self.rt.key,
            s.record_id == record_id,
            s.level == "edit",
            whom,
        )
        return conn.execute(query.limit(1)).first() is not None

    # -- links ---------------------------------------------------------------------------
    def links_readable(self, conn, registry, values: Mapping, many: Mapping, errs: dict) -> None:
        """Links may only point at records the writer can read (422 naming the field)."""
        for f in self.rt.fields:
            if f.type == "poly_link":
                parts = polylinks.split(values.get(f.key))
                if parts:
                    self._readable(conn, registry, f.key, parts[0], {parts[1]}, errs)
                continue
            if f.type == "table":  # each row's links, reported in their cells
                for key, cell, ids in _row_links(f, many):
                    self._readable(conn, registry, key, cell.opt("to"), ids, errs)
                continue
            if f.type not in LINKS:
                continue
            ids = _ids(values.get(f.key) if f.type == "link" else many.get(f.key))
            if ids:
                self._readable(conn, registry, f.key, f.opt("to"), ids, errs)

    def _readable(self, conn, registry, key: str, rt_key: str, ids: set, errs: dict) -> None:
        """Report the ``ids`` of ``rt_key`` that exist but the writer cannot read."""
        target_rt = self.app.record_type(rt_key)
        table = registry.table(self.app.id, target_rt.key)
        cond = sql_condition(self.app, target_rt, table, self.who, "read")
        if cond is None:
            return
        query = sa.select(table.c.id).where(table.c.id.in_(ids))
        exist = set(conn.scalars(query))
        seen = set(conn.scalars(query.where(cond)))
        hidden = sorted(exist - seen)
        if hidden:
            errs.setdefault(key, []).append(
                Msg(
                    "you cannot see %(rt)s %(ids)s",
                    rt=Label(target_rt.label, target_rt.key),
                    ids=", ".join(f"#{i}" for i in hidden),
                )
            )

    # -- reads -----------------------------------------------------------------------------
    def strip(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` without the fields the writer may not read."""
        return strip(self.rights, row)


def _row_links(f, many: Mapping):
    """(error key, link cell, ids) of the links in table field ``f``'s rows being written."""
    for c in row_fields(f):
        if c.type == "link":
            for n, row in enumerate(many.get(f.key) or ()):
                ids = _ids(row.get(c.key))
                if ids:
                    yield f"{f.key}[{n}].{c.key}", c, ids


def guard_for(conn, app: App, rt: RecordType, actor: Actor) -> Guard | None:
    """The guard for ``actor``'s writes on ``rt``, or None when no rule applies."""
    if not actor.checked:
        return None
    who = principal(conn, actor.user_id)
    r = rights(app, rt, who)
    return None if r is None else Guard(with_team_members(conn, who), r, app, rt)


def _ids(value: Any) -> set:
    if value is None:
        return set()
    return set(value) if isinstance(value, list | tuple | set) else {value}


def _scopes(grants) -> str:
    names = sorted({g.scope if isinstance(g.scope, str) else "a condition" for g in grants})
    return " or ".join(names) or "nothing"


def _not_allowed(operation: str, rt: Label, record_id: int) -> Msg:
    if operation == "update":
        return Msg("your roles do not allow updating %(rt)s #%(id)s", rt=rt, id=record_id)
    if operation == "delete":
        return Msg("your roles do not allow deleting %(rt)s #%(id)s", rt=rt, id=record_id)
    return Msg("your roles do not allow reading %(rt)s #%(id)s", rt=rt, id=record_id)
