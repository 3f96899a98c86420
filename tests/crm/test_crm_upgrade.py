"""Upgrading the built-in CRM from 1.0.0 and 1.1.0 to 2.0.0 keeps every row and value."""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from crm_helpers import CRM, REPO

# the commits that last shipped each earlier version of templates_builtin/crm/template.yaml
OLD = {"1.0.0": "1d6137f~1", "1.1.0": "84432ac~1"}


def _old_source(version: str) -> str:
    text = subprocess.run(
        ["git", "show", f"{OLD[version]}:templates_builtin/crm/template.yaml"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"version: {version}" in text
    return text


@pytest.fixture
def t(database_url, tmp_path):
    from tessera import create_app

    app = create_app(
        {"DATABASE_URL": database_url, "TESSERA_INSTANCE": str(tmp_path / "i"),
         "SECRET_KEY": "test", "TESTING": True, "AUTOMATION_EMBEDDED": False}
    )  # fmt: skip
    yield app.extensions["tessera"]
    app.extensions["tessera"].engine.dispose()


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
def test_upgrade_keeps_every_row(t, version, tmp_path):
    from tessera.meta import load_app
    from tessera.storage import installer

    old = tmp_path / "old.yaml"
    old.write_text(_old_source(version))
    installer.install(t.engine, load_app(old), old.read_text())
    t.registry.reload()
    rec = t.records
    acme = rec.create("crm", "customer", {
        "name": "Acme", "email": "a@acme.example", "tier": "high", "stage": "customer",
        "status": "active", "source": "web", "total_spent": "1200.50",
        "last_purchase_at": "2026-01-05",
    })  # fmt: skip
    lotus = rec.create("crm", "customer", {"name": "莲花贸易", "stage": "lead", "tags": ["vip"]})
    rec.create("crm", "follow_up", {"subject": "Call", "customer": acme["id"]})
    deal = rec.create("crm", "opportunity", {
        "name": "Deal", "customer": lotus["id"], "stage": "proposal", "amount": "5000",
        "probability": 50,
    })  # fmt: skip
    rec.create("crm", "ticket", {"subject": "Broken", "customer": acme["id"], "priority": "urgent"})
    before = {rt: t.queries.list("crm", rt, with_total=True).total
              for rt in ("customer", "follow_up", "opportunity", "ticket")}  # fmt: skip

    plan = installer.upgrade(t.engine, load_app(CRM), (CRM / "template.yaml").read_text())
    t.registry.reload()
    assert t.registry.app("crm").version == "2.0.0"
    assert not [s for s in plan.steps if s.data_loss]
    mapped = [s.description for s in plan.steps if s.kind == "change_options"]
    assert mapped == [
        "map options of customer.stage: 'lead' -> 'potential', 'prospect' -> 'potential', "
        "'customer' -> 'active', 'churned' -> 'lost'"
    ]
    after = {rt: t.queries.list("crm", rt, with_total=True).total for rt in before}
    assert after == before == {"customer": 2, "follow_up": 1, "opportunity": 1, "ticket": 1}
    a = rec.get("crm", "customer", acme["id"])
    assert (a["name"], a["email"], a["tier"], a["total_spent"], str(a["last_purchase_at"])) == (
        "Acme",
        "a@acme.example",
        "high",
        Decimal("1200.50"),
        "2026-01-05",
    )
    assert a["stage"] == "active"  # 1.x "customer", renamed by the option's renamed_from
    assert rec.get("crm", "customer", lotus["id"])["stage"] == "potential"  # was "lead"
    assert rec.get("crm", "customer", lotus["id"])["tags"] == ["vip"]
    rec.update("crm", "customer", lotus["id"], {"industry": "retail"})  # still valid as a whole
    d = rec.get("crm", "opportunity", deal["id"])
    assert (d["stage"], d["amount"], d["probability"]) == ("proposal", Decimal("5000.00"), 50)
    # new record types are there and usable; old rows take new fields
    c = rec.create("crm", "contact", {"name": "王伟", "customer": acme["id"], "primary": True})
    assert rec.get("crm", "contact", c["id"])["customer"] == acme["id"]
    rec.update("crm", "customer", acme["id"], {"stage": "active", "industry": "retail"})
    assert rec.get("crm", "customer", acme["id"])["stage"] == "active"
