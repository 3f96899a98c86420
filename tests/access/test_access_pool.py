"""The customer pool (公海池): unowned customers visible to reps, claim with a cap, release."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml
from access_world import names

from tessera.access import pool
from tessera.access.tables import security_log
from tessera.errors import Conflict, Forbidden, TemplateError
from tessera.meta import app_from_data


def test_a_rep_sees_the_pool_and_claims_from_it(t, world):
    rep1 = world["rep1"]
    assert names(t.queries.list("crm", "customer", user_id=rep1).rows) == {"c1", "c4"}
    pool.claim(t, "crm", "customer", world["c4"], rep1)
    assert t.records.get("crm", "customer", world["c4"])["owner"] == rep1
    # now it is rep1's own: rep2 no longer sees it in the pool, rep1 may update it
    assert names(t.queries.list("crm", "customer", user_id=world["rep2"]).rows) == {"c2"}
    with pytest.raises(Conflict):
        pool.claim(t, "crm", "customer", world["c4"], world["rep2"])
    pool.release(t, "crm", "customer", world["c4"], rep1)
    assert t.records.get("crm", "customer", world["c4"])["owner"] is None
    with t.engine.connect() as conn:
        log = conn.execute(sa.select(security_log.c.action, security_log.c.user_id)).all()
    assert [tuple(r) for r in log] == [("pool_claim", rep1), ("pool_release", rep1)]
    history = t.records.history("crm", "customer", world["c4"])
    assert [e["actor_ref"] for e in history[-2:]] == ["pool:claim", "pool:release"]


def test_the_cap_refuses_the_claim_beyond_it(t, world):
    rep3 = world["rep3"]  # already owns c3
    free = t.records.bulk_create("crm", "customer", [{"name": f"p{i}"} for i in range(50)])
    for row in free[:49]:
        pool.claim(t, "crm", "customer", row["id"], rep3)
    with pytest.raises(Forbidden) as refused:
        pool.claim(t, "crm", "customer", free[49]["id"], rep3)
    assert "at most 50" in refused.value.message
    assert t.records.get("crm", "customer", free[49]["id"])["owner"] is None


def test_only_pool_roles_claim_and_only_owners_release(t, world):
    with pytest.raises(Forbidden):
        pool.claim(t, "crm", "customer", world["c4"], world["viewer"])
    with pytest.raises(Forbidden):
        pool.release(t, "crm", "customer", world["c2"], world["rep1"])


def test_a_pool_needs_an_owner_user_field():
    data = yaml.safe_load(
        """
id: p
version: 1.0.0
record_types: [{key: lead, fields: [{key: name, type: text}]}]
roles: [{key: r, permissions: {lead: {read: own, pool: {max_held: 5}}}}]
"""
    )
    with pytest.raises(TemplateError) as err:
        app_from_data(data)
    assert "roles[0].permissions.lead.pool: a pool needs an owner user field" in str(err.value)
