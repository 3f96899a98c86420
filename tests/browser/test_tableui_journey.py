"""Browser journey: inline edit with a version conflict, the totals row, a phone-width
table as cards, and the delete confirmation naming what goes with the record (en, zh-CN)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser_helpers import shot, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tableui"))
from tableui_app import install  # noqa: E402


@pytest.fixture
def events(live_server):
    """The events app beside the CRM, with a fresh event and three registrations."""
    t = live_server["app"].extensions["tessera"]
    if "events" not in t.registry.apps:
        install(t)
    r = t.records
    ev = r.create("events", "event", {"name": "Gala 晚会", "agenda": [{"topic": "Hi"}]})
    regs = [
        r.create(
            "events",
            "registration",
            {"guest": g, "event": ev["id"], "kind": k, "seats": s, "fee": f},
        )
        for g, k, s, f in [("王芳", "adult", 2, "100.50"), ("Li", "child", 1, "20")]
    ]
    return {"t": t, "event": ev, "regs": regs}


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_table_inline_edit_totals_cards_and_delete(browser, live_server, events, lang):
    context = browser.new_context(
        base_url=live_server["url"], viewport={"width": 1280, "height": 860}, locale=lang
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    sign_in(page)
    page.goto("/a/events/v/registrations")
    page.click("text=中文" if lang == "zh-CN" else "text=English")
    page.goto("/a/events/v/registrations?q=" + ("王芳" if lang == "en" else "Li"))
    cell = page.locator("tr[data-id] td[data-edit=seats]").first
    before = int(page.locator("#totals-row td[data-column=seats]").inner_text())
    cell.click()
    cell.locator("input").fill(str(before + 5))
    cell.locator("input").press("Enter")
    page.wait_for_selector("#cell-message.flash-ok")
    assert cell.inner_text().strip() == str(before + 5)
    page.reload()
    assert int(page.locator("#totals-row td[data-column=seats]").inner_text()) == before + 5
    shot(page, f"tableui-totals-{lang}")

    rid = int(page.locator("tr[data-id]").first.get_attribute("data-id"))
    events["t"].records.update("events", "registration", rid, {"fee": "1"})  # someone else
    fee = page.locator("tr[data-id] td[data-edit=fee]").first
    fee.click()
    fee.locator("input").fill("77")
    fee.locator("input").press("Enter")
    page.wait_for_selector("#cell-message.flash-error")
    conflict = page.locator("#cell-message").inner_text()
    shot(page, f"tableui-conflict-{lang}")
    assert ("Someone else changed" if lang == "en" else "其他人修改了") in conflict, conflict

    page.goto("/a/events/v/by_kind")
    assert page.locator("tr.group-head").count() == 2  # adult, child: counts and subtotals
    shot(page, f"tableui-groups-{lang}")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/a/events/v/registrations")
    row = page.locator("tr[data-id]").first
    assert row.evaluate("e => getComputedStyle(e).display") == "block"  # a card
    box = page.locator(".toolbar .button").first.bounding_box()
    assert box["height"] >= 40
    shot(page, f"tableui-cards-390-{lang}")

    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"/a/events/r/event/{events['event']['id']}")
    page.click("#record-delete")
    items = page.locator(".delete-consequences li").all_inner_texts()
    assert any(("2" in i and ("records" in i or "条" in i)) for i in items), items
    shot(page, f"tableui-delete-{lang}")
    page.click("#delete-confirm")
    page.wait_for_url("**/a/events/r/event")
    context.close()
