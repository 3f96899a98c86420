"""Semantic checks of template data: what JSON Schema cannot say.

Unique keys, reserved names, references between record types, fields, views, forms
and workflows, formulas, rollups, lookups and conditions. Every check appends to one
list, so an author sees all problems at once. The checks run on schema-checked data
but stay defensive (``_items``/``_dict``) because they also run when the schema
already found problems, to report as much as possible in one go.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from typing import Any

from tessera import expr
from tessera.errors import Problem
from tessera.meta import fieldchecks
from tessera.meta.checks_charts import ChartChecks
from tessera.meta.children import NOT_IN_ROWS, ROW_COLUMNS, child_key
from tessera.meta.model import SEARCHABLE as SEARCH_TYPES
from tessera.meta.validate import suggest
from tessera.storage.naming import SYSTEM_COLUMNS, junction_name, table_name

MAX_TABLE_NAME = 63  # PostgreSQL's identifier limit
NUMERIC = {"number", "currency", "percent", "rating"}
LINKS = {"link", "link_many"}
COMPUTED = {"formula", "rollup", "lookup", "auto_number"}
#: fields without their own column (so no index on them), for types not registered (yet);
#: a registered FieldType's ``stored`` has the last word
NOT_STORED = {"link_many", "lookup", "table"}
#: field types that get a table of their own named ``rt_<app>_<type>__<field>``
CHILD_TABLES = {"link_many", "table"}
NO_VALUE_OPS = {"is_empty", "is_not_empty", "before_today", "after_today", "changed"}
LIST_OPS = {"in", "not_in"}
DAYS_OPS = {"within_last_days", "within_next_days"}
CHANGE_OPS = {"changed", "changed_to", "changed_from"}
#: triggers that fire on one record, so the workflow must name its record type
RECORD_TRIGGERS = {
    "record.created",
    "record.updated",
    "record.deleted",
    "field.changed",
    "date",
    "import.finished",
}
#: readable system columns: conditions, columns and sorts may use them
QUERYABLE_SYSTEM = set(SYSTEM_COLUMNS)
OPERATIONS = ("create", "read", "update", "delete")

#: the condition language's bounds (the query layer enforces the same at run time)
CONDITION_MAX_DEPTH = 32
CONDITION_MAX_LEAVES = 500


def _dict(value: Any) -> dict:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def _items(value: Any, base: str) -> Iterator[tuple[str, dict]]:
    """(path, item) for the mapping items of a list."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield f"{base}[{i}]", item


