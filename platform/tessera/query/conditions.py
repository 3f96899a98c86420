"""The condition language: checked once, then compiled to SQL or evaluated in Python — same meaning.

A condition is ``{all: [...]}``, ``{any: [...]}``, ``{not: c}`` or a leaf
``{field: F, op: OP, value: V}``. ``F`` may be a dotted path following link fields
(``customer.tier``) or a system column (``id``, ``created_at``, ``updated_at``, ``created_by``,
``updated_by``). ``V`` is a literal (coerced by the field's type), ``{field: other}`` (a field of
the same record), a relative date (see :mod:`tessera.query.dates`) or ``"$me"`` (user fields).

Both back ends work from one intermediate form (:class:`Node` trees) built by :func:`compile`,
and every leaf is two-valued — never SQL NULL — so ``not``/``any``/``all`` mean the same thing in
SQL and in Python. The semantics, decided here once:

- empty: NULL, ``''`` on text-like fields, ``[]`` (or JSON null) on multi_select;
- ``eq lt lte gt gte between in contains starts_with`` and ``{field: other}`` comparisons are
  false when either side is NULL; ``ne not_in not_contains`` are their exact complements,
  so an empty value *is* "not equal" (``NULL ne 'x'`` is true);
- text ``contains``/``starts_with`` ignore case for ASCII letters only (SQLite's ``lower()`` and
  PostgreSQL's ``lower(x COLLATE "C")`` agree on exactly that); ``eq`` is exact;
  ordering of text is by code point (PostgreSQL compares with ``COLLATE "C"``);
- multi_select: ``contains v`` (or a list: all of them), ``in [..]`` has any of them,
  ``eq [..]`` the same set of values;
- relative days on datetime fields mean the whole day in ``now``'s zone (``eq today`` is any time
  today); ``within_last_days N`` is [start of today-N, now], ``within_next_days N`` is
  [now, end of today+N]; on date fields the same with whole days, inclusive;
- a dotted path whose link is empty behaves as if the linked record had every field empty.

``changed``/``changed_to``/``changed_from`` exist only for workflow conditions: they need the old
values (``evaluate(..., old=...)``) and have no SQL form.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from tessera import fields as field_types
from tessera.errors import FieldValueError, Problem, TesseraError
from tessera.fields import polylinks
from tessera.meta.children import PARENT, child_record_type
from tessera.meta.model import App, Field, RecordType
from tessera.query import dates

CHANGE_OPS = frozenset({"changed", "changed_to", "changed_from"})
OPERATORS = (
    *("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "not_contains"),
    *("starts_with", "is_empty", "is_not_empty", "between", "within_last_days"),
    *("within_next_days", "before_today", "after_today", "changed", "changed_to", "changed_from"),
)
#: operators every stored field supports, whatever its type declares
UNIVERSAL_OPS = frozenset({"is_empty", "is_not_empty"}) | CHANGE_OPS
_ORDER = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between")
_DAYS = ("within_last_days", "within_next_days", "before_today", "after_today")
#: what the compiler implements per kind of value (a field type may declare fewer)
SUPPORTED = {
    "text": frozenset(
        _ORDER + ("contains", "not_contains", "starts_with", "is_empty", "is_not_empty")
    ),
    "number": frozenset(_ORDER + ("is_empty", "is_not_empty")),
    "date": frozenset(_ORDER + _DAYS + ("is_empty", "is_not_empty")),
    "datetime": frozenset(_ORDER + _DAYS + ("is_empty", "is_not_empty")),
    "boolean": frozenset({"eq", "ne", "is_empty", "is_not_empty"}),
    "time": frozenset(_ORDER + ("is_empty", "is_not_empty")),  # a time of day (no collation)
    "link": frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}),
    "user": frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}),
    "poly": frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}),
    "list": frozenset(
        {"eq", "ne", "in", "not_in", "contains", "not_contains", "is_empty", "is_not_empty"}
    ),
}
_ALIASES = {
    "=": "eq", "==": "eq", "equals": "eq", "is": "eq", "!=": "ne", "<>": "ne",
    "not_equal": "ne", "not_equals": "ne", "<": "lt", "less": "lt", "less_than": "lt",
    "<=": "lte", ">": "gt", "greater": "gt", "greater_than": "gt", ">=": "gte",
    "startswith": "starts_with", "begins_with": "starts_with", "has": "contains",
    "includes": "contains", "empty": "is_empty", "is_null": "is_empty", "null": "is_empty",
    "not_empty": "is_not_empty", "is_not_null": "is_not_empty", "not_null": "is_not_empty",
    "nin": "not_in", "range": "between",
}  # fmt: skip
#: system columns usable in conditions, as the field types that describe them
SYSTEM_FIELDS = MappingProxyType(
    {
        "id": Field(key="id", type="number", label={"en": "ID"}),
        "created_at": Field(key="created_at", type="datetime", label={"en": "Created at"}),
        "updated_at": Field(key="updated_at", type="datetime", label={"en": "Updated at"}),
        "created_by": Field(key="created_by", type="user", label={"en": "Created by"}),
        "updated_by": Field(key="updated_by", type="user", label={"en": "Updated by"}),
    }
)
Resolver = Callable[[str, Any], Mapping[str, Any] | None]


class ConditionError(TesseraError):
    """A condition is malformed or cannot be used here; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)


