"""Every operator on every kind of field, in SQL (SQLite and PostgreSQL) and in Python."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from query_app import APP, CUSTOMER, NOW, utc

from tessera.query import conditions
from tessera.query.conditions import ConditionError, evaluate, to_sql

D = Decimal
ACCOUNTS = [
    {"id": 1, "name": "Acme", "region": "north", "rank": 1},
    {"id": 2, "name": "Globex", "region": "south", "rank": 5},
    {"id": 3, "name": None, "region": None, "rank": None},
]
_EMPTY = {f.key: None for f in CUSTOMER.fields if f.type not in ("lookup", "link_many")}
CUSTOMERS = [
    {
        **_EMPTY,
        "id": 1, "name": "Alice Smith", "nickname": "Alice Smith", "tier": "high", "score": 10,
        "limit": 5, "spent": D("100.50"), "tags": ["vip", "new"], "since": utc(2026, 3, 14).date(),
        "renewal": utc(2026, 3, 20).date(), "seen_at": utc(2026, 3, 14, 16), "active": True,
        "owner": 1, "account": 1,
    },
    {
        **_EMPTY,
        "id": 2, "name": "bob", "nickname": "Bobby", "tier": "low", "score": -3, "limit": -3,
        "spent": D("0.00"), "tags": [], "since": utc(2026, 2, 1).date(),
        "renewal": utc(2026, 1, 1).date(), "seen_at": utc(2026, 3, 14, 15, 59, 59),
        "active": False, "owner": 2, "account": 2, "parent": 1,
    },
    {**_EMPTY, "id": 3, "name": "", "limit": 7, "parent": 1},
    {
        **_EMPTY,
        "id": 4, "name": "ÄRGER 100%_x", "nickname": "b", "tier": "mid", "score": 0,
        "spent": D("-20.25"), "tags": ["重要"], "since": utc(2026, 3, 18).date(),
        "renewal": utc(2026, 3, 18).date(), "seen_at": utc(2026, 3, 20, 3), "active": True,
        "owner": 1, "account": 3, "parent": 2,
    },
]  # fmt: skip
ALL = {1, 2, 3, 4}


def leaf(field, op, value=None):
    """A leaf condition (without ``value`` when None)."""
    return (
        {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
    )


CASES = [
    # text
    (leaf("name", "eq", "bob"), {2}),
    (leaf("name", "ne", "bob"), {1, 3, 4}),
    (leaf("name", "in", ["bob", "Alice Smith"]), {1, 2}),
    (leaf("name", "not_in", ["bob"]), {1, 3, 4}),
    (leaf("name", "contains", "SMITH"), {1}),
    (leaf("name", "contains", "Ärger"), {4}),
    (leaf("name", "contains", "ärger"), set()),  # case folding is ASCII-only (documented)
    (leaf("name", "contains", "0%_"), {4}),
    (leaf("name", "contains", "_"), {4}),
    (leaf("name", "contains", "%"), {4}),
    (leaf("name", "not_contains", "smith"), {2, 3, 4}),
    (leaf("name", "starts_with", "AL"), {1}),
    (leaf("name", "starts_with", "smith"), set()),
    (leaf("name", "is_empty"), {3}),
    (leaf("name", "is_not_empty"), {1, 2, 4}),
    (leaf("name", "eq", {"field": "nickname"}), {1}),
    (leaf("name", "ne", {"field": "nickname"}), {2, 3, 4}),
    # select
    (leaf("tier", "eq", "high"), {1}),
    (leaf("tier", "ne", "high"), {2, 3, 4}),
    (leaf("tier", "in", ["high", "low"]), {1, 2}),
    (leaf("tier", "not_in", ["high"]), {2, 3, 4}),
    (leaf("tier", "is_empty"), {3}),
    # number
    (leaf("score", "gt", 0), {1}),
    (leaf("score", "gte", "0"), {1, 4}),
    (leaf("score", "lt", 0), {2}),
    (leaf("score", "lte", 0), {2, 4}),
    (leaf("score", "eq", 0), {4}),
    (leaf("score", "ne", 0), {1, 2, 3}),
    (leaf("score", "between", [-3, 0]), {2, 4}),
    (leaf("score", "in", [10, -3]), {1, 2}),
    (leaf("score", "not_in", [10]), {2, 3, 4}),
    (leaf("score", "is_empty"), {3}),
    (leaf("score", "gt", {"field": "limit"}), {1}),
    (leaf("score", "eq", {"field": "limit"}), {2}),
    (leaf("score", "ne", {"field": "limit"}), {1, 3, 4}),
    # currency
    (leaf("spent", "gt", "0"), {1}),
    (leaf("spent", "lt", -20), {4}),
    (leaf("spent", "eq", 0), {2}),
    (leaf("spent", "between", ["-20.25", "100.50"]), {1, 2, 4}),
    # multi_select
    (leaf("tags", "contains", "vip"), {1}),
    (leaf("tags", "contains", ["vip", "new"]), {1}),
    (leaf("tags", "contains", ["vip", "churn"]), set()),
    (leaf("tags", "contains", "重要"), {4}),
    (leaf("tags", "not_contains", "vip"), {2, 3, 4}),
    (leaf("tags", "is_empty"), {2, 3}),
    (leaf("tags", "is_not_empty"), {1, 4}),
    # date (today is 2026-03-15 in now's zone, though UTC is still on the 14th)
    (leaf("since", "eq", "today"), set()),
    (leaf("since", "eq", "yesterday"), {1}),
    (leaf("since", "lt", "today"), {1, 2}),
    (leaf("since", "before_today"), {1, 2}),
    (leaf("since", "after_today"), {4}),
    (leaf("since", "within_last_days", 1), {1}),
    (leaf("since", "within_last_days", 0), set()),
    (leaf("since", "within_next_days", 3), {4}),
    (leaf("since", "within_next_days", 2), set()),
    (leaf("since", "gte", "start_of_month"), {1, 4}),
    (leaf("since", "eq", "2026-02-01"), {2}),
    (leaf("since", "lte", "-42d"), {2}),
    (leaf("since", "between", ["2026-03-01", "+3d"]), {1, 4}),
    (leaf("since", "in", ["2026-02-01", "yesterday"]), {1, 2}),
    (leaf("since", "is_empty"), {3}),
    (leaf("since", "lt", {"field": "renewal"}), {1}),
    (leaf("since", "eq", {"field": "renewal"}), {4}),
    # datetime: a relative day is the whole day in now's zone
    (leaf("seen_at", "eq", "today"), {1}),
    (leaf("seen_at", "eq", "yesterday"), {2}),
    (leaf("seen_at", "ne", "today"), {2, 3, 4}),
    (leaf("seen_at", "before_today"), {2}),
    (leaf("seen_at", "after_today"), {4}),
    (leaf("seen_at", "lt", "now"), {1, 2}),
    (leaf("seen_at", "gte", "today"), {1, 4}),
    (leaf("seen_at", "lte", "today"), {1, 2}),
    (leaf("seen_at", "gt", "today"), {4}),
    (leaf("seen_at", "within_last_days", 0), {1}),
    (leaf("seen_at", "within_last_days", 1), {1, 2}),
    (leaf("seen_at", "within_next_days", 5), {4}),
    (leaf("seen_at", "within_next_days", 4), set()),
    (leaf("seen_at", "gt", "2026-03-14T16:00:00Z"), {4}),
    (leaf("seen_at", "gte", "2026-03-15T00:00:00+08:00"), {1, 4}),
    (leaf("seen_at", "between", ["yesterday", "today"]), {1, 2}),
    # boolean
    (leaf("active", "eq", True), {1, 4}),
    (leaf("active", "eq", "false"), {2}),
    (leaf("active", "ne", True), {2, 3}),
    (leaf("active", "is_empty"), {3}),
    # user and $me (me = 1)
    (leaf("owner", "eq", "$me"), {1, 4}),
    (leaf("owner", "ne", "$me"), {2, 3}),
    (leaf("owner", "eq", 2), {2}),
    (leaf("owner", "in", ["$me", 2]), {1, 2, 4}),
    (leaf("owner", "is_empty"), {3}),
    # link and dotted paths
    (leaf("account", "eq", 1), {1}),
    (leaf("account", "ne", 1), {2, 3, 4}),
    (leaf("account", "in", [1, "2"]), {1, 2}),
    (leaf("account", "is_empty"), {3}),
    (leaf("account.region", "eq", "north"), {1}),
    (leaf("account.region", "ne", "north"), {2, 3, 4}),
    (leaf("account.region", "is_empty"), {3, 4}),
    (leaf("account.name", "contains", "O"), {2}),
    (leaf("account.rank", "gt", 2), {2}),
    (leaf("account_region", "eq", "north"), {1}),  # a lookup follows its link
    (leaf("parent.tier", "eq", "high"), {2, 3}),
    (leaf("parent.account.region", "eq", "north"), {2, 3}),
    (leaf("parent.account.region", "eq", "south"), {4}),
    (leaf("parent.parent.score", "is_empty"), {1, 2, 3}),
    ({"not": leaf("account.region", "eq", "north")}, {2, 3, 4}),
    # system columns
    (leaf("id", "gt", 2), {3, 4}),
    (leaf("created_by", "eq", "$me"), {1, 4}),
    (leaf("created_at", "within_last_days", 0), {1}),
    # groups
    (None, ALL),
    ({"all": []}, ALL),
    ({"any": []}, set()),
    ({"any": [leaf("tier", "eq", "high"), leaf("score", "lt", 0)]}, {1, 2}),
    ({"not": {"all": [leaf("active", "eq", True), leaf("tier", "eq", "mid")]}}, {1, 2, 3}),
    ({"not": {"not": leaf("score", "gt", 0)}}, {1}),
    ({"not": leaf("score", "gt", 0)}, {2, 3, 4}),
]


@pytest.fixture(scope="module")
def loaded(qdb):
    """The fixed data set inserted once per backend."""
    engine, tables = qdb
    with engine.begin() as conn:
        conn.execute(tables["account"].insert(), ACCOUNTS)
        for row in CUSTOMERS:
            extra = {"created_at": row["seen_at"], "created_by": row["owner"]}
            conn.execute(tables["customer"].insert(), {**row, **extra})
    return engine, tables


def _resolve(prefix: str, linked_id: int):
    table = ACCOUNTS if prefix.endswith("account") else CUSTOMERS
    return next((r for r in table if r["id"] == linked_id), None)


def python_ids(cond, me=1) -> set[int]:
    """Ids of the records ``evaluate`` accepts."""
    ids = set()
    for row in CUSTOMERS:
        record = {**row, "created_at": row["seen_at"], "created_by": row["owner"]}
        if evaluate(cond, record, CUSTOMER, APP, me=me, now=NOW, resolve=_resolve):
            ids.add(row["id"])
    return ids


def sql_ids(engine, tables, cond, me=1) -> set[int]:
    """Ids of the rows the compiled condition selects."""
    table = tables["customer"]
    where = to_sql(cond, CUSTOMER, APP, tables, me=me, now=NOW)
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(table.c.id).where(where)))


@pytest.mark.parametrize(("cond", "expected"), CASES, ids=[repr(c) for c, _ in CASES])
def test_operator(loaded, cond, expected):
    engine, tables = loaded
    assert python_ids(cond) == expected
    assert sql_ids(engine, tables, cond) == expected


@pytest.mark.parametrize(
    ("cond", "expected"),
    [(leaf("owner", "eq", "$me"), set()), (leaf("owner", "ne", "$me"), ALL)],
)
def test_me_without_a_user(loaded, cond, expected):
    engine, tables = loaded
    assert python_ids(cond, me=None) == expected
    assert sql_ids(engine, tables, cond, me=None) == expected


def test_same_statement_shape_with_other_values_is_not_served_from_a_stale_cache(loaded):
    engine, tables = loaded
    for tag, expected in [("vip", {1}), ("重要", {4}), ("churn", set())]:
        assert sql_ids(engine, tables, leaf("tags", "contains", tag)) == expected
    for text, expected in [("smith", {1}), ("bo", {2})]:
        assert sql_ids(engine, tables, leaf("name", "contains", text)) == expected


def test_evaluate_needs_resolve_for_a_dotted_path():
    with pytest.raises(ConditionError, match="resolve"):
        evaluate(leaf("account.region", "eq", "north"), CUSTOMERS[0], CUSTOMER, APP, me=1, now=NOW)


def test_link_paths_lists_what_to_batch_load():
    cond = {"any": [leaf("parent.account.region", "eq", "north"), leaf("account.rank", "gt", 1)]}
    compiled = conditions.compile(cond, CUSTOMER, APP, me=1, now=NOW)
    assert compiled.link_paths() == {"parent", "parent.account", "account"}


class TestChanges:
    """changed / changed_to / changed_from: workflow-only, Python-only."""

    def run(self, cond, new, old):
        return evaluate(cond, new, CUSTOMER, APP, me=1, now=NOW, old=old)

    def test_changed(self):
        cond = leaf("tier", "changed")
        assert self.run(cond, {"tier": "high"}, {"tier": "low"})
        assert not self.run(cond, {"tier": "high"}, {"tier": "high"})
        assert self.run(cond, {"tier": "high"}, None)  # a new record: everything changed
        assert not self.run(cond, {"tier": None}, {"tier": ""})

    def test_changed_to_and_from(self):
        assert self.run(leaf("tier", "changed_to", "high"), {"tier": "high"}, {"tier": "low"})
        assert not self.run(leaf("tier", "changed_to", "high"), {"tier": "high"}, {"tier": "high"})
        assert self.run(leaf("tier", "changed_from", "low"), {"tier": "high"}, {"tier": "low"})
        assert not self.run(leaf("tier", "changed_from", "mid"), {"tier": "high"}, {"tier": "low"})

    def test_on_multi_select_means_added_or_removed(self):
        new, old = {"tags": ["vip", "new"]}, {"tags": ["new", "churn"]}
        assert self.run(leaf("tags", "changed_to", "vip"), new, old)
        assert self.run(leaf("tags", "changed_from", "churn"), new, old)
        assert not self.run(leaf("tags", "changed_to", "new"), new, old)

    def test_numbers_compare_by_value(self):
        cond = leaf("spent", "changed")
        assert not self.run(cond, {"spent": D("1.50")}, {"spent": D("1.5")})

    def test_have_no_sql_form(self):
        with pytest.raises(ConditionError) as err:
            to_sql({"all": [leaf("tier", "changed")]}, CUSTOMER, APP, {}, me=1, now=NOW)
        assert err.value.problems[0].path == "filter.all[0].op"
        compiled = conditions.compile(
            leaf("tier", "changed"), CUSTOMER, APP, me=1, now=NOW, allow_changes=True
        )
        with pytest.raises(ConditionError, match="no SQL form"):
            compiled.to_sql({"customer": sa.table("x", sa.column("tier"))})
