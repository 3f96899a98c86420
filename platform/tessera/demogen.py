"""Generated sample data: the ``_generate`` section of a template's ``demo.yaml``.

A deterministic (seeded) recipe for hundreds or thousands of records, written in the
template's own terms, so the built-in apps ship a data set with trends without any
app-specific Python::

    _generate:
      seed: 2026
      lists: {surname: [王, 李, Smith], industry: [retail, technology]}
      steps:
        - record_type: customer
          count: 300
          ref: "c{{ i }}"                     # names the record for later "@c12" links
          created: "-{{ rand.randint(0, 365) }}d"  # backdates created_at
          values: {name: "{{ rand.choice(lists.surname) }}{{ i }}",
                   owner: "{{ user('sales_rep') }}"}
        - record_type: order
          for_each: customer                 # count records per generated customer
          count: "{{ rand.randint(0, 5) }}"
          values: {customer: "@{{ parent._ref }}", order_date: "-{{ rand.randint(1, 300) }}d"}
        - update: customer                   # then set values computed from the children
          values: {order_total: "{{ children('order', 'customer') | sum(attribute='amount') }}"}

Values are rendered with the workflows' sandboxed Jinja (so ``{{ now | add_days(3) }}``
works); a value that is exactly one ``{{ expression }}`` keeps its type. Templates see
``i`` (0-based, over the step), ``n`` (within the parent), ``rand`` (a seeded
``random.Random``: choice, choices, randint, random, uniform, sample, gauss), ``lists``,
``parent`` (the parent's values and ``_ref``), ``row`` (the values rendered so far),
``user(role)`` (a user id holding the app role in turn, or None), ``users(role)`` (all of
them), ``today``, ``rows(record_type)`` (every row generated so far) and
``children(record_type, link_field)`` (the generated rows linking to this one).
``scale`` (``flask demo --scale 0.1``) multiplies the counts of top-level steps that are
not ``fixed: true`` (a step whose rows are looked up by index, such as a product list). Keys
starting with ``_`` are kept for later templates but not stored. Records are written with
the records service's bulk paths, without workflow events (sample data is not news).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from tessera.automation.render import RenderError, render_value
from tessera.errors import TesseraError, ValidationFailed

RELATIVE = re.compile(r"^([+-]\d{1,4})d$")
MAX_RECORDS = 200_000
BATCH = 2_000


class GenerateError(TesseraError):
    """The ``_generate`` section is malformed or a generated record was refused."""


class _Random:
    """The drawing methods of a seeded random.Random (no way to reseed or read its state)."""

    def __init__(self, seed: int) -> None:
        r = random.Random(seed)
        self.choice, self.choices, self.randint = r.choice, r.choices, r.randint
        self.random, self.uniform, self.sample, self.gauss = r.random, r.uniform, r.sample, r.gauss


class Generator:
    """Runs the steps of one ``_generate`` section against one installed app."""

    def __init__(
        self,
        tessera: Any,
        app_id: str,
        spec: Mapping[str, Any],
        actor: Any,
        where: str,
        progress: Callable[[str, int], None] | None = None,
        scale: float = 1.0,
    ) -> None:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("steps"), list):
            raise GenerateError(f"{where}: expected a mapping with a list of steps")
        self.t, self.app = tessera, tessera.registry.app(app_id)
        self.spec, self.actor, self.where = spec, actor, where
        self.rand = _Random(int(spec.get("seed", 1)))
        self.scale = scale
        self.lists = dict(spec.get("lists") or {})
        self.today = datetime.now(UTC).date()
        self.rows: dict[str, list[dict]] = {}  # record type -> generated rows (with _ref, _id)
        self.refs: dict[str, int] = {}
        self.progress = progress or (lambda _label, _n: None)
        self._users = self._role_users()
        self._turn: dict[str, int] = {}
        self._index: dict[tuple[str, str], dict[str, list[dict]]] = {}

    def total(self) -> int:
        """A rough count of the records to write (for a progress bar): counts of top steps."""
        return sum(int(s["count"]) for s in self.spec["steps"] if isinstance(s.get("count"), int))

    def _role_users(self) -> dict[str, list[int]]:
        from tessera.access.tables import user_roles

        with self.t.engine.connect() as conn:
            rows = conn.execute(
                sa.select(user_roles.c.role, user_roles.c.user_id)
                .where(user_roles.c.app_id == self.app.id)
                .order_by(user_roles.c.user_id)
            ).all()
        out: dict[str, list[int]] = {}
        for role, uid in rows:
            out.setdefault(role, []).append(uid)
        return out

    def user(self, role: str) -> int | None:
        """The next user holding ``role`` in this app (in turn), or None if nobody does."""
        ids = self._users.get(role) or []
        if not ids:
            return None
        turn = self._turn.get(role, 0)
        self._turn[role] = turn + 1
        return ids[turn % len(ids)]

    def users(self, role: str) -> list[int]:
        """Every user holding ``role`` in this app (ids, ascending)."""
        return list(self._users.get(role) or [])

    def children(self, rt_key: str, link: str, ref: str) -> list[dict]:
        """Generated rows of ``rt_key`` whose ``link`` is "@ref"."""
        key = (rt_key, link)
        if key not in self._index:
            index: dict[str, list[dict]] = {}
            for row in self.rows.get(rt_key, []):
                index.setdefault(str(row.get(link, "")).lstrip("@"), []).append(row)
            self._index[key] = index
        return self._index[key].get(ref, [])

    # -- steps ---------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        """Every step in order; how many records per record type were created."""
        counts: dict[str, int] = {}
        for s, step in enumerate(self.spec["steps"]):
            where = f"{self.where}.steps[{s}]"
            if not isinstance(step, Mapping):
                raise GenerateError(f"{where}: expected a mapping")
            if "update" in step:
                self._update(step, where)
                continue
            made = self._create(step, where)
            counts[step["record_type"]] = counts.get(step["record_type"], 0) + made
        return counts

    def _rt(self, key: Any, where: str):
        if not isinstance(key, str) or not self.app.has_record_type(key):
            raise GenerateError(f"{where}: app {self.app.id!r} has no record type {key!r}")
        return self.app.record_type(key)

    def _render(self, template: Any, ctx: dict[str, Any], where: str) -> Any:
        try:
            return render_value(template, ctx)
        except RenderError as exc:
            raise GenerateError(f"{where}: {exc}") from None

    def _context(self, **extra: Any) -> dict[str, Any]:
        ctx = {"rand": self.rand, "lists": self.lists, "today": self.today,
               "now": datetime.now(UTC), "user": self.user, "users": self.users,
               "rows": lambda rt_key: list(self.rows.get(rt_key, []))}  # fmt: skip
        return ctx | extra

    def _create(self, step: Mapping[str, Any], where: str) -> int:
        rt = self._rt(step.get("record_type"), f"{where}.record_type")
        parents: list[dict | None] = [None]
        if step.get("for_each"):
            parent_rt = self._rt(step["for_each"], f"{where}.for_each")
            parents = list(self.rows.get(parent_rt.key, []))
        rows: list[dict] = []
        i = 0
        for parent in parents:
            count = self._render(
                step.get("count", 1), self._context(parent=parent), f"{where}.count"
            )
            try:
                count = int(count)
            except (TypeError, ValueError):
                raise GenerateError(f"{where}.count: {count!r} is not a whole number") from None
            if parent is None and not step.get("fixed"):  # children scale with their parents
                count = max(1, round(count * self.scale)) if count else 0
            for n in range(count):
                row: dict[str, Any] = {}
                ctx = self._context(i=i, n=n, parent=parent, row=row)
                ctx["children"] = lambda rt_key, link, _row=row: self.children(
                    rt_key, link, str(_row.get("_ref", ""))
                )
                if step.get("ref"):
                    row["_ref"] = str(self._render(step["ref"], ctx, f"{where}.ref"))
                for key, template in (step.get("values") or {}).items():
                    row[key] = self._render(template, ctx, f"{where}.values.{key}")
                if step.get("created"):
                    row["_created"] = self._render(step["created"], ctx, f"{where}.created")
                rows.append(row)
                i += 1
                if i > MAX_RECORDS:
                    raise GenerateError(f"{where}: more than {MAX_RECORDS} records")
        self._write(rt, rows, where)
        self.rows.setdefault(rt.key, []).extend(rows)
        self._index = {k: v for k, v in self._index.items() if k[0] != rt.key}
        return len(rows)

    def _stored(self, rt, row: Mapping[str, Any], where: str) -> dict[str, Any]:
        out = {}
        for key, value in row.items():
            if key.startswith("_") or value is None or value == "":
                continue
            out[key] = self._value(rt, key, value, where)
        return out

    def _value(self, rt, key: str, value: Any, where: str) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            if value[1:] not in self.refs:
                raise GenerateError(f"{where}.{key}: {value!r} names no generated record")
            return self.refs[value[1:]]
        field = rt.field_map.get(key)
        rel = RELATIVE.match(value) if isinstance(value, str) else None
        if field is None or field.type not in ("date", "datetime") or rel is None:
            return value
        day = self.today + timedelta(days=int(rel.group(1)))
        if field.type == "date":
            return day.isoformat()
        return datetime.combine(day, time(9, 0), UTC).isoformat()

    def _created_at(self, row: Mapping[str, Any]) -> datetime | None:
        raw = row.get("_created")
        rel = RELATIVE.match(str(raw)) if raw else None
        if rel is None:
            return None
        day = self.today + timedelta(days=int(rel.group(1)))
        return datetime.combine(day, time(10, 0), UTC)

    def _write(self, rt, rows: list[dict], where: str) -> None:
        """Bulk-create, grouped by backdated creation day, in batches; refs noted."""
        groups: dict[datetime | None, list[dict]] = {}
        for row in rows:
            groups.setdefault(self._created_at(row), []).append(row)
        records = self.t.records
        latest = datetime.max.replace(tzinfo=UTC)
        for moment, group in sorted(groups.items(), key=lambda kv: kv[0] or latest):
            for start in range(0, len(group), BATCH):
                chunk = group[start : start + BATCH]
                values = [self._stored(rt, r, where) for r in chunk]
                try:
                    made = records.bulk_create(
                        self.app.id, rt.key, values, self.actor, events=False, at=moment
                    )
                except ValidationFailed as exc:
                    raise GenerateError(f"{where}: {rt.key}: {_first_error(exc)}") from None
                for row, rec in zip(chunk, made, strict=True):
                    row["_id"] = rec["id"]
                    if row.get("_ref"):
                        self.refs[row["_ref"]] = rec["id"]
                self.progress(rt.key, len(chunk))

    def _update(self, step: Mapping[str, Any], where: str) -> None:
        rt = self._rt(step.get("update"), f"{where}.update")
        changes = []
        for row in self.rows.get(rt.key, []):
            ctx = self._context(row=row, parent=None)
            ctx["children"] = lambda rt_key, link, _row=row: self.children(
                rt_key, link, str(_row.get("_ref", ""))
            )
            values = {}
            for key, template in (step.get("values") or {}).items():
                values[key] = self._render(template, ctx, f"{where}.values.{key}")
                row[key] = values[key]
            stored = self._stored(rt, {k: v for k, v in values.items()}, where)
            nulls = {k: None for k, v in values.items() if v is None or v == ""}
            changes.append((row["_id"], stored | nulls))
        for start in range(0, len(changes), BATCH):
            chunk = changes[start : start + BATCH]
            try:
                self.t.records.bulk_update(self.app.id, rt.key, chunk, self.actor, events=False)
            except ValidationFailed as exc:
                raise GenerateError(f"{where}: {rt.key}: {_first_error(exc)}") from None
            self.progress(rt.key, len(chunk))


def _first_error(exc: ValidationFailed) -> str:
    fields = getattr(exc, "fields", None) or {}
    for where, errs in fields.items() if isinstance(fields, dict) else ():
        return f"{where}: {'; '.join(map(str, errs)) if isinstance(errs, list) else errs}"
    return str(exc)
