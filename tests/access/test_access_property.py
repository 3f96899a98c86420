"""Property: for random role sets, teams, shares and data, every list, count and aggregate
equals the same computation over all rows filtered in Python by the policy's meaning.

The Python oracle here is written from the documented semantics (own, team with
sub-teams and managers, all, conditions, shares), not from the engine's code.
"""

from __future__ import annotations

import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera import users
from tessera.access.principal import bump_access_version
from tessera.access.tables import record_shares, team_members, teams, user_roles
from tessera.errors import BadRequest
from tessera.meta import app_from_data

APP = """
id: prop
version: 1.0.0
record_types:
  - key: item
    fields:
      - {key: name, type: text}
      - {key: owner, type: user}
      - {key: amount, type: number}
      - {key: kind, type: select, options: [{value: a}, {value: b}]}
      - {key: flag, type: boolean}
roles:
  - {key: own, permissions: {item: {read: own}}}
  - {key: team, permissions: {item: {read: team}}}
  - {key: every, permissions: {item: {read: all}}}
  - {key: kind_a, permissions: {item: {read: {field: kind, op: eq, value: a}}}}
  - {key: big, permissions: {item: {read: {field: amount, op: gte, value: 50}}}}
  - key: flagged_no_amount
    permissions: {item: {read: {field: flag, op: eq, value: true}, fields: {amount: none}}}
  - {key: nothing, permissions: {item: {read: none}}}
"""
ROLES = ["own", "team", "every", "kind_a", "big", "flagged_no_amount", "nothing"]
N_USERS = 4

rows_st = st.lists(
    st.fixed_dictionaries(
        {
            "owner": st.one_of(st.none(), st.integers(0, N_USERS - 1)),
            "amount": st.one_of(st.none(), st.integers(0, 100)),
            "kind": st.sampled_from([None, "a", "b"]),
            "flag": st.booleans(),
        }
    ),
    max_size=25,
)
world_st = st.fixed_dictionaries(
    {
        "roles": st.sets(st.sampled_from(ROLES)),
        # three teams: (parent index or None, manager user index or None), members
        "teams": st.lists(
            st.tuples(
                st.one_of(st.none(), st.integers(0, 2)),
                st.one_of(st.none(), st.integers(0, N_USERS - 1)),
                st.sets(st.integers(0, N_USERS - 1)),
            ),
            min_size=3,
            max_size=3,
        ),
        "rows": rows_st,
        "shares": st.lists(
            st.tuples(st.integers(0, 24), st.one_of(st.none(), st.integers(0, 2))), max_size=4
        ),
    }
)


def _setup(t):
    from tessera.storage import installer

    installer.install(t.engine, app_from_data(yaml.safe_load(APP)), APP)
    t.registry.reload()
    return [users.create_user(t.engine, f"u{i}", "long-password") for i in range(N_USERS)]


def _load(t, people, w) -> tuple[list[dict], int]:
    """Replace the data with world ``w``; (the rows as stored, the team ids)."""
    table = t.registry.table("prop", "item")
    with t.engine.begin() as conn:
        bump_access_version(conn)  # direct writes to access tables advance the counter
        for tbl in (record_shares, team_members, user_roles, table):
            conn.execute(tbl.delete())
        conn.execute(teams.update().values(parent_id=None))
        conn.execute(teams.delete())
        ids = []
        for i, (_, manager, _) in enumerate(w["teams"]):
            mgr = people[manager] if manager is not None else None
            conn.execute(teams.insert().values(name=f"t{i}", manager_id=mgr))
            ids.append(conn.scalar(sa.select(teams.c.id).where(teams.c.name == f"t{i}")))
        for i, (parent, _, members) in enumerate(w["teams"]):
            if parent is not None and parent < i:  # parents come first: no cycles
                conn.execute(
                    teams.update().where(teams.c.id == ids[i]).values(parent_id=ids[parent])
                )
            for m in members:
                conn.execute(team_members.insert().values(team_id=ids[i], user_id=people[m]))
        for role in w["roles"]:
            conn.execute(user_roles.insert().values(user_id=people[0], app_id="prop", role=role))
    raw = [
        {**r, "name": f"n{i}", "owner": people[r["owner"]] if r["owner"] is not None else None}
        for i, r in enumerate(w["rows"])
    ]
    stored = t.records.bulk_create("prop", "item", raw) if raw else []
    with t.engine.begin() as conn:
        bump_access_version(conn)
        for row_ix, team_ix in w["shares"]:
            if row_ix < len(stored):
                whom = {"user_id": people[0]} if team_ix is None else {"team_id": ids[team_ix]}
                conn.execute(
                    record_shares.insert().values(
                        app_id="prop", record_type="item", record_id=stored[row_ix]["id"],
                        level="read", **whom,
                    )
                )  # fmt: skip
    return stored, ids


def _oracle(w, people, stored, team_ids) -> list[dict]:
    """The rows user 0 may read, by the documented meaning of each scope."""
    me = people[0]
    reach = {i for i, (_, mgr, members) in enumerate(w["teams"]) if 0 in members or mgr == 0}
    grew = True
    while grew:  # sub-teams: a team whose (valid) parent is reached is reached
        more = {
            i
            for i, (parent, _, _) in enumerate(w["teams"])
            if parent is not None and parent < i and parent in reach
        }
        grew = not more <= reach
        reach |= more
    mates = {people[m] for i in reach for m in w["teams"][i][2]} | {me}
    shared = {
        stored[r]["id"]
        for r, team in w["shares"]
        if r < len(stored) and (team is None or team in reach)
    }
    roles = w["roles"]
    rules = {
        "own": lambda r: r["owner"] == me,
        "team": lambda r: r["owner"] in mates,
        "every": lambda r: True,
        "kind_a": lambda r: r["kind"] == "a",
        "big": lambda r: r["amount"] is not None and r["amount"] >= 50,
        "flagged_no_amount": lambda r: r["flag"] is True,
        "nothing": lambda r: False,
    }
    return [r for r in stored if r["id"] in shared or any(rules[k](r) for k in roles)]


def test_scoped_lists_counts_and_aggregates_match_python(t):
    people = _setup(t)

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(w=world_st)
    def check(w):
        stored, team_ids = _load(t, people, w)
        expected = _oracle(w, people, stored, team_ids)
        me = people[0]
        page = t.queries.list("prop", "item", user_id=me, limit=500, with_total=True)
        assert sorted(r["id"] for r in page.rows) == sorted(r["id"] for r in expected)
        assert page.total == len(expected)
        hidden = w["roles"] == {"flagged_no_amount"}  # every other role leaves amount readable
        assert all(("amount" in r) != hidden for r in page.rows)
        counts = t.queries.aggregate("prop", "item", group_by="kind", user_id=me)
        want = {}
        for r in expected:
            want[r["kind"]] = want.get(r["kind"], 0) + 1
        assert {c["group"]: c["count"] for c in counts} == want
        if hidden:
            try:
                t.queries.aggregate("prop", "item", measures=[("sum", "amount")], user_id=me)
                raise AssertionError("a hidden field was summed")
            except BadRequest:
                pass
        else:
            [got] = t.queries.aggregate("prop", "item", measures=[("sum", "amount")], user_id=me)
            amounts = [r["amount"] for r in expected if r["amount"] is not None]
            assert (got["sum_amount"] or 0) == sum(amounts)

    check()