#: bounds on one condition: nesting depth and comparisons (SQLite's parser refuses
#: expression trees deeper than 1000, and each OR-ed comparison is one level there)
MAX_DEPTH = 32
MAX_LEAVES = 500

# --------------------------------------------------------------------------- public API


def check(
    cond: Any, rt: RecordType, app: App, path: str = "filter", *, allow_changes: bool = False
) -> list[Problem]:
    """Every problem in ``cond``, each with its path inside the condition; raises nothing.

    ``allow_changes`` admits the workflow-only operators (changed, changed_to, changed_from).
    """
    builder = _Builder(app, me=None, now=datetime.now(UTC), allow_changes=allow_changes)
    builder.node(cond, rt, path)
    return builder.problems


def compile(
    cond: Any,
    rt: RecordType,
    app: App,
    *,
    me: int | None,
    now: datetime,
    path: str = "filter",
    allow_changes: bool = False,
) -> Compiled:
    """Check ``cond`` and resolve it for ``me`` and ``now``; raise ConditionError if bad."""
    builder = _Builder(app, me=me, now=now, allow_changes=allow_changes)
    node = builder.node(cond, rt, path)
    if builder.problems:
        raise ConditionError(builder.problems)
    return Compiled(node, rt, app)


def to_sql(
    cond: Any,
    rt: RecordType,
    app: App,
    tables: Mapping[str, sa.Table],
    *,
    me: int | None,
    now: datetime,
    path: str = "filter",
) -> sa.ColumnElement[bool]:
    """``cond`` as a SQLAlchemy boolean expression over ``tables[rt.key]``."""
    return compile(cond, rt, app, me=me, now=now, path=path).to_sql(tables)


def evaluate(
    cond: Any,
    record: Mapping[str, Any],
    rt: RecordType,
    app: App,
    *,
    me: int | None,
    now: datetime,
    resolve: Resolver | None = None,
    old: Mapping[str, Any] | None = None,
    path: str = "filter",
) -> bool:
    """True when ``record`` satisfies ``cond`` (``old``: values before a change, for workflows).

    ``resolve(prefix, id)`` returns the linked record for a dotted path's link; ``prefix`` is
    the dotted path of the link field from ``rt`` (``"customer"``, ``"customer.account"``).
    """
    compiled = compile(cond, rt, app, me=me, now=now, path=path, allow_changes=True)
    return compiled.matches(record, resolve=resolve, old=old)


def field_kind(field: Field) -> str:
    """The kind of value a field holds: text, number, date, datetime, boolean, link, user, list,
    poly (a polymorphic link: ``customer:3``)."""
    if field.type == "user":
        return "user"
    if field.type == "poly_link":
        return "poly"
    ft = field_types.for_field(field)
    if field.opt("to") and ft.stored:
        return "link"
    col = ft.column_type(field)
    for cls, kind in _COLUMN_KINDS:
        if isinstance(col, cls):
            return kind
    return "text"


_COLUMN_KINDS = (
    (sa.Boolean, "boolean"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Integer, "number"),
    (sa.Numeric, "number"),
    (sa.JSON, "list"),
    (sa.ARRAY, "list"),
)


# --------------------------------------------------------------------------- intermediate form


class Node:
    """A resolved condition; subclasses are the few shapes both back ends implement."""


@dataclass(frozen=True)
class Const(Node):
    """Always true or always false."""

    value: bool


@dataclass(frozen=True)
class All(Node):
    """True when every item is (an empty list is true)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf(Node):
    """True when some item is (an empty list is false)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    """The complement of its item (items are two-valued, so this is exact)."""

    item: Node


@dataclass(frozen=True)
class Cmp(Node):
    """The field compared with a value; false when the field is NULL."""

    key: str
    kind: str
    op: str  # eq lt lte gt gte
    value: Any


@dataclass(frozen=True)
class FieldCmp(Node):
    """The field compared with another field of the same record; false when either is NULL."""

    key: str
    kind: str
    op: str
    other: str


@dataclass(frozen=True)
class In(Node):
    """The field equals one of the values; false when NULL."""

    key: str
    kind: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Empty(Node):
    """NULL, or also '' (text) or [] / JSON null (list)."""

    key: str
    kind: str


@dataclass(frozen=True)
class Text(Node):
    """Case-insensitive (ASCII) substring or prefix match; false when NULL."""

    key: str
    mode: str  # contains | prefix
    needle: str  # already ASCII-lowered


@dataclass(frozen=True)
class ListHas(Node):
    """The multi_select list holds the value."""

    key: str
    value: Any


