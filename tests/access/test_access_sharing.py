"""Sharing, transfer of owner, and "why can this user see this record?"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from access_world import names

from tessera.access import sharing
from tessera.access.tables import security_log, teams
from tessera.access.transfer import transfer
from tessera.errors import Forbidden, NotFound
from tessera.records.actor import Actor


def _rep(world, name="rep1") -> Actor:
    return Actor(world[name], "user")


def test_share_read_makes_a_record_visible_but_not_editable(t, world):
    rep1, c2 = world["rep1"], world["c2"]
    with pytest.raises(NotFound):
        t.records.get("crm", "customer", c2, rep1)
    sharing.share(t, "crm", "customer", c2, user_id=rep1, level="read", by=world["admin"])
    assert t.records.get("crm", "customer", c2, rep1)["name"] == "c2"
    assert names(t.queries.list("crm", "customer", user_id=rep1).rows) == {"c1", "c2", "c4"}
    with pytest.raises(Forbidden):
        t.records.update("crm", "customer", c2, {"notes": "x"}, _rep(world))
    assert "credit_limit" not in t.records.get("crm", "customer", c2, rep1)  # roles still hide it


def test_share_edit_with_a_team_lets_its_members_update(t, world):
    west = _team(t, "west")
    sharing.share(t, "crm", "customer", world["c1"], team_id=west, level="edit", by=world["admin"])
    rep3 = _rep(world, "rep3")
    t.records.update("crm", "customer", world["c1"], {"notes": "from west"}, rep3)
    assert t.records.get("crm", "customer", world["c1"])["notes"] == "from west"
    assert sharing.unshare(t, "crm", "customer", world["c1"], team_id=west, by=world["admin"])
    with pytest.raises(NotFound):
        t.records.update("crm", "customer", world["c1"], {"notes": "again"}, rep3)
    with t.engine.connect() as conn:
        actions = conn.scalars(sa.select(security_log.c.action).order_by(security_log.c.id)).all()
    assert actions[-2:] == ["share", "unshare"]


def test_a_sharer_must_see_the_record(t, world):
    with pytest.raises(NotFound):
        sharing.share(t, "crm", "customer", world["c2"], user_id=world["rep3"], by=world["rep1"])


def test_transfer_by_a_manager_moves_open_follow_ups_too(t, world):
    t.records.create(
        "crm", "follow_up", {"subject": "done one", "customer": world["c1"], "done": True,
                             "owner": world["rep1"]},
    )  # fmt: skip
    moved = transfer(
        t, "crm", "customer", [world["c1"]], world["rep2"], Actor(world["mgr"], "user"),
        children={"follow_up": {"field": "done", "op": "ne", "value": True}},
    )  # fmt: skip
    assert moved == {"customer": [world["c1"]], "follow_up": [world["f1"]]}
    assert t.records.get("crm", "customer", world["c1"])["owner"] == world["rep2"]
    assert names(t.queries.list("crm", "customer", user_id=world["rep2"]).rows) == {
        "c1",
        "c2",
        "c4",
    }
    done = t.queries.list("crm", "follow_up", filter={"field": "done", "op": "eq", "value": True})
    assert [r["owner"] for r in done.rows] == [world["rep1"]]  # closed ones stay


def test_a_rep_cannot_give_a_customer_away(t, world):
    with pytest.raises(Forbidden):
        transfer(t, "crm", "customer", [world["c1"]], world["rep2"], _rep(world))
    assert t.records.get("crm", "customer", world["c1"])["owner"] == world["rep1"]


def test_explain_names_the_granting_rules(t, world):
    why = sharing.explain(t, "crm", "customer", world["c1"], world["rep1"])
    assert why == {
        "read": ["role sales_rep: read own (owner)"],
        "update": ["role sales_rep: update own (owner)"],
        "delete": [],
    }
    why = sharing.explain(t, "crm", "customer", world["c2"], world["mgr"])
    assert why["read"] == ["role sales_manager: read team (owner)"]
    assert sharing.explain(t, "crm", "customer", world["c2"], world["rep1"])["read"] == []
    pooled = sharing.explain(t, "crm", "customer", world["c4"], world["rep1"])
    assert pooled["read"] == ["role sales_rep: read pool (owner empty)"]
    assert sharing.explain(t, "crm", "customer", world["c2"], world["admin"])["update"] == [
        "built-in admin"
    ]
    sharing.share(t, "crm", "customer", world["c2"], team_id=_team(t, "east"), level="edit")
    assert sharing.explain(t, "crm", "customer", world["c2"], world["rep1"]) == {
        "read": ["shared with team east (edit)"],
        "update": ["shared with team east (edit)"],
        "delete": [],
    }


def _team(t, name: str) -> int:
    with t.engine.connect() as conn:
        return conn.scalar(sa.select(teams.c.id).where(teams.c.name == name))
