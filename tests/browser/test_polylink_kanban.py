"""Browser: a kanban grouped by a link field (lanes = stage records), dragging a card
updates the lane counts, amount sums and weighted sums without a reload; at 1366 px the
lanes that do not fit are announced and reachable; the polymorphic link chooser. en + zh."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from browser_helpers import PASSWORD, shot, sign_in
from werkzeug.serving import make_server

from tessera import create_app, users

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "polylink"))
from polylink_app import install, seed_stages  # noqa: E402


@pytest.fixture(scope="module")
def sales_server(tmp_path_factory):
    """A server with the sales app (stages as records, deals, follow-ups) and alice."""
    folder = tmp_path_factory.mktemp("polylink")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-tests",
            "REDIS_URL": None,
        }
    )
    t = app.extensions["tessera"]
    install(t)
    users.create_user(t.engine, "alice", PASSWORD, is_admin=True, display_name="Alice Admin")
    stages = seed_stages(t.records)
    for name, stage, amount, p in [
        ("Alpha", "Qualify", "1000", 10), ("Beta", "Qualify", "500", 20),
        ("Gamma", "Propose", "2000", 50), ("Delta", "Negotiate", "800", 70),
        ("Omega", "Won", "3000", 100),
    ]:  # fmt: skip
        t.records.create(
            "sales",
            "deal",
            {"name": name, "stage": stages[stage], "amount": amount, "probability": p},
        )
    t.records.create("sales", "customer", {"name": "Acme"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "t": t, "stages": stages}
    server.shutdown()
    t.engine.dispose()


@pytest.fixture
def wide(browser, sales_server):
    """A page 1366 px wide (a common office laptop) on the sales server."""
    context = browser.new_context(
        base_url=sales_server["url"], viewport={"width": 1366, "height": 768}
    )
    context.set_default_timeout(8000)
    pg = context.new_page()
    yield pg
    context.close()


def _sums(page, stage_id) -> list[str]:
    lane = page.locator(f".lane[data-value='{stage_id}']")
    return [lane.locator("[data-count]").inner_text()] + lane.locator(
        "[data-sum-value]"
    ).all_inner_texts()


def test_drag_on_a_link_board_updates_lane_sums_live(wide, sales_server):
    page, stages = wide, sales_server["stages"]
    sign_in(page)
    page.goto("/a/sales/v/pipeline")
    assert page.locator(".lane h2").all_inner_texts() == [
        "Qualify", "Propose", "Negotiate", "Won", "Lost",
    ]  # fmt: skip
    assert _sums(page, stages["Qualify"]) == ["2", "CNY 1,500.00", "CNY 200.00"]
    assert _sums(page, stages["Propose"]) == ["1", "CNY 2,000.00", "CNY 1,000.00"]
    # at 1366 px not every lane fits: the board says so and scrolls to the last one
    nav = page.locator("[data-board-nav]")
    assert nav.is_visible()
    assert "of 5" in page.locator("[data-board-status]").inner_text()
    alpha = page.locator(".kcard", has_text="Alpha")
    target = page.locator(f".lane[data-value='{stages['Propose']}'] [data-dropzone]")
    with page.expect_response(lambda r: "/move" in r.url) as response:
        alpha.drag_to(target)
    assert response.value.ok
    # no reload: the headers carry the server's fresh totals (weighted = a formula)
    page.wait_for_function(
        "s => document.querySelector(`.lane[data-value='${s}'] [data-count]`).textContent === '1'",
        arg=str(stages["Qualify"]),
    )
    assert _sums(page, stages["Qualify"]) == ["1", "CNY 500.00", "CNY 100.00"]
    assert _sums(page, stages["Propose"]) == ["2", "CNY 3,000.00", "CNY 1,100.00"]
    shot(page, "polylink_kanban_1366_en")
    page.click("[data-scroll='1']")
    last = page.locator(f".lane[data-value='{stages['Lost']}']")
    page.wait_for_function(
        "() => { const b = document.querySelector('.board');"
        " return b.scrollLeft + b.clientWidth >= b.scrollWidth - 2; }"
    )
    box = last.bounding_box()
    assert box["x"] + box["width"] <= 1366
    stored = sales_server["t"].records.get("sales", "deal", 1)
    assert stored["stage"] == stages["Propose"]
    page.click("button.lang[value='zh_CN']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "销售管道"
    assert "共 5 列" in page.locator("[data-board-status]").inner_text()
    head = page.locator(f".lane[data-value='{stages['Propose']}'] .lane-sums").inner_text()
    assert "金额" in head and "加权金额" in head
    shot(page, "polylink_kanban_1366_zh")
    page.click("button.lang[value='en']")
    page.wait_for_load_state()


def test_pick_type_then_record_for_a_polymorphic_link(wide, sales_server):
    page = wide
    sign_in(page)
    page.goto("/a/sales/r/follow_up/new")
    page.fill("#f-subject", "Discuss the price")
    page.select_option("[data-poly-type]", "deal")
    page.fill("#f-regarding", "Gam")
    page.locator(".picker-list li", has_text="Gamma").click()
    shot(page, "polylink_chooser_en")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/a/sales/r/follow_up/*")
    link = page.locator("a.poly-link")
    assert link.inner_text().split() == ["Deal", "Gamma"]
    link.click()
    page.wait_for_url("**/a/sales/r/deal/*")
    related = page.locator("[data-related='follow_up.regarding']")
    assert "Discuss the price" in related.inner_text()
    page.click("button.lang[value='zh_CN']")
    page.wait_for_load_state()
    shot(page, "polylink_related_zh")
    assert "跟进" in page.locator("[data-related='follow_up.regarding'] h2").inner_text()
    page.click("button.lang[value='en']")
    page.wait_for_load_state()