@dataclass(frozen=True)
class ListOnly(Node):
    """The multi_select list holds nothing outside the values (an empty list does)."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Via(Node):
    """The condition ``inner`` on the record a link points to."""

    key: str  # the link field on this record
    prefix: str  # dotted path of that link from the root record type (for resolve)
    target: str  # record type key it points to
    inner: Node
    on_empty: bool  # what inner means when there is no linked record


@dataclass(frozen=True)
class Rows(Node):
    """The condition ``inner`` on some row of a table field (false when it has none)."""

    key: str  # the table field on this record
    child: str  # the key of its rows' (child) record type, a table of the app
    inner: Node


@dataclass(frozen=True)
class Change(Node):
    """changed / changed_to / changed_from: compares the old and new record (Python only)."""

    key: str
    kind: str
    mode: str  # changed | changed_to | changed_from
    value: Any


@dataclass(frozen=True)
class _Day:
    """A relative day on a datetime field: the half-open instant range [start, end)."""

    start: datetime
    end: datetime


# --------------------------------------------------------------------------- building


class _Builder:
    """Walks a condition once: collects problems and builds the Node tree."""

    def __init__(self, app: App, *, me: int | None, now: datetime, allow_changes: bool):
        self.app, self.me, self.now = app, me, dates.aware(now)
        self.allow_changes = allow_changes
        self.problems: list[Problem] = []
        self.depth = 0
        self.leaves = 0

    def fail(self, path: str, message: str, hint: str | None = None) -> Node:
        self.problems.append(Problem(path=path, message=message, hint=hint))
        return Const(False)

    def node(self, cond: Any, rt: RecordType, path: str) -> Node:
        if self.depth >= MAX_DEPTH:
            hint = "flatten it: all/any take a list of any length"
            return self.fail(path, f"conditions nest at most {MAX_DEPTH} levels deep", hint)
        self.depth += 1
        try:
            return self._node(cond, rt, path)
        finally:
            self.depth -= 1

    def _node(self, cond: Any, rt: RecordType, path: str) -> Node:
        if cond is None:
            return Const(True)
        if not isinstance(cond, Mapping):
            return self.fail(path, f"a condition must be an object, got {_show(cond)}")
        groups = [k for k in ("all", "any", "not") if k in cond]
        if groups:
            return self.group(cond, groups, rt, path)
        if "field" in cond or "op" in cond:
            return self.leaf(cond, rt, path)
        keys = ", ".join(map(str, cond)) or "nothing"
        return self.fail(path, f"expected all, any, not or field/op/value, got {keys}")

    def group(self, cond: Mapping, groups: list[str], rt: RecordType, path: str) -> Node:
        key = groups[0]
        extra = [k for k in cond if k != key]
        if extra:
            return self.fail(path, f"{key} cannot be combined with {', '.join(map(str, extra))}")
        if key == "not":
            return Not(self.node(cond["not"], rt, f"{path}.not"))
        items = cond[key]
        if not isinstance(items, list | tuple):
            return self.fail(f"{path}.{key}", f"must be a list of conditions, got {_show(items)}")
        nodes = tuple(self.node(c, rt, f"{path}.{key}[{i}]") for i, c in enumerate(items))
        return All(nodes) if key == "all" else AnyOf(nodes)

    def leaf(self, cond: Mapping, rt: RecordType, path: str) -> Node:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            if self.leaves == MAX_LEAVES + 1:
                hint = "use op: in with a list of values instead of many eq conditions"
                self.fail(path, f"a condition holds at most {MAX_LEAVES} comparisons", hint)
            return Const(False)
        for extra in (k for k in cond if k not in ("field", "op", "value")):
            hint = _did_you_mean(str(extra), ("field", "op", "value"))
            self.fail(f"{path}.{extra}", f"unknown key {_q(extra)}", hint)
        name = cond.get("field")
        if isinstance(name, str) and rt.field_map.get(name) and rt.field(name).type == "table":
            return self.rows_leaf(rt.field(name), rt, cond, path)
        target = self.resolve_path(cond.get("field"), rt, f"{path}.field")
        op = self.check_op(cond.get("op"), f"{path}.op")
        if target is None or op is None:
            return Const(False)
        return self.build_leaf(target, op, cond, path)

    def rows_leaf(self, field: Field, rt: RecordType, cond: Mapping, path: str) -> Node:
        """``{field: items, op: is_empty | is_not_empty}``: the record has no rows / some.

        In workflows also ``changed``: some row was added, removed, moved or edited.
        """
        op = self.check_op(cond.get("op"), f"{path}.op")
        if op is None:
            return Const(False)
        if op == "changed" and "value" not in cond:
            return Change(field.key, "rows", "changed", None)
        if op not in ("is_empty", "is_not_empty") or "value" in cond:
            also = ", changed" if self.allow_changes else ""
            return self.fail(
                f"{path}.op",
                f"{_q(field.key)} is a table: only is_empty, is_not_empty{also} apply to it",
                f"look into its rows with {field.key}.<row field>",
            )
        some = Rows(field.key, child_record_type(rt, field).key, Const(True))
        return Not(some) if op == "is_empty" else some

    def resolve_path(self, name: Any, rt: RecordType, path: str) -> _Target | None:
        if not isinstance(name, str) or not name:
            self.fail(path, f"needs a field name, got {_show(name)}")
            return None
        links: list[tuple[Field, RecordType]] = []
        parts, done = name.split("."), []
        while parts:
            field = self.field_of(rt, parts.pop(0), path)
            if field is None:
                return None
            if field.type == "lookup" and field.opt("link") and field.opt("field"):
                # a lookup stores nothing: it is link.field, so follow the link instead
                parts.insert(0, field.opt("field"))
                field = self.field_of(rt, field.opt("link"), path)
                if field is None:
                    return None
            done.append(field.key)
            if not parts:
                return self.final(field, rt, links, path)
            rt = self.follow(field, rt, ".".join([*done, parts[0]]), path)
            if rt is None:
                return None
            links.append((field, rt))
        return None  # pragma: no cover - the loop returns

    def field_of(self, rt: RecordType, key: str, path: str) -> Field | None:
        if rt.has_field(key):
            field = rt.field(key)
        elif key in SYSTEM_FIELDS:
            field = SYSTEM_FIELDS[key]
        else:
            hint = _did_you_mean(key, [f.key for f in rt.fields])
            self.fail(path, f"unknown field {_q(key)} on {rt.key}", hint)
            return None
        if field.type not in field_types.names():
            self.fail(path, f"field {_q(key)} has unknown type {_q(field.type)}")
            return None
        return field

    def follow(self, field: Field, rt: RecordType, dotted: str, path: str) -> RecordType | None:
        if field.type == "table":  # items.product: a field of the rows
            return child_record_type(rt, field)
        target = field.opt("to")
        if field_kind(field) != "link" or not isinstance(target, str):
            self.fail(
                path, f"{_q(field.key)} on {rt.key} is not a link, so {_q(dotted)} leads nowhere"
            )
            return None
        if not self.app.has_record_type(target):
            self.fail(path, f"link {_q(field.key)} points to unknown record type {_q(target)}")
            return None
        return self.app.record_type(target)

    def final(self, field: Field, rt: RecordType, links: list, path: str) -> _Target | None:
        if not field_types.for_field(field).stored:
            self.fail(
                path,
                f"field {_q(field.key)} ({field.type}) is not stored, so it cannot be filtered",
            )
            return None
        return _Target(field=field, kind=field_kind(field), rt=rt, links=tuple(links))

    def check_op(self, op: Any, path: str) -> str | None:
        if op in OPERATORS:
            if op in CHANGE_OPS and not self.allow_changes:
                self.fail(
                    path,
                    f"{_q(op)} only works in workflow conditions (it compares old and new values)",
                )
                return None
            return op
        if not isinstance(op, str):
            self.fail(path, f"needs an operator, got {_show(op)}")
            return None
        hint = f'did you mean "{_ALIASES[op.lower()]}"?' if op.lower() in _ALIASES else None
        self.fail(path, f"{_q(op)} is not an operator", hint or _did_you_mean(op, OPERATORS))
        return None

    def build_leaf(self, target: _Target, op: str, cond: Mapping, path: str) -> Node:
        field = target.field
        allowed = allowed_operators(field, allow_changes=self.allow_changes)
        if op not in allowed:
            valid = ", ".join(allowed)
            return self.fail(
                f"{path}.op",
                f"{_q(op)} is not valid for {field.type} field {_q(field.key)}",
                f"use one of: {valid}",
            )
        if target.links and op in CHANGE_OPS:
            return self.fail(f"{path}.op", f"{_q(op)} cannot follow a link ({_q(cond['field'])})")
        has_value = "value" in cond
        node = _LeafBuilder(self, target, op, cond.get("value"), has_value, f"{path}.value").build()
        return _wrap_links(node, target.links, target.kind)


@dataclass(frozen=True)
class _Target:
    """Where a leaf's field lives: the field, its kind, its record type, the links followed."""

    field: Field
    kind: str
    rt: RecordType
    links: tuple[tuple[Field, RecordType], ...]


