"""The CRM's key numbers (record type ``summary``) and campaign ROI, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

from crm_helpers import drain


def _login(client, name: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    r = client.post("/login", data={"username": name, "password": "password123", "_csrf": token})
    assert r.status_code in (302, 303), r.get_data(as_text=True)


def test_campaign_roi_is_revenue_over_budget(crm_app):
    t = crm_app.extensions["tessera"]
    paid = t.records.create("crm", "campaign", {"name": "Expo", "budget": "10000"})
    free = t.records.create("crm", "campaign", {"name": "Word of mouth"})
    cus = t.records.create("crm", "customer", {"name": "Acme"})
    for amount, stage in (("25000", "won"), ("90000", "qualify")):  # only won deals count
        t.records.create("crm", "opportunity", {
            "name": f"Deal {amount}", "customer": cus["id"], "campaign": paid["id"],
            "amount": amount, "stage": stage,
        })  # fmt: skip
    drain(t)
    assert t.records.get("crm", "campaign", paid["id"])["roi"] == Decimal("150.0")
    assert t.records.get("crm", "campaign", free["id"])["roi"] == Decimal("0")
    # a deal won later (a workflow rewrites the campaign, so its stored ROI follows)
    late = t.records.create("crm", "opportunity", {
        "name": "Late deal", "customer": cus["id"], "campaign": paid["id"], "amount": "5000",
    })  # fmt: skip
    drain(t)
    t.records.update("crm", "opportunity", late["id"], {"stage": "won"})
    drain(t)
    assert t.records.get("crm", "campaign", paid["id"])["roi"] == Decimal("200.0")
    low = t.records.create("crm", "campaign", {"name": "Flop", "budget": "4000"})
    assert t.records.get("crm", "campaign", low["id"])["roi"] == Decimal("-100.0")


def test_record_pages_show_key_numbers_and_dashboard_shows_roi(crm_app):
    from tessera.users import create_user

    t = crm_app.extensions["tessera"]
    create_user(t.engine, "boss", "password123", is_admin=True)
    cus = t.records.create("crm", "customer", {"name": "Acme", "total_spent": "1234.50"})
    t.records.create("crm", "campaign", {"name": "Expo", "budget": "10000"})
    drain(t)
    web = crm_app.test_client()
    _login(web, "boss")
    html = web.get(f"/a/crm/r/customer/{cus['id']}").get_data(as_text=True)
    numbers = html.split('class="key-numbers"', 1)[1].split("</dl>", 1)[0]
    dts = re.findall(r"<dt>(.*?)</dt>", numbers)
    assert dts == ["Total spent", "Orders", "Last purchase", "Last contact", "Open tickets",
                   "Average satisfaction"]  # fmt: skip
    assert "1,234.50" in numbers
    page = web.get("/a/crm/v/campaign_dashboard").get_data(as_text=True)
    assert "ROI % per campaign" in page and "Campaign results" in page
