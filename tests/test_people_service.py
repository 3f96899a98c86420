"""The people service and the audit reader, below the web and CLI layers."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from tessera.access import audit, people
from tessera.users import UserError


@pytest.fixture
def boss(engine):
    return people.create_user(engine, people.NewUser("boss", "long-enough-1", is_admin=True))[0]


def test_a_name_taken_at_the_same_moment_is_a_clear_error(engine, monkeypatch):
    people.create_team(engine, "Sales")
    monkeypatch.setattr(people, "_unique_team", lambda conn, name: None)  # the race window
    with pytest.raises(people.PeopleError, match="team name 'Sales' is taken"):
        people.create_team(engine, "Sales")
    assert [t["name"] for t in people.list_teams(engine)] == ["Sales"]


def test_cycles_are_refused_at_any_depth(engine):
    a = people.create_team(engine, "A")
    b = people.create_team(engine, "B", parent_id=a)
    c = people.create_team(engine, "C", parent_id=b)
    for parent in (a, b, c):
        with pytest.raises(people.PeopleError, match="under itself or one of its sub-teams"):
            people.update_team(engine, a, name="A", parent_id=parent, manager_id=None)
    tree = [(t["name"], t["depth"]) for t in people.list_teams(engine)]
    assert tree == [("A", 0), ("B", 1), ("C", 2)]


def test_set_roles_only_touches_the_apps_named(engine):
    uid, _ = people.create_user(engine, people.NewUser("ann", "long-enough-1"))
    people.set_roles(engine, uid, [people.RoleRef("crm", "viewer"), people.RoleRef("hr", "clerk")])
    granted, revoked = people.set_roles(
        engine, uid, [people.RoleRef("crm", "finance")], only_apps=["crm"]
    )
    assert [str(r) for r in granted] == ["crm:finance"]
    assert [str(r) for r in revoked] == ["crm:viewer"]
    assert [str(r) for r in people.roles_of(engine, uid)] == ["crm:finance", "hr:clerk"]


def test_last_admin_stays(engine, boss):
    with pytest.raises(UserError, match="last active administrator"):
        people.update_profile(engine, boss, is_admin=False)
    other, _ = people.create_user(engine, people.NewUser("root2", "long-enough-1", is_admin=True))
    people.update_profile(engine, boss, by=other, is_admin=False)
    assert people.get(engine, boss)["is_admin"] is False


def test_filters_parse_and_csv_cells():
    f, problems = audit.Filters.parse(
        MultiDict({"user": "3", "app": "crm", "since": "2026-01-02", "until": "bad"})
    )
    assert (f.user_id, f.app_id, f.since, f.until) == (3, "crm", date(2026, 1, 2), None)
    assert problems == ["until"]
    assert [audit.safe_cell(v) for v in ("=1+1", "+x", "-2", "@a", "ok", None, 5)] == [
        "'=1+1",
        "'+x",
        "'-2",
        "'@a",
        "ok",
        "",
        "5",
    ]


def test_entries_merge_both_logs_newest_first(engine, boss):
    people.create_team(engine, "Sales", by=boss)
    rows = audit.entries(engine, audit.Filters())
    assert [(r["source"], r["action"]) for r in rows][:2] == [
        ("security", "team_create"),
        ("security", "user_create"),
    ]
    assert audit.entries(engine, audit.Filters(action="create")) == []
    assert len(audit.entries(engine, audit.Filters(record_type="security"))) == 2
