"""`flask --app app demo` also creates one demo user per CRM role, printed with a password."""

from __future__ import annotations

import re


def test_demo_creates_a_user_per_role_who_sees_their_share(runner, flask_app):
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["demo", "--scale", "0.05"])
    assert result.exit_code == 0, result.output + result.stderr
    found = re.findall(r"demo user (\w+) \((\w+) in crm\), password: (\S+)", result.output)
    made = {name: password for name, _role, password in found}
    roles = {"sales_rep", "sales_manager", "service_agent", "finance", "marketing", "viewer"}
    assert set(made) == {f"demo_{r}" for r in roles} | {"demo_sales_rep2"}
    t = flask_app.extensions["tessera"]
    from tessera import users

    rep = users.authenticate(t.engine, "demo_sales_rep", made["demo_sales_rep"])
    mgr = users.authenticate(t.engine, "demo_sales_manager", made["demo_sales_manager"])
    mine = t.queries.list("crm", "customer", user_id=rep["id"], with_total=True).total
    team = t.queries.list("crm", "customer", user_id=mgr["id"], with_total=True).total
    everyone = t.queries.list("crm", "customer", with_total=True).total
    rep2 = users.authenticate(t.engine, "demo_sales_rep2", made["demo_sales_rep2"])

    def owned_by(*owners) -> int:
        flt = {"field": "owner", "op": "in", "value": list(owners)}
        if owners == (None,):
            flt = {"field": "owner", "op": "is_empty"}
        return t.queries.list("crm", "customer", filter=flt, with_total=True).total

    own, pool = owned_by(rep["id"]), owned_by(None)
    assert own > 0 and pool > 0 and owned_by(rep2["id"]) > 0
    assert mine == own + pool  # the rep: their own customers and the pool
    assert team == owned_by(rep["id"], rep2["id"])  # the manager: both reps'
    assert mine < everyone and team < everyone