def _wrap_links(node: Node, links: tuple, kind: str) -> Node:
    prefixes = [".".join(f.key for f, _ in links[: i + 1]) for i in range(len(links))]
    for (field, target), prefix in reversed(list(zip(links, prefixes, strict=True))):
        if field.type == "table":
            node = Rows(field.key, target.key, node)
            continue
        on_empty = _py(node, {}, _Ctx(None, None))
        node = Via(field.key, prefix, target.key, node, on_empty)
    return node


class _LeafBuilder:
    """Turns one leaf (a resolved field, an operator, a raw value) into a Node."""

    def __init__(self, b: _Builder, target: _Target, op: str, raw: Any, has: bool, path: str):
        self.b, self.t, self.op, self.raw, self.has, self.path = b, target, op, raw, has, path
        self.key, self.kind, self.field = target.field.key, target.kind, target.field

    def fail(self, message: str, path: str | None = None, hint: str | None = None) -> Node:
        return self.b.fail(path or self.path, message, hint)

    def build(self) -> Node:
        op = self.op
        if op in ("is_empty", "is_not_empty", "before_today", "after_today", "changed"):
            if self.has and self.raw is not None:
                return self.fail(f"{_q(op)} takes no value, got {_show(self.raw)}")
            return self.no_value()
        if op in ("within_last_days", "within_next_days"):
            return self.within()
        if op == "between":
            return self.between()
        if op in ("in", "not_in"):
            node = self.in_list()
            return Not(node) if op == "not_in" else node
        if op in ("contains", "not_contains", "starts_with"):
            node = self.contains()
            return Not(node) if op == "not_contains" else node
        if op in ("changed_to", "changed_from"):
            value = self.scalar(self.raw, self.path)
            return Change(self.key, self.kind, op, value)
        return self.compare()

    def no_value(self) -> Node:
        match self.op:
            case "is_empty":
                return Empty(self.key, self.kind)
            case "is_not_empty":
                return Not(Empty(self.key, self.kind))
            case "changed":
                return Change(self.key, self.kind, "changed", None)
        today = dates.today(self.b.now)
        if self.op == "before_today":
            return self.day_cmp("lt", today)
        return self.day_cmp("gt", today)

    def day_cmp(self, op: str, day: date) -> Node:
        if self.kind == "date":
            return Cmp(self.key, self.kind, op, day)
        return _day_node(self.key, self.kind, op, self.day(day))

    def day(self, day: date) -> _Day:
        return _Day(dates.day_start(day, self.b.now), dates.day_end(day, self.b.now))

    def within(self) -> Node:
        n = self.raw
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            return self.fail(
                f"{_q(self.op)} needs a whole number of days (0 or more), got {_show(n)}"
            )
        now, today = self.b.now, dates.today(self.b.now)
        if self.op == "within_last_days":
            lo, hi = dates.shift(today, -n), today
        else:
            lo, hi = today, dates.shift(today, n)
        if self.kind == "date":
            return All((Cmp(self.key, "date", "gte", lo), Cmp(self.key, "date", "lte", hi)))
        if self.op == "within_last_days":
            return All((self.at("gte", self.day(lo).start), self.at("lte", dates.to_utc(now))))
        return All((self.at("gte", dates.to_utc(now)), self.at("lt", self.day(hi).end)))

    def at(self, op: str, value: datetime) -> Node:
        return Cmp(self.key, self.kind, op, value)

    def between(self) -> Node:
        raw = self.raw
        if not isinstance(raw, list | tuple) or len(raw) != 2:
            return self.fail(f"between needs [low, high], got {_show(raw)}")
        lo = self.scalar(raw[0], f"{self.path}[0]")
        hi = self.scalar(raw[1], f"{self.path}[1]")
        if lo is _BAD or hi is _BAD:
            return Const(False)
        return All(
            (_day_node(self.key, self.kind, "gte", lo), _day_node(self.key, self.kind, "lte", hi))
        )

    def in_list(self) -> Node:
        raw = self.raw
        if not isinstance(raw, list | tuple):
            return self.fail(f"{_q(self.op)} needs a list of values, got {_show(raw)}")
        if self.kind == "list":
            values = self.options(raw)
            return AnyOf(tuple(ListHas(self.key, v) for v in values))
        if self.kind == "poly":
            return AnyOf(tuple(self.poly(v, f"{self.path}[{i}]") for i, v in enumerate(raw)))
        values = [self.scalar(v, f"{self.path}[{i}]", days=False) for i, v in enumerate(raw)]
        kept = tuple(v for v in values if v is not _BAD and v is not None)
        return In(self.key, self.kind, kept) if kept else Const(False)

    def contains(self) -> Node:
        if self.kind == "list":
            values = self.options(self.raw if isinstance(self.raw, list | tuple) else [self.raw])
            return All(tuple(ListHas(self.key, v) for v in values)) if values else Const(False)
        if not isinstance(self.raw, str) or not self.raw:
            return self.fail(f"{_q(self.op)} needs some text, got {_show(self.raw)}")
        mode = "prefix" if self.op == "starts_with" else "contains"
        return Text(self.key, mode, ascii_lower(self.raw))

    def options(self, raw: Sequence) -> tuple:
        """Coerce a list of multi_select values; problems are reported, bad ones dropped."""
        try:
            values = self.coerce(list(raw))
        except FieldValueError as e:
            self.fail(e.message)
            return ()
        if not values:
            self.fail("needs at least one value")
            return ()
        return tuple(values)

    def compare(self) -> Node:
        raw, op = self.raw, self.op
        if self.kind == "poly" and not (isinstance(raw, Mapping) and "field" in raw):
            node = self.poly(raw, self.path)
            return Not(node) if op == "ne" else node
        if isinstance(raw, Mapping):
            return self.field_compare(raw)
        value = self.scalar(raw, self.path)
        if value is _BAD:
            return Const(False)
        if self.kind == "list":
            node = All((*(ListHas(self.key, v) for v in value), ListOnly(self.key, tuple(value))))
            return Not(node) if op == "ne" else node
        if value is None:  # $me with nobody signed in: nothing equals it
            return Const(op == "ne")
        if op == "ne":
            return Not(_day_node(self.key, self.kind, "eq", value))
        return _day_node(self.key, self.kind, op, value)

    def field_compare(self, raw: Mapping) -> Node:
        vpath = f"{self.path}.field"
        if set(raw) != {"field"} or not isinstance(raw["field"], str):
            return self.fail("a field reference is {field: <key>}", self.path)
        if self.t.links:
            return self.fail("a linked field cannot be compared with another field", vpath)
        other = self.b.resolve_path(raw["field"], self.t.rt, vpath)
        if other is None:
            return Const(False)
        if other.links:
            return self.fail("compare with a field of this record, not a linked one", vpath)
        if not _comparable(self.t, other):
            mine, theirs = self.field, other.field
            what = f"{mine.type} field {_q(mine.key)} with {theirs.type} field {_q(theirs.key)}"
            return self.fail(f"cannot compare {what}", vpath)
        if self.op not in ("eq", "ne", "lt", "lte", "gt", "gte"):
            return self.fail(f"{_q(self.op)} cannot take a field reference", vpath)
        node = FieldCmp(self.key, self.kind, "eq" if self.op == "ne" else self.op, other.field.key)
        return Not(node) if self.op == "ne" else node

    def poly(self, raw: Any, path: str) -> Node:
        """A polymorphic link equal to ``{type, id}``, or of record type ``{type}``."""
        if isinstance(raw, Mapping) and set(raw) == {"type"}:
            try:
                rt_key = polylinks.type_of(self.field, raw["type"])
            except FieldValueError as e:
                return self.fail(e.message, path)
            return Text(self.key, "prefix", ascii_lower(polylinks.join(rt_key, 0)[:-1]))
        value = self.scalar(raw, path)
        if value is _BAD:
            return Const(False)
        return Cmp(self.key, "poly", "eq", value)

    def scalar(self, raw: Any, path: str, days: bool = True) -> Any:
        """One comparison value: relative date, $me or a literal coerced by the field type."""
        if raw == "$me":
            if self.kind != "user":
                self.fail("$me only works with user fields", path)
                return _BAD
            return self.b.me
        if self.kind in ("date", "datetime") and dates.is_relative(raw):
            day = dates.relative_day(raw, self.b.now)
            if self.kind == "date":
                return day
            if raw == "now":
                return dates.to_utc(self.b.now)
            if not days:
                self.fail("only dates and now can be listed for in/not_in on a datetime", path)
                return _BAD
            return self.day(day)
        if raw is None or raw == "" or (isinstance(raw, Mapping) and self.kind != "poly"):
            hint = (
                "use is_empty / is_not_empty to match empty values" if raw in (None, "") else None
            )
            self.fail(f"{_q(self.op)} needs a value, got {_show(raw)}", path, hint)
            return _BAD
        try:
            value = self.coerce(raw)
        except FieldValueError as e:
            self.fail(f"{_show(raw)} is not a valid {self.field.type}: {e.message}", path)
            return _BAD
        if value is None or value == [] or value == "":
            self.fail(f"{_q(self.op)} needs a value, got {_show(raw)}", path)
            return _BAD
        return value

    def coerce(self, raw: Any) -> Any:
        ft = field_types.for_field(self.field)
        try:
            value = ft.coerce(self.field, raw)
        except (TypeError, ValueError, ArithmeticError) as e:
            raise FieldValueError(str(e) or type(e).__name__) from e
        return _normalize(self.kind, value)


