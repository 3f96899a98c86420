"""The CRM's whole customer lifecycle, driven through its own workflows (SQLite + PostgreSQL).

A public web-form lead is assigned in turn and gets its first call planned for the next
working day; a duplicate claim (撞单) is flagged; the call is logged; the lead is converted
(the "Convert" button: customer + contact + opportunity, linked); the opportunity moves
through the stages (probability and stage history follow); it is won (order draft, customer
stage, target); a payment arrives (totals, RFM, tier); a ticket gets its SLA, breaches it
and is escalated, is resolved (a survey e-mail in the customer's language with a signed
rating link), is rated low through the public form (manager alerted, follow-up planned);
and the dashboard charts' numbers come out exactly.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlparse

import sqlalchemy as sa
from crm_helpers import T0, csrf, drain, failed_runs, grant

from tessera.automation import runs, schedule, tables


def _one(t, rt: str, **match) -> dict:
    rows = [
        r
        for r in t.queries.list("crm", rt, limit=500).rows
        if all(r[k] == v for k, v in match.items())
    ]
    assert len(rows) == 1, (rt, match, rows)
    return rows[0]


def _all(t, rt: str, **match) -> list[dict]:
    return [
        r
        for r in t.queries.list("crm", rt, limit=500).rows
        if all(r[k] == v for k, v in match.items())
    ]


def _messages(t, user_id: int) -> list[str]:
    n = tables.notifications
    with t.engine.connect() as conn:
        return list(
            conn.scalars(sa.select(n.c.message).where(n.c.user_id == user_id).order_by(n.c.id))
        )


def _mail(t) -> list[dict]:
    m = tables.mail_outbox
    with t.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(m).order_by(m.c.id)).mappings()]


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


def _aware(value) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _chart(t, view_key: str) -> dict:
    """A chart view's numbers as its chart would draw them: {x value: measure}."""
    app = t.registry.app("crm")
    view = next(v for v in app.views if v.key == view_key)
    opts = view.options
    measure = (opts.get("aggregate") or "count", opts.get("value"))
    rows = t.queries.aggregate(
        "crm", view.record_type, group_by=opts["x"], measures=[measure], filter=view.filter
    )
    return {r["group"]: next(v for k, v in r.items() if k != "group") for r in rows}


