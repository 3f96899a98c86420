"""The journeys a business user makes, in a real browser against a real server."""

from __future__ import annotations

import re
import uuid

from browser_helpers import shot, sign_in


def _records(live_server):
    return live_server["app"].extensions["tessera"].records


def _customer(live_server, **values) -> dict:
    values.setdefault("name", f"Customer {uuid.uuid4().hex[:6]}")
    return _records(live_server).create("crm", "customer", values)


def test_sign_in_wrong_password_then_right(page):
    page.goto("/a/crm")
    assert "/login" in page.url  # signed out: sent to the sign-in page
    page.fill("#username", "alice")
    page.fill("#password", "not-the-password")
    page.click("main form.record-form button[type=submit], #login-form button[type=submit]")
    assert page.locator(".alert-error").is_visible()
    shot(page, "login")
    page.fill("#password", "correct-horse-1")
    page.click("main form.record-form button[type=submit], #login-form button[type=submit]")
    page.wait_for_url("**/a/crm")
    assert page.locator(".user-name").inner_text() == "Alice Admin"
    page.goto("/")
    shot(page, "home")


def test_add_record_with_validation_error_then_fix(page, live_server):
    customer = _customer(live_server, name="Validation Co")
    sign_in(page)
    page.goto("/a/crm/r/opportunity/new")
    assert page.locator('[data-field="lost_reason"]').is_hidden()  # visible_when: stage = lost
    page.fill("#f-name", "Big deal")
    picker = page.locator("#f-customer")  # the search-as-you-type picker
    picker.fill("Validation")
    page.locator(".picker-list li", has_text="Validation Co").click()
    page.select_option("#f-stage", "lost")
    assert page.locator('[data-field="lost_reason"]').is_visible()  # shown live
    page.click("button:has-text('Save')")
    error = page.locator('[data-field="lost_reason"] .field-errors')
    assert "lost reason" in error.inner_text()
    assert page.input_value("#f-name") == "Big deal"  # input kept
    shot(page, "form_error")
    page.fill("#f-lost_reason", "Budget went elsewhere")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/a/crm/r/opportunity/\d+$"))
    assert page.locator("h1").inner_text() == "Big deal"
    assert "Validation Co" in page.locator('[data-field="customer"]').inner_text()
    assert customer["id"]


def test_filter_and_sort_a_table(page, live_server):
    for name, tier in (("Zeta High", "high"), ("Alpha High", "high"), ("Mid Normal", "normal")):
        _customer(live_server, name=name, tier=tier)
    sign_in(page)
    page.goto("/a/crm/v/customers")
    page.select_option("select[name='f.tier']", "high")
    page.wait_for_url("**f.tier=high**")
    names = page.locator("table.data tbody tr td:nth-child(3)").all_inner_texts()
    assert "Mid Normal" not in names and {"Zeta High", "Alpha High"} <= set(names)
    header = page.locator("th[data-column='name'] a")
    header.click()  # the view sorts by name asc already: a click reverses it
    page.wait_for_url("**sort=-name**")
    names = page.locator("table.data tbody tr td:nth-child(3)").all_inner_texts()
    assert names.index("Zeta High") < names.index("Alpha High")
    assert page.locator("th[data-column='name']").get_attribute("aria-sort") == "descending"
    shot(page, "table_filtered_sorted")


def test_drag_a_kanban_card(page, live_server):
    customer = _customer(live_server)
    deal = _records(live_server).create(
        "crm", "opportunity", {"name": "Drag me", "customer": customer["id"], "stage": "qualify"}
    )
    sign_in(page)
    page.goto("/a/crm/v/pipeline")
    card = page.locator(f".kcard[data-id='{deal['id']}']")
    target = page.locator(".lane[data-value='proposal'] [data-dropzone]")
    with page.expect_response(lambda r: "/move" in r.url) as response:
        card.drag_to(target)
    assert response.value.ok
    assert page.locator(f".lane[data-value='proposal'] .kcard[data-id='{deal['id']}']").count() == 1
    shot(page, "kanban")
    stored = _records(live_server).get("crm", "opportunity", deal["id"])
    assert stored["stage"] == "proposal" and stored["version"] >= 2  # workflows may follow
    page.reload()
    assert page.locator(f".lane[data-value='proposal'] .kcard[data-id='{deal['id']}']").count() == 1


def test_record_page_add_related_record(page, live_server):
    customer = _customer(live_server, name="Related Ltd")
    sign_in(page)
    page.goto(f"/a/crm/r/customer/{customer['id']}")
    section = page.locator("[data-related='follow_up.customer']")
    section.locator("a.button").click()
    page.wait_for_url("**/a/crm/r/follow_up/new**")
    assert page.locator("#f-customer").input_value() == "Related Ltd"  # prefilled link
    page.fill("#f-subject", "Call about renewal")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/a/crm/r/customer/{customer['id']}")
    assert "Call about renewal" in section.inner_text()
    shot(page, "record")


def test_switch_to_chinese(page, live_server):
    sign_in(page)
    page.goto("/a/crm/v/customers")
    assert page.locator("nav.tabs").get_by_text("All records").is_visible()
    page.click("button.lang[value='zh_CN']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "全部客户"
    assert page.locator("nav.tabs").get_by_text("全部记录").is_visible()
    assert page.locator("button:has-text('退出')").is_visible()
    shot(page, "table_zh")
    page.click("button.lang[value='en']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "All customers"


def test_public_form_signed_out(page, live_server):
    page.goto("/f/crm/web_lead")
    assert page.locator(".sidebar").count() == 0
    page.fill("#f-name", "Web Visitor")
    page.fill("#f-email", "not-an-email")
    page.click("main form.record-form button[type=submit], #login-form button[type=submit]")
    assert page.locator('[data-field="email"] .field-errors').is_visible()
    shot(page, "public_form_error")
    page.fill("#f-email", "visitor@example.com")
    page.click("main form.record-form button[type=submit], #login-form button[type=submit]")
    assert page.locator(".success").is_visible()
    shot(page, "public_form_done")
    found = (
        live_server["app"]
        .extensions["tessera"]
        .queries.list(
            "crm", "lead", filter={"field": "email", "op": "eq", "value": "visitor@example.com"}
        )
    )
    assert [r["name"] for r in found.rows] == ["Web Visitor"]


def test_other_views_render(page, live_server):
    customer = _customer(live_server)
    _records(live_server).create(
        "crm",
        "opportunity",
        {"name": "Chart deal", "customer": customer["id"], "amount": "5000", "probability": "50"},
    )
    sign_in(page)
    for name, path in (
        ("calendar", "/a/crm/v/follow_up_calendar"),
        ("chart", "/a/crm/v/forecast_by_stage"),
        ("app", "/a/crm"),
    ):
        page.goto(path)
        assert page.locator("h1").is_visible()
        shot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/a/crm/v/customers")
    page.click(".menu-toggle")
    assert page.locator("#sidebar").is_visible()
    shot(page, "phone_table")
