"""The permission matrix through the records and query services, for every CRM role.

The expected outcomes live in access_world; the test refuses to run unless they name
exactly the roles the CRM declares, so a new role cannot ship without its row.
"""

from __future__ import annotations

import contextlib

import pytest
from access_world import (
    CREATES,
    DELETES,
    EVERYTHING,
    FIELD_WRITES,
    HIDDEN,
    NOTE,
    PLAYS,
    READS,
    UPDATES,
    names,
    new_values,
)

from tessera.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from tessera.meta import load_app
from tessera.records.actor import Actor

ROLES = sorted(READS)


def test_the_matrix_covers_exactly_the_crm_roles():
    from access_world import CRM

    declared = {r.key for r in load_app(CRM).roles}
    assert declared | {"admin", "nobody"} == set(READS) == set(PLAYS)
    for table in (CREATES, UPDATES, DELETES):
        assert set(table) == set(READS)


@pytest.mark.parametrize("role", ROLES)
def test_reads_counts_and_aggregates(t, world, role):
    me = world[PLAYS[role]]
    for rt_key, everything in EVERYTHING.items():
        expected = READS[role][rt_key]
        page = t.queries.list("crm", rt_key, user_id=me, with_total=True, limit=100)
        assert names(page.rows) == expected, rt_key
        assert page.total == len(expected)
        [agg] = t.queries.aggregate("crm", rt_key, user_id=me) or [{"count": 0}]
        assert agg["count"] == len(expected)
        for name in everything:
            if name in expected:
                assert t.records.get("crm", rt_key, world[name], me)["id"] == world[name]
            else:
                with pytest.raises(NotFound):
                    t.records.get("crm", rt_key, world[name], me)


@pytest.mark.parametrize("role", ROLES)
def test_hidden_fields_are_absent_and_unusable(t, world, role):
    me = world[PLAYS[role]]
    for rt_key in EVERYTHING:
        hidden = HIDDEN.get(role, {}).get(rt_key, set())
        for row in t.queries.list("crm", rt_key, user_id=me).rows:
            assert not hidden & set(row), (rt_key, row)
        for key in hidden:
            with pytest.raises(BadRequest) as bad:
                t.queries.list("crm", rt_key, user_id=me, sort=key)
            assert key in str(bad.value)
            with pytest.raises(BadRequest) as bad:
                flt = {"field": key, "op": "is_not_empty"}
                t.queries.list("crm", rt_key, user_id=me, filter=flt)
            assert key in str(bad.value)
            with pytest.raises(BadRequest):
                t.queries.aggregate("crm", rt_key, user_id=me, measures=[("sum", key)])
    if "credit_limit" in HIDDEN.get(role, {}).get("customer", ()):
        # searching for the hidden value finds nothing, history does not show it
        assert t.queries.list("crm", "customer", user_id=me, q="777123").rows == []
        for name in READS[role]["customer"]:
            for entry in t.records.history("crm", "customer", world[name], me):
                assert "credit_limit" not in entry["changes"]


@pytest.mark.parametrize("role", ROLES)
def test_creates(t, world, role):
    actor = Actor(world[PLAYS[role]], "user")
    for rt_key in EVERYTHING:
        values = new_values(rt_key, world)
        if rt_key in CREATES[role]:
            row = t.records.create("crm", rt_key, values, actor)
            assert not HIDDEN.get(role, {}).get(rt_key, set()) & set(row)
        else:
            with pytest.raises((Forbidden, ValidationFailed)):
                t.records.create("crm", rt_key, values, actor)
    created = {rt: t.queries.list("crm", rt, filter=None).rows for rt in EVERYTHING}
    for rt_key, rows in created.items():  # refused creates wrote nothing
        made = {r.get("name") or r.get("subject") for r in rows} - EVERYTHING[rt_key]
        assert len(made) == (1 if rt_key in CREATES[role] else 0), rt_key


@pytest.mark.parametrize("role", ROLES)
def test_updates_and_deletes(t, world, role):
    actor = Actor(world[PLAYS[role]], "user")
    for rt_key, everything in EVERYTHING.items():
        for name in sorted(everything):
            change = {NOTE[rt_key]: f"changed by {role}"}
            if name in UPDATES[role][rt_key]:
                t.records.update("crm", rt_key, world[name], change, actor)
            else:
                with pytest.raises((Forbidden, NotFound)):
                    t.records.update("crm", rt_key, world[name], change, actor)
                stored = t.records.get("crm", rt_key, world[name])
                assert stored.get(NOTE[rt_key]) != f"changed by {role}"
    for rt_key in ("follow_up", "opportunity", "ticket", "customer"):
        for name in sorted(EVERYTHING[rt_key]):
            if name in DELETES[role][rt_key]:
                with contextlib.suppress(Conflict):  # allowed, maybe blocked by links to it
                    t.records.delete("crm", rt_key, world[name], actor)
            else:
                with pytest.raises((Forbidden, NotFound)):
                    t.records.delete("crm", rt_key, world[name], actor)
                assert t.records.get("crm", rt_key, world[name])["id"] == world[name]


@pytest.mark.parametrize(("role", "key"), sorted(FIELD_WRITES))
def test_field_writes(t, world, role, key):
    actor = Actor(world[PLAYS[role]], "user")
    value = {"tier": "high", "credit_limit": "5"}[key]
    if FIELD_WRITES[(role, key)]:
        t.records.update("crm", "customer", world["c1"], {key: value}, actor)
        assert str(t.records.get("crm", "customer", world["c1"])[key]) in ("high", "5", "5.00")
    else:
        with pytest.raises(Forbidden) as refused:
            t.records.update("crm", "customer", world["c1"], {key: value}, actor)
        assert (
            key in refused.value.fields
            and "your roles do not allow changing" in refused.value.message
        )