def _strs(value: Any) -> list[str]:
    """The string items of a list."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def stored(ftype: str) -> bool:
    """True when fields of ``ftype`` have a column of their own."""
    from tessera import fields

    try:
        return fields.get(ftype).stored
    except KeyError:
        return ftype not in NOT_STORED


class Checker(ChartChecks):
    """Runs every semantic check over one template's data; collects Problems."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.problems: list[Problem] = []
        self.types: dict[str, dict] = {}
        for _, rt in _items(data.get("record_types"), "record_types"):
            if isinstance(rt.get("key"), str):
                self.types.setdefault(rt["key"], rt)
        #: the rows of each table field, as pseudo record types keyed ``<type>__<field>``
        self.children: dict[str, dict] = {}
        for key, rt in self.types.items():
            for _, f in _items(rt.get("fields"), ""):
                if f.get("type") == "table" and isinstance(f.get("key"), str):
                    rows = {"key": child_key(key, f["key"]), "fields": f.get("fields")}
                    self.children.setdefault(rows["key"], rows)
        self.forms = {
            f["key"]: f
            for _, f in _items(data.get("forms"), "forms")
            if isinstance(f.get("key"), str)
        }

    def add(self, path: str, message: str, hint: str | None = None) -> None:
        """Record one problem."""
        self.problems.append(Problem(path, message, hint=hint))

    def fields(self, rt_key: str | None) -> dict[str, dict]:
        """Fields of record type ``rt_key`` by key (first declaration wins)."""
        out: dict[str, dict] = {}
        if not isinstance(rt_key, str):
            return out
        rt = self.children.get(rt_key) or self.types.get(rt_key)  # a clash is reported
        for _, f in _items(_dict(rt).get("fields"), ""):
            if isinstance(f.get("key"), str):
                out.setdefault(f["key"], f)
        return out

    def run(self) -> list[Problem]:
        """All semantic problems of the template."""
        self.check_app()
        for path, rt in _items(self.data.get("record_types"), "record_types"):
            self.check_record_type(path, rt)
        for path, view in _items(self.data.get("views"), "views"):
            self.check_view(path, view)
        for path, form in _items(self.data.get("forms"), "forms"):
            self.check_form(path, form)
        for path, wf in _items(self.data.get("workflows"), "workflows"):
            self.check_workflow(path, wf)
        for path, role in _items(self.data.get("roles"), "roles"):
            self.check_role(path, role)
        self.check_home()
        return self.problems

    # -- keys -------------------------------------------------------------------------

    def unique(self, items: Any, base: str, what: str) -> None:
        """Report items of a list whose ``key`` repeats an earlier one."""
        seen: dict[str, str] = {}
        for path, item in _items(items, base):
            key = item.get("key")
            if not isinstance(key, str):
                continue
            if key in seen:
                self.add(f"{path}.key", f'duplicate {what} key "{key}" (also at {seen[key]})')
            else:
                seen[key] = path

    def check_app(self) -> None:
        """Unique keys of record types, views, forms and workflows."""
        for key, what in (
            ("record_types", "record type"),
            ("views", "view"),
            ("forms", "form"),
            ("workflows", "workflow"),
            ("roles", "role"),
        ):
            self.unique(self.data.get(key), key, what)
        if "include" in self.data:
            msg = "include is resolved only when loading a template file or folder"
            self.add("include", msg, "merge the included lists into the data, or use load_app")

    # -- record types -----------------------------------------------------------------

    def check_record_type(self, path: str, rt: dict) -> None:
        """Fields, title, indexes, validations and table names of one record type."""
        key = rt.get("key")
        fields = self.fields(key) if self.types.get(key) is rt else {}
        self.unique(rt.get("fields"), f"{path}.fields", "field")
        self.check_names(path, rt)
        title = rt.get("title")
        if isinstance(title, str) and title not in fields:
            self.add(
                f"{path}.title", f'title field "{title}" does not exist', suggest(title, fields)
            )
        for i, index in enumerate(rt.get("indexes") or []):
            self.check_index(f"{path}.indexes[{i}]", _strs(index), fields)
        for i, name in enumerate(_strs(rt.get("search"))):
            self.check_search_field(f"{path}.search[{i}]", name, fields)
        self.check_summary(path, rt, fields)
        for vpath, rule in _items(rt.get("validations"), f"{path}.validations"):
            self.condition(rule.get("when"), f"{vpath}.when", key)
            for j, name in enumerate(_strs(rule.get("fields"))):
                self.field_exists(name, f"{vpath}.fields[{j}]", key)
        for fpath, f in _items(rt.get("fields"), f"{path}.fields"):
            self.check_field(fpath, f, key)
        self.check_formula_cycles(path, rt)

    def check_search_field(self, path: str, name: str, fields: dict) -> None:
        """A declared search field exists and holds text."""
        if name not in fields:
            self.add(path, f'unknown field "{name}"', suggest(name, fields))
        elif fields[name].get("type") not in SEARCH_TYPES:
            self.add(
                path,
                f'field "{name}" is a {fields[name].get("type")}, not text: it cannot be searched',
                f"search takes fields of type {', '.join(sorted(SEARCH_TYPES))}",
            )

    def check_names(self, path: str, rt: dict) -> None:
        """Reserved field names, and table names that fit the database."""
        app_id, key = self.data.get("id"), rt.get("key")
        for fpath, f in _items(rt.get("fields"), f"{path}.fields"):
            name = f.get("key")
            if name in SYSTEM_COLUMNS:
                self.add(
                    f"{fpath}.key",
                    f'"{name}" is a reserved field name',
                    f"the engine adds {', '.join(SYSTEM_COLUMNS)} itself; pick another name",
                )
            elif isinstance(app_id, str) and isinstance(key, str) and f.get("type") in CHILD_TABLES:
                self.name_length(f"{fpath}.key", junction_name(app_id, key, str(name)))
                self.child_clash(f"{fpath}.key", child_key(key, str(name)))
        if isinstance(app_id, str) and isinstance(key, str):
            self.name_length(f"{path}.key", table_name(app_id, key))

    def child_clash(self, path: str, key: str) -> None:
        """A table field's rows must not take the table of a record type named like them."""
        if key in self.types:
            self.add(
                path,
                f'its rows would be stored like record type "{key}"',
                "rename the field or that record type",
            )

    def name_length(self, path: str, name: str) -> None:
        """Report a database object name longer than the database allows."""
        if len(name) > MAX_TABLE_NAME:
            msg = f'the table name "{name}" would be {len(name)} characters'
            self.add(path, msg, f"shorten the app id or keys to at most {MAX_TABLE_NAME} in total")

    def check_index(self, path: str, names: list[str], fields: dict[str, dict]) -> None:
        """Index fields exist and have a column."""
        for j, name in enumerate(names):
            f = fields.get(name)
            if f is None and name not in SYSTEM_COLUMNS:
                self.add(
                    f"{path}[{j}]", f'index field "{name}" does not exist', suggest(name, fields)
                )
            elif f is not None and not stored(str(f.get("type"))):
                self.add(f"{path}[{j}]", f'cannot index "{name}": a {f.get("type")} has no column')

    # -- fields -----------------------------------------------------------------------

    def check_field(self, path: str, f: dict, rt_key: str) -> None:
        """Type-specific checks of one field."""
        method = getattr(self, f"field_{f.get('type')}", None)
        if method is not None:
            method(path, f, rt_key)
        fieldchecks.check(self, path, f, rt_key)
        if f.get("type") in NUMERIC:
            self.check_range(path, f)
        elif f.get("type") in ("date", "datetime"):
            self.check_date_range(path, f)

    def check_range(self, path: str, f: dict) -> None:
        """min <= max and the default within them."""
        low, high, default = f.get("min"), f.get("max"), f.get("default")
        nums = [v for v in (low, high) if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(nums) == 2 and low > high:
            self.add(f"{path}.min", f"min ({low}) is greater than max ({high})")
        if isinstance(default, int | float) and not isinstance(default, bool):
            if isinstance(low, int | float) and default < low:
                self.add(f"{path}.default", f"default ({default}) is below min ({low})")
            if isinstance(high, int | float) and default > high:
                self.add(f"{path}.default", f"default ({default}) is above max ({high})")

    def check_date_range(self, path: str, f: dict) -> None:
        """Date bounds are real dates and min <= max."""
        parse = dt.date.fromisoformat if f.get("type") == "date" else dt.datetime.fromisoformat
        bounds = {}
        for name in ("min", "max"):
            raw = f.get(name)
            if not isinstance(raw, str):
                continue
            try:
                bounds[name] = parse(raw)
            except ValueError:
                self.add(f"{path}.{name}", f'"{raw}" is not a valid {f.get("type")}')
        if len(bounds) == 2 and bounds["min"] > bounds["max"]:
            self.add(f"{path}.min", f"min ({f['min']}) is after max ({f['max']})")

    def field_text(self, path: str, f: dict, rt_key: str) -> None:
        """The pattern is a valid regular expression."""
        pattern = f.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.add(f"{path}.pattern", f"invalid regular expression: {exc}")

    def field_select(self, path: str, f: dict, rt_key: str) -> None:
        """Option values are unique and the default is one of them."""
        values: list[str] = []
        for opath, opt in _items(f.get("options"), f"{path}.options"):
            value = opt.get("value")
            if value in values:
                self.add(f"{opath}.value", f'duplicate option value "{value}"')
            values.append(value)
        self.option_renames(path, f, values)
        default = f.get("default")
        defaults = default if isinstance(default, list) else [] if default is None else [default]
        for d in defaults:
            if isinstance(d, str) and values and d not in values:
                hint = suggest(d, [v for v in values if isinstance(v, str)])
                self.add(f"{path}.default", f'default "{d}" is not one of the options', hint)

    field_multi_select = field_select

    def option_renames(self, path: str, f: dict, values: list) -> None:
        """An option's ``renamed_from`` names a value no option keeps, mapped once."""
        mapped: dict[str, str] = {}
        for opath, opt in _items(f.get("options"), f"{path}.options"):
            src = opt.get("renamed_from")
            for old in [src] if isinstance(src, str) else _strs(src):
                if old in values:
                    msg = f'renamed_from "{old}" is still an option of this field'
                    hint = "remove that option, or drop renamed_from"
                    self.add(f"{opath}.renamed_from", msg, hint)
                elif old in mapped:
                    msg = f'"{old}" is already mapped to "{mapped[old]}"'
                    self.add(f"{opath}.renamed_from", msg, "map each old value to one option")
                else:
                    mapped[old] = opt.get("value")

    def field_link(self, path: str, f: dict, rt_key: str) -> None:
        """The target type exists; set_null does not fight required."""
        self.target_exists(f, path)
        if f.get("on_delete") == "set_null" and f.get("required"):
            self.add(
                f"{path}.on_delete",
                "a required link cannot use on_delete: set_null",
                "use restrict or cascade, or make the link optional",
            )

    def field_auto_number(self, path: str, f: dict, rt_key: str) -> None:
        """A naming series' pattern can number records; it replaces prefix and padding."""
        from tessera.fields import series  # lazily, like stored(): fields import meta

        fmt = f.get("format")
        if isinstance(fmt, str):
            for message, hint in series.problems(fmt):
                self.add(f"{path}.format", message, hint)
            for other in ("prefix", "padding"):
                if other in f:
                    hint = 'write the text and the width into format, e.g. "CUS-{######}"'
                    self.add(f"{path}.{other}", f"{other} cannot be used with format", hint)
        tz = f.get("timezone")
        if isinstance(tz, str) and not _is_zone(tz):
            hint = "use an IANA name such as Asia/Shanghai"
            self.add(f"{path}.timezone", f'unknown timezone "{tz}"', hint)
        elif tz is not None and not isinstance(fmt, str):
            self.add(f"{path}.timezone", "timezone only applies to a format with date parts")

    def field_link_many(self, path: str, f: dict, rt_key: str) -> None:
        """The target type exists."""
        self.target_exists(f, path)

    def target_exists(self, f: dict, path: str) -> None:
        """A link's ``to`` names a record type of this app (each, for a list)."""
        to = f.get("to")
        if isinstance(to, str) and to not in self.types:
            self.add(f"{path}.to", f'record type "{to}" does not exist', suggest(to, self.types))
        if isinstance(to, list):
            for i, one in enumerate(to):
                if isinstance(one, str) and one not in self.types:
                    hint = suggest(one, self.types)
                    self.add(f"{path}.to[{i}]", f'record type "{one}" does not exist', hint)

    def field_table(self, path: str, f: dict, rt_key: str) -> None:
        """Row fields: unique keys, no engine column names, supported types, their own checks."""
        rows_key = child_key(str(rt_key), str(f.get("key")))
        self.unique(f.get("fields"), f"{path}.fields", "row field")
        low, high = f.get("min_rows"), f.get("max_rows")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.add(f"{path}.min_rows", f"min_rows ({low}) is greater than max_rows ({high})")
        for fpath, rf in _items(f.get("fields"), f"{path}.fields"):
            if self.row_field_ok(fpath, rf):
                self.check_field(fpath, rf, rows_key)
        rows = {"key": rows_key, "fields": f.get("fields")}
        self.check_formula_cycles(path, rows)

    def row_field_ok(self, path: str, rf: dict) -> bool:
        """A row field's key and type fit a child table (reported otherwise)."""
        name, ftype = rf.get("key"), rf.get("type")
        if name in SYSTEM_COLUMNS or name in ROW_COLUMNS:
            reserved = ", ".join((*SYSTEM_COLUMNS, *ROW_COLUMNS))
            self.add(
                f"{path}.key", f'"{name}" is a reserved row field name', f"not one of {reserved}"
            )
        if ftype == "table":
            self.add(
                f"{path}.type",
                "a table cannot hold another table (no nested tables)",
                "make the inner rows a record type of their own with a link to this one",
            )
            return False
        if ftype in NOT_IN_ROWS:
            allowed = "any type except " + ", ".join(sorted(NOT_IN_ROWS))
            self.add(f"{path}.type", f"a table row cannot hold a {ftype} field", allowed)
            return False
        if ftype == "link" and rf.get("on_delete", "restrict") != "restrict":
            self.add(
                f"{path}.on_delete",
                "a link in a table row must use on_delete: restrict",
                "rows are only changed together with their record; delete those rows first",
            )
        if rf.get("unique"):
            self.add(f"{path}.unique", "row fields cannot be unique", "remove unique")
        return True

    def field_formula(self, path: str, f: dict, rt_key: str) -> None:
        """The formula parses and names existing fields."""
        names = self.formula_names(f)
        if isinstance(names, str):
            self.add(f"{path}.formula", f"formula does not parse: {names}")
            return
        for name in sorted(names):
            self.field_exists(name, f"{path}.formula", rt_key, what="formula")

    @staticmethod
    def formula_names(f: dict) -> frozenset[str] | str:
        """The names a formula reads, or the parse error message."""
        source = f.get("formula")
        if not isinstance(source, str):
            return frozenset()
        try:
            return expr.parse(source).names
        except expr.ExpressionError as exc:
            return str(exc)

    def field_rollup(self, path: str, f: dict, rt_key: str) -> None:
        """``from`` exists, ``via`` is a link on it pointing here, ``field`` fits."""
        if "table" in f or not ("from" in f or "via" in f):
            self.rollup_table(path, f, rt_key)
            return
        src = f.get("from")
        if "via" not in f:
            self.add(path, "a rollup with from also needs via", "the link on from pointing here")
        if not isinstance(src, str):
            return
        if src not in self.types:
            self.add(
                f"{path}.from", f'record type "{src}" does not exist', suggest(src, self.types)
            )
            return
        theirs = self.fields(src)
        via = f.get("via")
        link = theirs.get(via) if isinstance(via, str) else None
        if isinstance(via, str) and link is None:
            hint = suggest(via, theirs) or f"name a link field on {src} that points to {rt_key}"
            self.add(f"{path}.via", f'"{via}" is not a field of {src}', hint)
        elif link is not None and not _links_to(link, rt_key):
            self.add(f"{path}.via", f"{src}.{via} is not a link to {rt_key}")
        self.rollup_field(path, f, src, theirs)

    def rollup_table(self, path: str, f: dict, rt_key: str) -> None:
        """``table`` is a table field here (and excludes from/via); ``field`` is a row field."""
        name = f.get("table")
        mine = self.fields(rt_key)
        tables = [k for k, v in mine.items() if v.get("type") == "table"]
        if name is None:
            self.add(path, "a rollup needs table, or from and via", "e.g. table: items")
            return
        if "from" in f or "via" in f:
            self.add(path, "a rollup takes either table, or from and via, not both")
        if mine.get(name, {}).get("type") != "table":
            hint = suggest(name, tables) or (f"tables: {', '.join(tables)}" if tables else None)
            self.add(f"{path}.table", f'"{name}" is not a table field of {rt_key}', hint)
            return
        self.rollup_field(path, f, f"{name} rows", self.fields(child_key(rt_key, name)))

    def rollup_field(self, path: str, f: dict, src: str, theirs: dict[str, dict]) -> None:
        """The aggregated field exists (unless counting) and is numeric for sum/avg."""
        agg, name = f.get("aggregate"), f.get("field")
        if name is None:
            if agg not in (None, "count"):
                self.add(
                    path, f'a rollup with aggregate "{agg}" needs a field', f"a field of {src}"
                )
            return
        target = theirs.get(name)
        if target is None:
            self.add(f"{path}.field", f'"{name}" is not a field of {src}', suggest(name, theirs))
        elif agg in ("sum", "avg") and not self.numeric(target):
            self.add(f"{path}.field", f'cannot {agg} "{name}": it is a {target.get("type")}')
        elif agg in ("min", "max") and not (
            self.numeric(target) or target.get("type") in ("date", "datetime")
        ):
            self.add(
                f"{path}.field",
                f'cannot take the {agg} of "{name}": it is a {target.get("type")}',
                "min and max take a number, currency, date or datetime field",
            )

    @staticmethod
    def numeric(f: dict) -> bool:
        """True for numeric fields (formulas count when their result is a number)."""
        ftype = f.get("type")
        if ftype == "formula":
            return f.get("result", "number") in ("number", "currency")
        return ftype in NUMERIC or ftype == "rollup"

    def field_lookup(self, path: str, f: dict, rt_key: str) -> None:
        """``link`` is a link field here and ``field`` exists on its target."""
        mine = self.fields(rt_key)
        name, target = f.get("link"), f.get("field")
        link = mine.get(name) if isinstance(name, str) else None
        if link is not None and isinstance(link.get("to"), list):
            msg = f'a lookup cannot follow "{name}": it links several record types'
            self.add(f"{path}.link", msg)
            return
        if link is None or link.get("type") != "link":
            links = [k for k, v in mine.items() if v.get("type") == "link"]
            msg = f'"{name}" is not a link field of {rt_key}'
            self.add(f"{path}.link", msg, suggest(name, links) or f"links: {', '.join(links)}")
            return
        theirs = self.fields(link.get("to"))
        if isinstance(target, str) and link.get("to") in self.types and target not in theirs:
            msg = f'"{target}" is not a field of {link.get("to")}'
            self.add(f"{path}.field", msg, suggest(target, theirs))

    def check_formula_cycles(self, path: str, rt: dict) -> None:
        """Formulas may not depend on themselves, directly or through others."""
        formulas = {
            f["key"]: (p, self.formula_names(f))
            for p, f in _items(rt.get("fields"), f"{path}.fields")
            if f.get("type") == "formula" and isinstance(f.get("key"), str)
        }
        deps = {
            k: {n for n in names if n in formulas} if not isinstance(names, str) else set()
            for k, (_, names) in formulas.items()
        }
        reported: set[str] = set()
        for start in formulas:
            cycle = _find_cycle(start, deps)
            if cycle and not reported.intersection(cycle):
                reported.update(cycle)
                chain = " -> ".join([*cycle, cycle[0]])
                self.add(
                    f"{formulas[cycle[0]][0]}.formula", f"formulas depend on each other: {chain}"
                )

    # -- references and conditions ----------------------------------------------------

    def resolve(
        self, name: str, rt_key: str | None, rows: bool = False
    ) -> tuple[dict | None, str | None]:
        """The field a (dotted) path names, or (None, problem text + hint).

        ``rows``: the path may go into a table field's rows (conditions: any row matches).
        """
        parts = name.split(".")
        current = rt_key
        for i, part in enumerate(parts):
            fields = self.fields(current)
            f = fields.get(part)
            last = i == len(parts) - 1
            if f is None and last and part in QUERYABLE_SYSTEM:
                return {"key": part, "type": "system"}, None
            if f is None:
                return None, f'unknown field "{part}" on {current}|{suggest(part, fields) or ""}'
            if last:
                return f, None
            if f.get("type") == "table" and rows:
                current = child_key(str(current), part)
                continue
            if f.get("type") == "table":
                hint = f"only conditions look into rows; sum them with a rollup (table: {part})"
                return None, f'"{part}" is a table, so "{name}" cannot be used here|{hint}'
            if f.get("type") not in LINKS:
                return None, f'"{part}" is not a link, so "{name}" cannot follow it|'
            current = f.get("to")
            if isinstance(current, list):
                hint = f'filter on "{part}" itself with {{type: …, id: …}}'
                return (
                    None,
                    f'"{part}" links several record types, so "{name}" cannot follow it|{hint}',
                )

            if current not in self.types:
                return None, ""  # the link's own check reports the missing type
        return None, None

    def field_exists(
        self, name: Any, path: str, rt_key: str | None, what: str = "field", rows: bool = False
    ) -> dict | None:
        """Report ``name`` unless it resolves on ``rt_key``; the field or None."""
        if not isinstance(name, str) or (rt_key not in self.types and rt_key not in self.children):
            return None
        f, problem = self.resolve(name, rt_key, rows)
        if problem:
            message, _, hint = problem.partition("|")
            prefix = "" if what == "field" else f"{what}: "
            self.add(path, prefix + message, hint or None)
        return f

    def condition(
        self, cond: Any, path: str, rt_key: str | None, changes: bool = False, depth: int = 1
    ) -> None:
        """Check fields, ops and values of a condition (recursively, at most 32 levels)."""
        if not isinstance(cond, dict):
            return
        if depth > CONDITION_MAX_DEPTH:
            hint = "flatten it: all/any take a list of any length"
            self.add(path, f"conditions nest at most {CONDITION_MAX_DEPTH} levels deep", hint)
            return
        for key in ("all", "any"):
            items = cond.get(key) or []
            if isinstance(items, list) and len(items) > CONDITION_MAX_LEAVES:
                self.add(f"{path}.{key}", f"at most {CONDITION_MAX_LEAVES} conditions per list")
                continue
            for i, sub in enumerate(items):
                self.condition(sub, f"{path}.{key}[{i}]", rt_key, changes, depth + 1)
        if "not" in cond:
            self.condition(cond["not"], f"{path}.not", rt_key, changes, depth + 1)
        if "field" in cond:
            self.leaf(cond, path, rt_key, changes)

    def leaf(self, cond: dict, path: str, rt_key: str | None, changes: bool) -> None:
        """Check one ``{field, op, value}`` condition."""
        f = self.field_exists(cond.get("field"), f"{path}.field", rt_key, rows=True)
        op, value, has_value = cond.get("op"), cond.get("value"), "value" in cond
        if op in CHANGE_OPS and not changes:
            self.add(f"{path}.op", f'op "{op}" is only allowed in a workflow\'s when')
        elif isinstance(op, str) and f is not None:
            self.op_fits(op, f, f"{path}.op", changes)
        if isinstance(value, dict):
            self.field_exists(value.get("field"), f"{path}.value.field", rt_key)
        problem = _value_problem(op, value, has_value)
        if problem:
            self.add(f"{path}.value" if has_value else path, problem)

    def op_fits(self, op: str, f: dict, path: str, changes: bool) -> None:
        """Report an operator the field's type does not support, listing those it does."""
        from tessera.query.conditions import OPERATORS, SYSTEM_FIELDS  # unknown: the schema's

        allowed = allowed_operators(f, changes)
        if allowed is not None and op in OPERATORS and op not in allowed:
            ftype = f.get("type")
            ftype = SYSTEM_FIELDS[f["key"]].type if ftype == "system" else ftype
            self.add(
                path,
                f'op "{op}" does not apply to {ftype} field "{f.get("key")}"',
                f"use one of: {', '.join(allowed)}",
            )

    # -- views, forms, workflows ------------------------------------------------------

    def record_type_exists(self, item: dict, path: str) -> str | None:
        """The item's record_type if it exists; reported otherwise."""
        rt = item.get("record_type")
        if isinstance(rt, str) and rt not in self.types:
            self.add(
                f"{path}.record_type", f'record type "{rt}" does not exist', suggest(rt, self.types)
            )
            return None
        return rt if isinstance(rt, str) else None

    def check_view(self, path: str, view: dict) -> None:
        """Columns, filter, sort and type-specific fields of a view."""
        if view.get("type") == "dashboard":
            self.view_dashboard(path, view)
            return
        rt = self.record_type_exists(view, path)
        if rt is None:
            return
        for i, col in enumerate(_strs(view.get("columns"))):
            self.field_exists(col, f"{path}.columns[{i}]", rt)
        self.condition(view.get("filter"), f"{path}.filter", rt)
        for spath, sort in _items(view.get("sort"), f"{path}.sort"):
            self.field_exists(sort.get("field"), f"{spath}.field", rt)
        getattr(self, f"view_{view.get('type')}", lambda *a: None)(path, view, rt)

    def view_kanban(self, path: str, view: dict, rt: str) -> None:
        """A kanban groups by a select field or a link (to one record type)."""
        f = self.field_exists(view.get("group_by"), f"{path}.group_by", rt)
        lane_link = f is not None and f.get("type") == "link" and isinstance(f.get("to"), str)
        if f is not None and f.get("type") != "select" and not lane_link:
            ok = [k for k, v in self.fields(rt).items() if _lane_field(v)]
            hint = f"select or link fields of {rt}: {', '.join(ok)}" if ok else None
            what = f.get("type") if not isinstance(f.get("to"), list) else "link to several types"
            msg = f'kanban group_by must be a select or link field; "{f["key"]}" is a {what}'
            self.add(f"{path}.group_by", msg, hint)
        order = view.get("lane_order")
        if isinstance(order, str) and not lane_link:
            self.add(f"{path}.lane_order", "lane_order only applies to a kanban grouped by a link")
        elif isinstance(order, str) and f is not None:
            theirs = self.fields(f.get("to"))
            if order not in theirs and order not in QUERYABLE_SYSTEM:
                hint = suggest(order, theirs)
                self.add(f"{path}.lane_order", f'"{order}" is not a field of {f.get("to")}', hint)
        for i, name in enumerate(_strs(view.get("sums"))):
            total = self.field_exists(name, f"{path}.sums[{i}]", rt)
            if total is not None and not self.numeric(total):
                msg = f'cannot total "{name}" in lane headers: it is a {total.get("type")}'
                self.add(f"{path}.sums[{i}]", msg, "name number, currency or formula fields")

    def view_table(self, path: str, view: dict, rt: str) -> None:
        """A table's group_by names a select, boolean, link (to one type) or user field."""
        if view.get("group_by") is None:
            return
        f = self.field_exists(view.get("group_by"), f"{path}.group_by", rt)
        if f is not None and not _row_group_field(f):
            ok = [k for k, v in self.fields(rt).items() if _row_group_field(v)]
            hint = f"fields that can group rows: {', '.join(ok)}" if ok else None
            what = f'"{f["key"]}" is a {f.get("type")}'
            msg = f"a table groups rows by a select, boolean, link or user field; {what}"
            self.add(f"{path}.group_by", msg, hint)

    def view_calendar(self, path: str, view: dict, rt: str) -> None:
        """A calendar places records by a date or datetime field."""
        for key in ("date_field", "end_field"):
            f = self.field_exists(view.get(key), f"{path}.{key}", rt)
            if f is not None and f.get("type") not in ("date", "datetime", "system"):
                found = f'"{f["key"]}" is a {f.get("type")}'
                msg = f"calendar {key} must be a date or datetime field; {found}"
                self.add(f"{path}.{key}", msg)

    def check_form(self, path: str, form: dict) -> None:
        """Section fields exist once each; visible_when names form fields."""
        if form.get("rate_limit") is not None and not form.get("public"):
            hint = "add public: true, or remove rate_limit (signed-in forms are not limited)"
            self.add(f"{path}.rate_limit", "rate_limit only applies to a public form", hint)
        rt = self.record_type_exists(form, path)
        if rt is None:
            return
        placed: dict[str, str] = {}
        for spath, section in _items(form.get("sections"), f"{path}.sections"):
            for i, name in enumerate(_strs(section.get("fields"))):
                where = f"{spath}.fields[{i}]"
                if name in placed:
                    self.add(where, f'field "{name}" is already on this form (at {placed[name]})')
                    continue
                placed[name] = where
                fields = self.fields(rt)
                if name not in fields:
                    self.add(where, f'unknown field "{name}" on {rt}', suggest(name, fields))
        for name, cond in _dict(form.get("visible_when")).items():
            where = f"{path}.visible_when.{name}"
            if name not in placed:
                self.add(where, f'"{name}" is not a field on this form', suggest(name, placed))
            self.condition(cond, where, rt)

    def check_workflow(self, path: str, wf: dict) -> None:
        """Record type, trigger, when and the conditions inside actions."""
        trigger = _dict(wf.get("trigger"))
        rt = self.record_type_exists(wf, path)
        on = trigger.get("on")
        if rt is None and "record_type" not in wf and on in RECORD_TRIGGERS:
            self.add(f"{path}.record_type", f'a workflow triggered by "{on}" needs a record_type')
        if on == "form.submitted":
            rt = self.trigger_form(path, wf, trigger, rt)
        self.check_trigger(f"{path}.trigger", trigger, rt)
        self.condition(wf.get("when"), f"{path}.when", rt, changes=True)
        self.check_actions(wf.get("actions"), f"{path}.actions", rt)

    def trigger_form(self, path: str, wf: dict, trigger: dict, rt: str | None) -> str | None:
        """The form of a form.submitted trigger exists; its record type is the workflow's."""
        form = self.forms.get(trigger.get("form"))
        if form is None:
            name = trigger.get("form")
            if isinstance(name, str):
                self.add(
                    f"{path}.trigger.form",
                    f'form "{name}" does not exist',
                    suggest(name, self.forms),
                )
            return rt
        if rt is not None and form.get("record_type") != rt:
            msg = f'form "{trigger["form"]}" is for {form.get("record_type")}, not {rt}'
            self.add(f"{path}.record_type", msg)
        return rt or form.get("record_type")

    def check_trigger(self, path: str, trigger: dict, rt: str | None) -> None:
        """Fields named by field.changed/date triggers exist; timezones are real."""
        for i, name in enumerate(_strs(trigger.get("fields"))):
            self.field_exists(name, f"{path}.fields[{i}]", rt)
        if trigger.get("on") == "date":
            f = self.field_exists(trigger.get("field"), f"{path}.field", rt)
            if f is not None and f.get("type") not in ("date", "datetime", "system"):
                self.add(
                    f"{path}.field", f'"{f["key"]}" is a {f.get("type")}, not a date or datetime'
                )
        tz = trigger.get("timezone")
        if isinstance(tz, str) and not _is_zone(tz):
            self.add(
                f"{path}.timezone",
                f'unknown timezone "{tz}"',
                "use an IANA name such as Asia/Shanghai",
            )

    def check_actions(self, actions: Any, path: str, rt: str | None) -> None:
        """Conditions inside ``if`` actions, recursively."""
        for apath, action in _items(actions, path):
            if action.get("do") == "if":
                self.condition(action.get("condition"), f"{apath}.condition", rt, changes=True)
                self.check_actions(action.get("then"), f"{apath}.then", rt)
                self.check_actions(action.get("else"), f"{apath}.else", rt)

    # -- roles ------------------------------------------------------------------------

    def check_role(self, path: str, role: dict) -> None:
        """A role's key is not the built-in admin; its permissions name real things."""
        if role.get("key") == "admin":
            self.add(f"{path}.key", 'role "admin" is built in', "choose another key")
        for rt_key, perm in _dict(role.get("permissions")).items():
            where = f"{path}.permissions.{rt_key}"
            if rt_key == "*":
                self.check_default_permission(where, _dict(perm))
            elif rt_key not in self.types:
                self.add(
                    where, f'record type "{rt_key}" does not exist', suggest(rt_key, self.types)
                )
            else:
                self.check_permission(where, _dict(perm), rt_key)

    def check_permission(self, path: str, perm: dict, rt_key: str) -> None:
        """Scopes' conditions, the owner field and the field rules of one record type."""
        for op in OPERATIONS:
            if isinstance(perm.get(op), dict):
                self.condition(perm[op], f"{path}.{op}", rt_key)
        owner = perm.get("owner")
        if isinstance(owner, str) and owner not in ("created_by", "updated_by"):
            f = self.field_exists(owner, f"{path}.owner", rt_key)
            if f is not None and f.get("type") != "user":
                self.add(f"{path}.owner", f'"{owner}" is a {f.get("type")}, not a user field')
        fields = self.fields(rt_key)
        if "pool" in perm:
            name = owner if isinstance(owner, str) else "owner"
            if _dict(fields.get(name)).get("type") != "user":
                self.add(
                    f"{path}.pool",
                    f'a pool needs an owner user field on {rt_key} ("{name}" is not one)',
                    "add a user field called owner, or name one with owner:",
                )
        for key in _dict(perm.get("fields")):
            if key != "*" and key not in fields:
                self.add(
                    f"{path}.fields.{key}",
                    f'unknown field "{key}" on {rt_key}',
                    suggest(key, fields),
                )

    def check_default_permission(self, path: str, perm: dict) -> None:
        """``*`` applies to many record types: only plain scopes fit all of them."""
        for op in OPERATIONS:
            if isinstance(perm.get(op), dict):
                self.add(f"{path}.{op}", "a condition needs a named record type, not *")
        for key in ("owner", "fields", "pool"):
            if key in perm:
                self.add(f"{path}.{key}", f"{key} needs a named record type, not *")


def _links_to(link: dict, rt_key: str) -> bool:
    """True when ``link`` is a link to ``rt_key`` (a polymorphic one: among its types)."""
    to = link.get("to")
    return link.get("type") == "link" and (to == rt_key or (isinstance(to, list) and rt_key in to))


def _lane_field(f: dict) -> bool:
    """True for a field a kanban can make lanes of: select, or a link to one type."""
    return f.get("type") == "select" or (f.get("type") == "link" and isinstance(f.get("to"), str))


def _value_problem(op: Any, value: Any, has_value: bool) -> str | None:
    """What is wrong with a condition's value for its op, or None."""
    if op in NO_VALUE_OPS:
        return f'op "{op}" takes no value' if has_value else None
    if not isinstance(op, str):
        return None
    if not has_value:
        return f'op "{op}" needs a value'
    if op in LIST_OPS and not isinstance(value, list):
        return f'op "{op}" needs a list of values'
    if op == "between" and not (isinstance(value, list) and len(value) == 2):
        return 'op "between" needs a list of two values: [low, high]'
    if op in DAYS_OPS and not (
        isinstance(value, int) and not isinstance(value, bool) and value > 0
    ):
        return f'op "{op}" needs a positive whole number of days'
    return None


def allowed_operators(f: dict, changes: bool) -> tuple[str, ...] | None:
    """The operators conditions may use on field data ``f`` (None: unknown type)."""
    from tessera.meta.compile import compile_field
    from tessera.query import conditions

    try:
        if f.get("type") == "system":
            field = conditions.SYSTEM_FIELDS[f["key"]]
        else:
            field = compile_field(f)
        return conditions.allowed_operators(field, allow_changes=changes)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # an unregistered type or a broken field: reported elsewhere


def _is_zone(name: str) -> bool:
    """True when ``name`` is a known IANA timezone."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _find_cycle(start: str, deps: dict[str, set[str]]) -> list[str] | None:
    """A dependency cycle through ``start`` (as a list of keys), or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(deps.get(node, ())):
            if nxt == start:
                return trail
            if nxt not in trail:
                stack.append((nxt, [*trail, nxt]))
    return None


def semantic_problems(data: Any) -> list[Problem]:
    """Every semantic problem of template ``data`` (paths only; lines come later)."""
    if not isinstance(data, dict):
        return []
    return Checker(data).run()


def _row_group_field(f: dict) -> bool:
    """True for a field a table view can group its rows by."""
    return f.get("type") in ("select", "boolean", "user") or (
        f.get("type") == "link" and isinstance(f.get("to"), str)
    )