_BAD = object()  # marks a value that already produced a problem


def allowed_operators(field: Field, *, allow_changes: bool = False) -> tuple[str, ...]:
    """The operators a condition may apply to ``field``, in documentation order.

    The workflow-only operators (changed, changed_to, changed_from) are listed only
    with ``allow_changes``, so a hint never offers one where it would be refused.
    """
    kind = field_kind(field)
    allowed = (_operators(field) | UNIVERSAL_OPS) & (SUPPORTED[kind] | CHANGE_OPS)
    if not allow_changes:
        allowed -= CHANGE_OPS
    return tuple(o for o in OPERATORS if o in allowed)


def _operators(field: Field) -> frozenset[str]:
    """The operators the field's type declares (formula: those of its result type)."""
    ft = field_types.for_field(field)
    per_field = getattr(ft, "operators_for", None)
    return per_field(field) if per_field else ft.operators


def _day_node(key: str, kind: str, op: str, value: Any) -> Node:
    """A comparison; a relative day on a datetime field compares with the whole day."""
    if not isinstance(value, _Day):
        return Cmp(key, kind, op, value)
    start, end = Cmp(key, kind, "gte", value.start), Cmp(key, kind, "lt", value.end)
    return {
        "eq": All((start, end)),
        "lt": Cmp(key, kind, "lt", value.start),
        "lte": end,
        "gt": Cmp(key, kind, "gte", value.end),
        "gte": start,
    }[op]


