"""Pages: a kanban whose lanes are records of a link's target, quick filters on link fields,
polymorphic links in tables, forms and related lists."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from polylink_app import STAGES, seed_stages

from tessera import users

PASSWORD = "correct-horse-1"


@pytest.fixture
def board(flask_app, sales):
    users.create_user(sales.engine, "alice", PASSWORD, is_admin=True, display_name="Alice")
    r = sales.records
    stages = seed_stages(r)
    deals = [
        r.create("sales", "deal", {"name": name, "stage": stages[stage], "amount": amount,
                                   "probability": p})
        for name, stage, amount, p in [
            ("Alpha", "Qualify", "1000", 10), ("Beta", "Qualify", "500", 20),
            ("Gamma", "Propose", "2000", 50),
        ]
    ]  # fmt: skip
    client = flask_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    client.post("/login", data={"username": "alice", "password": PASSWORD, "_csrf": token})
    html = client.get("/").get_data(as_text=True)  # signing in starts a new session
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return client, token, stages, deals


def lanes(html: str) -> list[str]:
    return re.findall(r'<section class="lane" data-value="[^"]*" aria-label="([^"]+)"', html)


def test_lanes_sums_and_quick_filters_on_link_fields(board, sales):
    client, _token, stages, _deals = board
    html = client.get("/a/sales/v/pipeline").get_data(as_text=True)
    assert lanes(html) == [name for name, _ in STAGES]  # created in reverse, shown by position
    qualify = html.split('aria-label="Qualify"')[1].split("</header>")[0]
    assert '<span class="count" data-count>2</span>' in qualify
    assert "CNY 1,500.00" in qualify  # amount
    assert "CNY 200.00" in qualify  # weighted: 1000 * 10% + 500 * 20%
    rows = sales.queries.aggregate(
        "sales", "deal", group_by="stage", measures=[("sum", "weighted")]
    )
    assert sum(Decimal(r["sum_weighted"]) for r in rows) == Decimal("1200.00")
    # quick filters offer link fields, the target records as choices
    html = client.get("/a/sales/r/deal").get_data(as_text=True)
    toolbar = html.split('name="f.stage"')[1].split("</select>")[0]
    offered = re.findall(r'<option value="(\d+)"[^>]*>Stage: ([^<]+)</option>', toolbar)
    assert [name for _id, name in offered] == [name for name, _ in STAGES]
    assert dict((n, int(i)) for i, n in offered)["Propose"] == stages["Propose"]
    page = client.get(f"/a/sales/r/deal?f.stage={stages['Propose']}").get_data(as_text=True)
    assert "Gamma" in page and "Alpha" not in page


def test_a_big_target_type_offers_no_dropdown_and_boards_keep_the_first_lanes(board, monkeypatch):
    from tessera.web import kanban

    client, _token, _stages, _deals = board
    monkeypatch.setattr(kanban, "MAX_LANES", 3)  # five stages: "too many" for a dropdown
    assert 'name="f.stage"' not in client.get("/a/sales/r/deal").get_data(as_text=True)
    html = client.get("/a/sales/v/pipeline").get_data(as_text=True)
    assert lanes(html)[:3] == ["Negotiate", "Won", "Lost"]  # ids 1-3, then by position


def test_move_sets_the_link_and_returns_fresh_lane_totals(board, sales):
    client, token, stages, deals = board
    resp = client.post(
        "/a/sales/v/pipeline/move",
        json={"id": deals[0]["id"], "version": 1, "value": str(stages["Won"]), "args": ""},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["value"] == stages["Won"] and body["version"] == 2
    by_lane = {lane["value"]: lane for lane in body["lanes"]}
    assert by_lane[str(stages["Qualify"])] == {
        "value": str(stages["Qualify"]),
        "count": 1,
        "sums": ["CNY 500.00", "CNY 100.00"],
    }
    assert by_lane[str(stages["Won"])]["sums"] == ["CNY 1,000.00", "CNY 100.00"]
    assert sales.records.get("sales", "deal", deals[0]["id"])["stage"] == stages["Won"]
    filtered = client.post(  # the board's own filters (its query string) apply to the totals
        "/a/sales/v/pipeline/move",
        json={"id": deals[1]["id"], "version": 1, "value": str(stages["Won"]), "args": "?q=Beta"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    ).get_json()
    won = next(lane for lane in filtered["lanes"] if lane["value"] == str(stages["Won"]))
    assert won["count"] == 1 and won["sums"][0] == "CNY 500.00"
    resp = client.post(  # a lane that does not exist: refused, nothing changes
        "/a/sales/v/pipeline/move",
        json={"id": deals[2]["id"], "version": 1, "value": "999"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert resp.status_code == 422
    assert "no Stage with id 999" in resp.get_json()["error"]["message"]
    assert sales.records.get("sales", "deal", deals[2]["id"])["stage"] == stages["Propose"]


def test_poly_link_in_table_form_and_related_lists(board, sales):
    client, token, _stages, deals = board
    r = sales.records
    acme = r.create("sales", "customer", {"name": "Acme"})
    r.create(
        "sales",
        "follow_up",
        {"subject": "Call Acme", "regarding": {"type": "customer", "id": acme["id"]}},
    )
    r.create(
        "sales",
        "follow_up",
        {"subject": "Price talk", "regarding": {"type": "deal", "id": deals[2]["id"]}},
    )
    table = client.get("/a/sales/v/follow_ups").get_data(as_text=True)
    assert '<span class="chip poly-type">Customer</span> Acme</a>' in table
    assert f'href="/a/sales/r/deal/{deals[2]["id"]}"' in table
    page = client.get(f"/a/sales/r/customer/{acme['id']}").get_data(as_text=True)
    assert "Call Acme" in page and "Price talk" not in page  # related list of the customer
    form = client.get("/a/sales/r/follow_up/new").get_data(as_text=True)
    assert "data-poly-type" in form
    assert f'<option value="customer:{acme["id"]}"' in form
    assert 'data-lookup="/a/sales/r/deal/lookup"' in form
    resp = client.post(
        "/a/sales/r/follow_up/new",
        data={"subject": "Visit", "regarding": f"deal:{deals[0]['id']}", "_csrf": token},
    )
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)
    made = sales.queries.list("sales", "follow_up", q="Visit").rows
    assert made[0]["regarding"] == f"deal:{deals[0]['id']}"
    edit = client.get(f"/a/sales/r/follow_up/{made[0]['id']}/edit").get_data(as_text=True)
    assert f'<option value="deal:{deals[0]["id"]}" selected>' in edit
