"""Workflows write as the system (default) or, with run_as: triggering_user, as the user."""

from __future__ import annotations

import pytest
from automation_helpers import DESK, drain, install, run_rows

from tessera.access.principal import bump_access_version
from tessera.access.tables import user_roles
from tessera.records.actor import Actor

ROLES = [{"key": "rep", "permissions": {"customer": {"create": "all", "read": "own",
                                                      "update": "own"}}}]  # fmt: skip


@pytest.fixture
def t(quiet_app, quiet_users):
    tessera = quiet_app.extensions["tessera"]
    tessera.users = quiet_users
    with tessera.engine.begin() as conn:
        bump_access_version(conn)
        conn.execute(
            user_roles.insert().values(user_id=quiet_users["ann"], app_id="desk", role="rep")
        )
    return tessera


def _flow(**extra) -> dict:
    action = {"do": "update_record", "values": {"score": 1}}
    trigger = {"on": "record.created"}
    return {"key": "w", "record_type": "customer", "trigger": trigger, "actions": [action], **extra}


@pytest.mark.parametrize(("run_as", "score", "status"), [
    (None, 1, "done"),
    ("triggering_user", None, "failed"),
])  # fmt: skip
def test_the_workflow_writes_with_the_declared_identity(t, run_as, score, status):
    extra = {"run_as": run_as} if run_as else {}
    install(t, {**DESK, "workflows": [_flow(**extra)], "roles": ROLES})
    ann, bob = t.users["ann"], t.users["bob"]
    # ann (a rep) creates a customer owned by bob: she may create it but not update it
    row = t.records.create("desk", "customer", {"name": "Acme", "owner": bob}, Actor(ann, "user"))
    drain(t)
    assert t.records.get("desk", "customer", row["id"])["score"] == score
    run = run_rows(t)[0]
    assert run["status"] == status
    if status == "failed":  # ann may not even see bob's customer: to her it does not exist
        assert "does not exist" in str(run.get("error"))