def test_customer_lifecycle_end_to_end(crm_app):
    t = crm_app.extensions["tessera"]
    clock = t.records.clock
    rep1, rep2 = grant(t, "rep1", "sales_rep"), grant(t, "rep2", "sales_rep")
    mgr = grant(t, "mgr", "sales_manager")
    target = t.records.create("crm", "sales_target", {
        "name": "rep1 March", "owner": rep1, "period": "month", "starts_on": "2026-03-01",
        "ends_on": "2026-03-31", "target_amount": "200000",
    })  # fmt: skip
    existing = t.records.create("crm", "customer", {
        "name": "Existing Co", "company": "Existing Co", "phone": "+86 21 5555 0199", "owner": rep2,
    })  # fmt: skip
    drain(t)

    # -- 1. a lead from the public web form: assigned in turn, first call next working day
    web = crm_app.test_client()
    r = web.post("/f/crm/web_lead", data={
        "_csrf": csrf(web, "/f/crm/web_lead"), "name": "王伟", "company": "华东精密制造",
        "email": "wang.wei@hd-precision.example", "phone": "+86 21 5555 0199",
        "message": "需要100台设备的报价",
    })  # fmt: skip
    assert r.status_code == 200, r.get_data(as_text=True)
    drain(t)
    lead = _one(t, "lead", name="王伟")
    assert lead["owner"] == rep1 and lead["status"] == "new"
    assert lead["duplicate_of"] == existing["id"]  # same phone: a duplicate claim (撞单)
    first = _one(t, "follow_up", lead=lead["id"])
    assert first["owner"] == rep1 and _aware(first["next_at"]) == _at(date(2026, 3, 3), 9)
    assert _messages(t, rep1) == ["New lead for you: 王伟 华东精密制造"]
    assert any("撞单" in m for m in _messages(t, mgr))

    # a second lead goes to the next rep in turn
    t.records.create("crm", "lead", {"name": "Alice Brown", "email": "alice@brown.example"})
    drain(t)
    assert _one(t, "lead", name="Alice Brown")["owner"] == rep2

    # -- 2. the first call is logged: the lead counts as contacted
    clock.now = _at(date(2026, 3, 3), 10)
    t.records.update("crm", "follow_up", first["id"], {"done": True, "outcome": "interested"})
    drain(t)
    assert _one(t, "lead", name="王伟")["status"] == "contacted"
    assert _aware(t.records.get("crm", "follow_up", first["id"])["done_at"]) == clock.now

    # -- 3. Convert: customer + primary contact + opportunity, all linked
    t.records.update("crm", "lead", lead["id"], {"budget": "120000"})
    runs.run_manual(t, "crm", "lead_convert", [lead["id"]], rep1)
    drain(t)
    lead = t.records.get("crm", "lead", lead["id"])
    assert lead["status"] == "converted" and lead["customer"] is not None
    customer = t.records.get("crm", "customer", lead["customer"])
    assert (customer["name"], customer["kind"], customer["owner"], customer["stage"]) == (
        "华东精密制造",
        "company",
        rep1,
        "potential",
    )
    contact = _one(t, "contact", customer=customer["id"])
    assert contact["name"] == "王伟" and contact["primary"] is True
    deal = _one(t, "opportunity", customer=customer["id"])
    assert (deal["lead"], deal["amount"], deal["stage"], deal["probability"]) == (
        lead["id"],
        Decimal("120000.00"),
        "qualify",
        10,
    )
    assert deal["close_date"] == date(2026, 4, 2)
    # the customer's own duplicate check: the same phone as Existing Co
    assert any("customer 华东精密制造 matches" in m for m in _messages(t, mgr))

    # -- 4. through the stages: probability and stage history with days in each stage
    clock.now = _at(date(2026, 3, 6), 10)
    t.records.update("crm", "opportunity", deal["id"], {"stage": "proposal"})
    drain(t)
    clock.now = _at(date(2026, 3, 10), 10)
    t.records.update("crm", "opportunity", deal["id"], {"stage": "negotiation"})
    drain(t)
    assert t.records.get("crm", "opportunity", deal["id"])["probability"] == 70
    clock.now = _at(date(2026, 3, 12), 17)
    t.records.update("crm", "opportunity", deal["id"], {"stage": "won"})
    drain(t)
    deal = t.records.get("crm", "opportunity", deal["id"])
    assert deal["probability"] == 100 and deal["won_amount"] == Decimal("120000.00")
    history = sorted(_all(t, "stage_change", opportunity=deal["id"]), key=lambda r: r["id"])
    assert [(h["from_stage"] or "", h["to_stage"], h["days_in_stage"]) for h in history] == [
        ("", "qualify", Decimal("0.0")),
        ("qualify", "proposal", Decimal("3.0")),
        ("proposal", "negotiation", Decimal("4.0")),
        ("negotiation", "won", Decimal("2.3")),
    ]

    # -- 5. won: an order draft, the customer becomes new, the target counts it
    order = _one(t, "order", opportunity=deal["id"])
    assert (order["status"], order["amount"], order["customer"], order["owner"]) == (
        "draft",
        Decimal("120000.00"),
        customer["id"],
        rep1,
    )
    assert t.records.get("crm", "customer", customer["id"])["stage"] == "new"
    assert t.records.get("crm", "sales_target", target["id"])["won_amount"] == Decimal("120000.00")
    assert t.records.get("crm", "sales_target", target["id"])["attainment"] == Decimal("60.0")

    # -- 6. the order is confirmed and paid: totals, last purchase, RFM, tier, target
    t.records.update("crm", "order", order["id"], {"status": "confirmed"})
    pay = t.records.create("crm", "payment", {
        "customer": customer["id"], "order": order["id"], "planned_date": "2026-03-20",
        "planned_amount": "120000", "owner": rep1,
    })  # fmt: skip
    drain(t)
    clock.now = _at(date(2026, 3, 18), 11)
    t.records.update("crm", "payment", pay["id"], {
        "status": "received", "received_date": "2026-03-18", "received_amount": "120000",
    })  # fmt: skip
    drain(t)
    c = t.records.get("crm", "customer", customer["id"])
    assert (c["total_spent"], c["last_purchase_at"], c["order_count"]) == (
        Decimal("120000.00"),
        date(2026, 3, 18),
        1,
    )
    assert (c["r_score"], c["f_score"], c["m_score"]) == (5, 1, 3)
    assert (c["rfm_segment"], c["churn_risk"], c["tier"], c["stage"]) == (
        "promising",
        "low",
        "normal",
        "new",
    )
    assert t.records.get("crm", "order", order["id"])["paid"] == Decimal("120000.00")
    assert t.records.get("crm", "sales_target", target["id"])["received_amount"] == Decimal(
        "120000.00"
    )

    # -- 7. a ticket: SLA from priority, breach escalates, resolution sends the survey
    clock.now = _at(date(2026, 3, 19), 9)
    t.records.update(
        "crm", "customer", customer["id"], {"language": "en", "email": "buyer@hd-precision.example"}
    )
    ticket = t.records.create("crm", "ticket", {
        "subject": "Machine stops after an hour", "customer": customer["id"], "type": "fault",
        "priority": "high",
    })  # fmt: skip
    drain(t)
    ticket = t.records.get("crm", "ticket", ticket["id"])
    assert _aware(ticket["sla_due_at"]) == _at(date(2026, 3, 19), 17)
    assert t.records.get("crm", "customer", customer["id"])["open_tickets"] == 1
    schedule.plan_all(t.automation)
    clock.now = _at(date(2026, 3, 19), 17, 1)
    t.automation.sweep()
    drain(t)
    ticket = t.records.get("crm", "ticket", ticket["id"])
    assert ticket["escalated"] is True and ticket["priority"] == "urgent"
    assert any("SLA breached" in m for m in _messages(t, mgr))

    clock.now = _at(date(2026, 3, 20), 10)
    t.records.update(
        "crm", "ticket", ticket["id"], {"status": "resolved", "resolution": "Replaced the fuse."}
    )
    drain(t)
    assert t.records.get("crm", "customer", customer["id"])["open_tickets"] == 0
    mail = _mail(t)[-1]
    assert mail["to"] == "buyer@hd-precision.example" and mail["subject"].startswith(
        "How did we do?"
    )
    link = re.search(
        r"https://crm\.example\.com(/f/crm/rate_service\?prefill=\S+)", mail["body"]
    ).group(1)

    # -- 8. the customer rates through the prefilled public form: a low score alerts
    rater = crm_app.test_client()
    page = rater.get(link)
    assert page.status_code == 200 and "Rate our service" in page.get_data(as_text=True)
    token = csrf(rater, link)
    assert (
        rater.post(link, data={"_csrf": token, "score": "2", "comment": "Slow"}).status_code == 200
    )
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert rater.get(tampered).status_code == 400
    drain(t)
    ticket = t.records.get("crm", "ticket", ticket["id"])
    assert (ticket["satisfaction"], ticket["feedback"]) == (2, "Slow")
    assert any("Low satisfaction (2/5)" in m for m in _messages(t, mgr))
    low = _one(t, "follow_up", customer=customer["id"])
    assert low["subject"].startswith("Low rating follow-up") and low["owner"] == rep1
    assert t.records.get("crm", "customer", customer["id"])["avg_satisfaction"] == Decimal("2.0")

    # -- 9. nightly classification 100 days later: dormant, churn risk, win-back call
    schedule.plan_all(t.automation)
    clock.now = _at(date(2026, 6, 27), 3)
    t.automation.sweep()
    drain(t)
    c = t.records.get("crm", "customer", customer["id"])
    assert (c["stage"], c["status"], c["churn_risk"], c["r_score"]) == (
        "dormant",
        "dormant",
        "high",
        2,
    )
    assert any(
        f["subject"] == "Win-back: 华东精密制造"
        for f in _all(t, "follow_up", customer=customer["id"])
    )

    # -- 10. the dashboards' numbers
    assert _chart(t, "forecast_by_stage") == {"won": Decimal("120000.00")}
    assert failed_runs(t) == []
    assert urlparse(link).path == "/f/crm/rate_service"
    assert timedelta(0) <= clock.now - T0
