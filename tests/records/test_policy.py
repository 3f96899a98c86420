"""Every read path goes through the access policy: narrowing it narrows them all."""

from __future__ import annotations

import pytest

from tessera.errors import NotFound
from tessera.query import policy


@pytest.fixture
def only_own(monkeypatch):
    """A policy letting users see only records they created."""

    def own(app, rt, table, who, operation="read"):
        return None if who is None else table.c.created_by == who.user_id

    monkeypatch.setattr(policy, "access_condition", own)


def test_lists_counts_aggregates_and_gets_obey_the_policy(tessera, only_own):
    from tessera import users
    from tessera.records.actor import Actor

    ann = users.create_user(tessera.engine, "ann", "long-password")
    bob = users.create_user(tessera.engine, "bob", "long-password")
    mine = tessera.records.create("tracker", "project", {"name": "A"}, Actor(ann, "user"))
    tessera.records.create("tracker", "project", {"name": "B"}, Actor(bob, "user"))
    q = tessera.queries
    page = q.list("tracker", "project", user_id=ann, with_total=True)
    assert [r["name"] for r in page.rows] == ["A"] and page.total == 1
    counts = q.aggregate("tracker", "project", group_by="status", user_id=ann)
    assert [r["count"] for r in counts] == [1]
    assert tessera.records.get("tracker", "project", mine["id"], ann)["name"] == "A"
    with pytest.raises(NotFound):
        tessera.records.get("tracker", "project", mine["id"], bob)
