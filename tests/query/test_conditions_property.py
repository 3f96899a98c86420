"""Property: for random records and random conditions, SQL selects exactly what Python accepts.

Records (with NULLs, empty strings and lists, unicode, negative numbers, day-boundary instants,
extreme dates) go into real tables on SQLite and PostgreSQL; each condition is compiled with
``to_sql`` and also evaluated with ``evaluate`` on every record; the id sets must be equal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from query_app import ACCOUNT, APP, CUSTOMER, NOW, REGIONS, TAGS, TIERS

from tessera.query import conditions, dates

NOWS = [
    NOW,
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
]
RELATIVE = ["today", "tomorrow", "yesterday", "start_of_month", "start_of_week", "+3d", "-7d"]

# ---------------------------------------------------------------- values

_chars = st.one_of(
    st.sampled_from(list("aAbBzZ %_/\\'äÄßİıé中")),
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
)
texts = st.text(alphabet=_chars, max_size=6)
opt_texts = st.one_of(st.none(), st.just(""), texts)
words = texts.filter(lambda s: s.strip() != "")
ints = st.one_of(st.sampled_from([-1, 0, 1]), st.integers(-(2**40), 2**40))
money = st.decimals(min_value=-(10**9), max_value=10**9, places=2)
tag_lists = st.lists(st.sampled_from(TAGS), unique=True, max_size=3)


def _near_days(now: datetime):
    today = dates.today(now)
    return st.integers(-12, 12).map(lambda k: dates.shift(today, k))


def _dates(now: datetime):
    return st.one_of(_near_days(now), st.dates(), st.sampled_from([date.min, date.max]))


def _datetimes(now: datetime):
    """Around now, exactly on day boundaries of now's zone (±1µs), and anywhere."""
    boundary = st.tuples(_near_days(now), st.sampled_from([-1, 0, 1])).map(
        lambda t: dates.day_start(t[0], now) + timedelta(microseconds=t[1])
    )
    near = st.integers(-5 * 86400, 5 * 86400).map(
        lambda s: dates.to_utc(now) + timedelta(seconds=s)
    )
    anywhere = st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
    return st.one_of(boundary, near, anywhere, st.just(dates.to_utc(now)))


def _maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def records(draw, now):
    """(accounts, customers) as coerced values; customers link to accounts and earlier customers."""
    accounts = []
    for i in range(1, draw(st.integers(0, 4)) + 1):
        accounts.append(
            {
                "id": i,
                "name": draw(opt_texts),
                "region": draw(_maybe(st.sampled_from(REGIONS))),
                "rank": draw(_maybe(ints)),
            }
        )
    customers = []
    for i in range(1, draw(st.integers(0, 8)) + 1):
        customers.append(
            {
                "id": i,
                "name": draw(opt_texts),
                "nickname": draw(opt_texts),
                "tier": draw(_maybe(st.sampled_from(TIERS))),
                "score": draw(_maybe(ints)),
                "limit": draw(_maybe(ints)),
                "spent": draw(_maybe(money)),
                "tags": draw(st.one_of(st.none(), st.just([]), tag_lists)),
                "since": draw(_maybe(_dates(now))),
                "renewal": draw(_maybe(_dates(now))),
                "seen_at": draw(_maybe(_datetimes(now))),
                "active": draw(_maybe(st.booleans())),
                "owner": draw(_maybe(st.sampled_from([1, 2, 3]))),
                "account": draw(_maybe(st.sampled_from([a["id"] for a in accounts] or [None]))),
                "parent": draw(_maybe(st.sampled_from(list(range(1, i)) or [None]))),
            }
        )
    return accounts, customers


# ---------------------------------------------------------------- conditions


def _leaf(field, ops, values):
    return st.tuples(st.sampled_from(ops), values).map(
        lambda t: {"field": field, "op": t[0], "value": t[1]}
    )


def _bare(field, ops):
    return st.sampled_from(ops).map(lambda op: {"field": field, "op": op})


def _scalar_leaves(field, values, *, order=True, other=None):
    cmp_ops = ["eq", "ne", "lt", "lte", "gt", "gte"] if order else ["eq", "ne"]
    parts = [
        _leaf(field, cmp_ops, values),
        _leaf(field, ["in", "not_in"], st.lists(values, max_size=3)),
        _bare(field, ["is_empty", "is_not_empty"]),
    ]
    if order:
        parts.append(_leaf(field, ["between"], st.lists(values, min_size=2, max_size=2)))
    if other:
        parts.append(_leaf(field, cmp_ops, st.just({"field": other})))
    return parts


def _text_leaves(field, other=None):
    return [
        _leaf(field, ["eq", "ne"], words),
        _leaf(field, ["in", "not_in"], st.lists(words, max_size=3)),
        _leaf(field, ["contains", "not_contains", "starts_with"], texts.filter(bool)),
        _bare(field, ["is_empty", "is_not_empty"]),
        *([_leaf(field, ["eq", "ne"], st.just({"field": other}))] if other else []),
    ]