def _comparable(a: _Target, b: _Target) -> bool:
    if a.kind != b.kind or a.kind == "list":
        return False
    return a.kind != "link" or a.field.opt("to") == b.field.opt("to")


def _normalize(kind: str, value: Any) -> Any:
    """Values as the back ends compare them: aware UTC datetimes, lists for multi_select."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        return dates.to_utc(value)
    if kind == "date" and isinstance(value, datetime):
        return value.date()
    if kind == "list" and isinstance(value, str):
        return [value]
    if kind == "poly" and isinstance(value, Mapping):  # the JSON form {type, id}
        return polylinks.join(value.get("type"), value.get("id"))
    if kind == "list" and isinstance(value, tuple):
        return list(value)
    return value


# --------------------------------------------------------------------------- compiled


class Compiled:
    """A checked condition resolved for one ``me`` and ``now``: run it in SQL or Python."""

    def __init__(self, node: Node, rt: RecordType, app: App):
        self.node, self.rt, self.app = node, rt, app

    def to_sql(self, tables: Mapping[str, sa.Table]) -> sa.ColumnElement[bool]:
        """A boolean SQLAlchemy expression over ``tables[rt.key]`` (never NULL)."""
        return _sql(self.node, tables[self.rt.key], tables)

    def matches(
        self,
        record: Mapping[str, Any],
        *,
        resolve: Resolver | None = None,
        old: Mapping[str, Any] | None = None,
    ) -> bool:
        """True when ``record`` satisfies the condition."""
        return _py(self.node, record, _Ctx(resolve, old))

    def link_paths(self) -> set[str]:
        """Dotted link prefixes the condition follows (to batch-load what resolve returns)."""
        return _link_paths(self.node)

    def rejects_empty(self, key: str) -> bool:
        """True when no record whose field ``key`` is empty (NULL) can match.

        Conservative: False whenever that is not evident from the condition's shape. The
        list queries use it to leave out the "empty values" half of a descending sort.
        """
        return _rejects_empty(self.node, key)


def _rejects_empty(node: Node, key: str) -> bool:
    match node:
        case Cmp() | In() | Text():
            return node.key == key
        case FieldCmp():
            return key in (node.key, node.other)
        case Not(Empty() as inner):
            return inner.key == key
        case All(items):
            return any(_rejects_empty(n, key) for n in items)
        case AnyOf(items):
            return bool(items) and all(_rejects_empty(n, key) for n in items)
    return False


# --------------------------------------------------------------------------- Python back end


@dataclass(frozen=True)
class _Ctx:
    resolve: Resolver | None
    old: Mapping[str, Any] | None


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only — exactly what SQLite's lower() does."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _get(record: Mapping[str, Any], key: str, kind: str) -> Any:
    return _normalize(kind, record.get(key))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


_PY_OPS = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def _py(node: Node, rec: Mapping[str, Any], ctx: _Ctx) -> bool:  # noqa: C901 - one case per node
    match node:
        case Const(value):
            return value
        case All(items):
            return all(_py(n, rec, ctx) for n in items)
        case AnyOf(items):
            return any(_py(n, rec, ctx) for n in items)
        case Not(item):
            return not _py(item, rec, ctx)
        case Cmp(key, kind, op, value):
            v = _get(rec, key, kind)
            return v is not None and _PY_OPS[op](v, value)
        case FieldCmp(key, kind, op, other):
            a, b = _get(rec, key, kind), _get(rec, other, kind)
            return a is not None and b is not None and _PY_OPS[op](a, b)
        case In(key, kind, values):
            v = _get(rec, key, kind)
            return v is not None and v in values
        case Empty(key, kind):
            v = rec.get(key)
            return v is None or (kind in ("text", "list") and _is_empty(v))
        case Text(key, mode, needle):
            v = rec.get(key)
            if v is None:
                return False
            hay = ascii_lower(v)
            return hay.startswith(needle) if mode == "prefix" else needle in hay
        case ListHas(key, value):
            return value in (_get(rec, key, "list") or ())
        case ListOnly(key, values):
            return all(v in values for v in (_get(rec, key, "list") or ()))
        case Via():
            return _py_via(node, rec, ctx)
        case Rows(key, _, inner):
            return any(_py(inner, row, ctx) for row in rec.get(key) or ())
        case Change():
            return _py_change(node, rec, ctx)
    raise TypeError(f"unknown condition node {node!r}")  # pragma: no cover


def _py_via(node: Via, rec: Mapping[str, Any], ctx: _Ctx) -> bool:
    linked_id = rec.get(node.key)
    if linked_id is None:
        return node.on_empty
    if ctx.resolve is None:
        raise ConditionError([Problem(node.prefix, "following a link needs a resolve function")])
    linked = ctx.resolve(node.prefix, linked_id)
    return node.on_empty if linked is None else _py(node.inner, linked, ctx)


def _py_change(node: Change, rec: Mapping[str, Any], ctx: _Ctx) -> bool:
    """changed / changed_to / changed_from; with no ``old`` the record is new (all was empty)."""
    old_rec = ctx.old or {}
    before, after = _get(old_rec, node.key, node.kind), _get(rec, node.key, node.kind)
    if _is_empty(before) and _is_empty(after):
        return False
    if node.kind == "rows":  # a table's rows (dicts): any difference, order included
        return list(before or ()) != list(after or ())
    if node.kind == "list":
        b, a = set(before or ()), set(after or ())
        if node.mode == "changed":
            return a != b
        wanted = set(node.value)
        return wanted <= (a - b) if node.mode == "changed_to" else wanted <= (b - a)
    if before == after:
        return False
    if node.mode == "changed":
        return True
    return (after if node.mode == "changed_to" else before) == node.value


def _link_paths(node: Node) -> set[str]:
    match node:
        case All(items) | AnyOf(items):
            return set().union(*(_link_paths(n) for n in items))
        case Not(item):
            return _link_paths(item)
        case Via(prefix=prefix, inner=inner):
            return {prefix} | _link_paths(inner)
        case Rows(inner=inner):
            return _link_paths(inner)
    return set()


# --------------------------------------------------------------------------- SQL back end


def _sql(node: Node, table: sa.FromClause, tables: Mapping[str, sa.Table]) -> sa.ColumnElement:  # noqa: C901
    match node:
        case Const(value):
            return sa.true() if value else sa.false()
        case All(items):
            return sa.and_(sa.true(), *(_sql(n, table, tables) for n in items))
        case AnyOf(items):
            return sa.or_(sa.false(), *(_sql(n, table, tables) for n in items))
        case Not(item):
            return sa.not_(_sql(item, table, tables))
        case Cmp(key, kind, op, value):
            col = _col(table, key)
            return sa.and_(col.is_not(None), _sql_cmp(col, kind, op, _bind_value(col, value)))
        case FieldCmp(key, kind, op, other):
            a, b = _col(table, key), _col(table, other)
            return sa.and_(a.is_not(None), b.is_not(None), _sql_cmp(a, kind, op, b))
        case In(key, kind, values):
            col = _col(table, key)
            return sa.and_(col.is_not(None), col.in_([_bind_value(col, v) for v in values]))
        case Empty(key, kind):
            return _sql_empty(_col(table, key), kind)
        case Text(key, mode, needle):
            col = _col(table, key)
            pattern = _like_escape(needle) + "%"
            pattern = pattern if mode == "prefix" else "%" + pattern
            return sa.and_(col.is_not(None), _ascii_lower_sql(col).like(pattern, escape="/"))
        case ListHas(key, value):
            return _list_has(_col(table, key), value)
        case ListOnly(key, values):
            return _list_only(_col(table, key), values)
        case Rows(_, child, inner):
            alias = tables[child].alias()
            match = sa.select(alias.c.id).where(
                alias.c[PARENT] == table.c.id, _sql(inner, alias, tables)
            )
            return match.exists()
        case Via(key, _, target, inner, on_empty):
            alias = tables[target].alias()
            sub = sa.select(alias.c.id).where(_sql(inner, alias, tables))
            col = _col(table, key)
            if on_empty:
                return sa.or_(col.is_(None), col.in_(sub))
            return sa.and_(col.is_not(None), col.in_(sub))
        case Change(key, _, mode, _):
            raise ConditionError(
                [Problem(key, f"{mode!r} has no SQL form (workflow conditions only)")]
            )
    raise TypeError(f"unknown condition node {node!r}")  # pragma: no cover


def _col(table: sa.FromClause, key: str) -> sa.ColumnElement:
    try:
        return table.c[key]
    except KeyError:
        raise ConditionError([Problem(key, f"table {table.name} has no column {key!r}")]) from None


def _bind_value(col: sa.ColumnElement, value: Any) -> Any:
    """Datetimes in UTC; naive for columns without a zone (SQLite drops it anyway)."""
    if isinstance(value, datetime):
        value = dates.to_utc(value)
        if not getattr(col.type, "timezone", False):
            value = value.replace(tzinfo=None)
    return value


def _sql_cmp(col: sa.ColumnElement, kind: str, op: str, other: Any) -> sa.ColumnElement:
    if kind == "text" and op != "eq":
        # order text by code point on every database (SQLite BINARY == PostgreSQL "C")
        col = _Dialectal(col, postgresql=sa.collate(col, "C"))
    return {
        "eq": col.__eq__,
        "lt": col.__lt__,
        "lte": col.__le__,
        "gt": col.__gt__,
        "gte": col.__ge__,
    }[op](other)


def _like_escape(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _ascii_lower_sql(col: sa.ColumnElement) -> sa.ColumnElement:
    return _Dialectal(sa.func.lower(col), postgresql=sa.func.lower(sa.collate(col, "C")))


def _jsonb(value: Any) -> sa.ColumnElement:
    return sa.cast(sa.literal(json.dumps(value), sa.Text()), JSONB)


def _sql_empty(col: sa.ColumnElement, kind: str) -> sa.ColumnElement:
    if kind == "text":
        return sa.or_(col.is_(None), col == "")
    if kind != "list":
        return col.is_(None)
    as_jsonb = sa.cast(col, JSONB)
    return sa.or_(
        col.is_(None),
        _Dialectal(
            sa.func.json_array_length(col) == 0,
            postgresql=sa.or_(as_jsonb == _jsonb([]), as_jsonb == _jsonb(None)),
        ),
    )


def _list_has(col: sa.ColumnElement, value: Any) -> sa.ColumnElement:
    each = sa.func.json_each(col).table_valued("value")
    sqlite = sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == value))
    pg = sa.and_(col.is_not(None), sa.cast(col, JSONB).contains(_jsonb([value])))
    return _Dialectal(sqlite, postgresql=pg)


def _list_only(col: sa.ColumnElement, values: tuple) -> sa.ColumnElement:
    each = sa.func.json_each(col).table_valued("value")
    outside = sa.select(sa.literal(1)).select_from(each).where(each.c.value.not_in(values))
    as_jsonb = sa.cast(col, JSONB)
    pg = sa.or_(col.is_(None), as_jsonb == _jsonb(None), _jsonb(list(values)).contains(as_jsonb))
    return _Dialectal(sa.not_(sa.exists(outside)), postgresql=pg)


class _Dialectal(sa.ColumnElement):
    """One expression per dialect, chosen at compile time (SQLite form is the default)."""

    inherit_cache = True
    _traverse_internals = [
        ("default", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, default: sa.ColumnElement, *, postgresql: sa.ColumnElement):
        self.default, self.postgresql = default, postgresql
        self.type = default.type
        # lets SQLite render EXISTS(...) rather than (EXISTS(...)) = 1 in a WHERE
        self._is_implicitly_boolean = default._is_implicitly_boolean


@compiles(_Dialectal)
def _compile_dialectal(element: _Dialectal, compiler: Any, **kw: Any) -> str:
    chosen = element.postgresql if compiler.dialect.name == "postgresql" else element.default
    return compiler.process(sa.sql.elements.Grouping(chosen), **kw)


# --------------------------------------------------------------------------- messages


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _show(value: Any) -> str:
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    return _q(value)


def _did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {_q(close[0])}?" if close else None