def _temporal_leaves(field, values, other=None):
    return [
        *_scalar_leaves(field, values, other=other),
        _leaf(field, ["within_last_days", "within_next_days"], st.integers(0, 30)),
        _bare(field, ["before_today", "after_today"]),
    ]


def account_leaves(now):
    return st.one_of(
        *_text_leaves("name"),
        *_scalar_leaves("region", st.sampled_from(REGIONS), order=False),
        *_scalar_leaves("rank", ints),
    )


def customer_leaves(now, *, others=True):
    date_values = st.one_of(_dates(now).map(date.isoformat), st.sampled_from(RELATIVE))
    dt_values = st.one_of(
        _datetimes(now).map(datetime.isoformat), st.sampled_from([*RELATIVE, "now"])
    )
    return st.one_of(
        *_text_leaves("name", "nickname" if others else None),
        *_scalar_leaves("tier", st.sampled_from(TIERS), order=False),
        *_scalar_leaves("score", ints, other="limit" if others else None),
        *_scalar_leaves("spent", money.map(str)),
        _leaf("tags", ["contains", "not_contains"], st.one_of(st.sampled_from(TAGS), tag_lists)),
        _bare("tags", ["is_empty", "is_not_empty"]),
        *_temporal_leaves("since", date_values, "renewal" if others else None),
        *_temporal_leaves("seen_at", dt_values),
        _leaf("active", ["eq", "ne"], st.booleans()),
        _bare("active", ["is_empty", "is_not_empty"]),
        *_scalar_leaves("owner", st.sampled_from([1, 2, 3, "$me"]), order=False),
        *_scalar_leaves("account", st.integers(1, 4), order=False),
    )


def _dotted(prefix, leaves):
    return leaves.map(lambda c: {**c, "field": f"{prefix}.{c['field']}"})


def condition_trees(now):
    leaves = st.one_of(
        customer_leaves(now),
        _dotted("account", account_leaves(now)),
        _dotted("parent", customer_leaves(now, others=False)),
        _dotted("parent.account", account_leaves(now)),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda xs: {"all": xs}),
            st.lists(children, max_size=3).map(lambda xs: {"any": xs}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=6,
    )


@st.composite
def scenarios(draw):
    """A now, a me, a data set and a few conditions over it."""
    now = draw(st.sampled_from(NOWS))
    me = draw(st.sampled_from([1, 2, None]))
    accounts, customers = draw(records(now))
    conds = draw(st.lists(condition_trees(now), min_size=1, max_size=4))
    return now, me, accounts, customers, conds


# ---------------------------------------------------------------- the property


def _resolver(accounts, customers):
    by_type = {
        "account": {a["id"]: a for a in accounts},
        "customer": {c["id"]: c for c in customers},
    }
    return lambda prefix, linked_id: by_type[
        "account" if prefix.endswith("account") else "customer"
    ].get(linked_id)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_sql_and_python_agree(qdb, scenario):
    engine, tables = qdb
    now, me, accounts, customers, conds = scenario
    resolve = _resolver(accounts, customers)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            if accounts:
                conn.execute(tables["account"].insert(), accounts)
            for row in customers:
                conn.execute(tables["customer"].insert(), row)
            for cond in conds:
                _check_one(conn, tables, cond, me, now, customers, resolve)
        finally:
            tx.rollback()


def _check_one(conn, tables, cond, me, now, customers, resolve):
    problems = conditions.check(cond, CUSTOMER, APP)
    if problems:  # a generated value the field refuses (e.g. blank text): must raise, not run
        try:
            conditions.to_sql(cond, CUSTOMER, APP, tables, me=me, now=now)
        except conditions.ConditionError:
            event("condition rejected by check")
            return
        raise AssertionError(f"to_sql accepted a condition with problems: {problems}")
    where = conditions.to_sql(cond, CUSTOMER, APP, tables, me=me, now=now)
    table = tables["customer"]
    in_sql = set(conn.scalars(sa.select(table.c.id).where(where)))
    in_python = {
        r["id"]
        for r in customers
        if conditions.evaluate(cond, r, CUSTOMER, APP, me=me, now=now, resolve=resolve)
    }
    assert in_sql == in_python, f"condition {cond!r}"
    event(
        f"selected {'none' if not in_sql else 'all' if len(in_sql) == len(customers) else 'some'}"
    )


def test_account_conditions_are_generated_valid():
    """Guard for the generators: an account leaf is valid on its own record type."""
    cond = {"field": "rank", "op": "between", "value": [Decimal(1), 2]}
    assert conditions.check(cond, ACCOUNT, APP) == []
