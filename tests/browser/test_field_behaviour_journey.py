# ruff: noqa: E501 -- the template reads best one field a line
"""Browser journey: a form with tabs and two columns, a read-only value, a consent
checkbox and a rich-text editor; the saved record renders the formatting (not tags).
Screenshots in English and Chinese: tests/artifacts/fieldbeh-*.png."""

from __future__ import annotations

import re
import threading

import pytest
import yaml
from browser_helpers import PASSWORD, shot, sign_in
from werkzeug.serving import make_server

from tessera import create_app, users
from tessera.meta import app_from_data
from tessera.storage import installer

DESK = """
id: desk
version: 1.0.0
label: {en: Service desk, zh-CN: 服务台}
record_types:
  - key: ticket
    label: {en: Ticket, zh-CN: 工单}
    title: title
    fields:
      - {key: title, type: text, required: true, label: {en: Title, zh-CN: 标题}}
      - {key: owner, type: user, default: $me, label: {en: Owner, zh-CN: 负责人}}
      - {key: opened_at, type: datetime, read_only: true, default: now, label: {en: Opened (set by the system), zh-CN: 创建时间（系统填写）}}
      - {key: effort, type: duration, label: {en: Effort, zh-CN: 工时}}
      - {key: starts, type: time, label: {en: Starts at, zh-CN: 开始时间}}
      - {key: currency_code, type: select, label: {en: Currency, zh-CN: 币种}, options: [{value: CNY}, {value: USD}]}
      - {key: price, type: currency, currency: CNY, currency_field: currency_code, label: {en: Price, zh-CN: 价格}}
      - {key: body, type: rich_text, label: {en: Description, zh-CN: 描述}}
      - {key: consent, type: boolean, required: true, label: {en: I agree to the service terms, zh-CN: 我同意服务条款}}
forms:
  - key: ticket_form
    record_type: ticket
    sections:
      - {title: {en: Basics, zh-CN: 基本信息}, tab: {en: Main, zh-CN: 主要}, columns: 2, fields: [title, owner, opened_at, effort, starts]}
      - {title: {en: Money, zh-CN: 金额}, tab: {en: Main, zh-CN: 主要}, columns: 2, fields: [currency_code, price]}
      - {title: {en: Details, zh-CN: 详情}, tab: {en: Details, zh-CN: 详情}, fields: [body, consent]}
"""


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory):
    """A server of its own with the desk app (the shared one keeps only the CRM)."""
    folder = tmp_path_factory.mktemp("desk")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-tests",
            "REDIS_URL": None,
        }
    )
    t = app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(DESK)), DESK)
    t.registry.reload()
    users.create_user(t.engine, "alice", PASSWORD, is_admin=True, display_name="Alice Admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    t.engine.dispose()


@pytest.fixture
def desk_page(browser, desk_server):
    context = browser.new_context(base_url=desk_server, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(8000)
    yield context.new_page()
    context.close()


def _switch(page, locale: str) -> None:
    page.click(f"button.lang[value={locale}]")
    page.wait_for_load_state()


def test_tabs_columns_read_only_consent_and_rich_text(desk_page):
    page = desk_page
    sign_in(page)
    page.goto("/a/desk/r/ticket/new")
    tabs = page.locator("[role=tab]")
    assert tabs.all_inner_texts() == ["Main", "Details"]
    assert page.locator(".grid.cols-2").first.is_visible()
    fixed = page.locator("[data-field=opened_at] .fixed-value")
    # shown as text in the reader's zone (the default "now"), never as an input
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d( UTC)?", fixed.inner_text().strip())
    assert page.locator("input[name=opened_at]").count() == 0
    assert page.locator("#f-owner option:checked").inner_text() == "Alice Admin"  # $me
    page.fill("#f-title", "Broken printer")
    page.fill("#f-effort", "1h 30m")
    page.fill("#f-starts", "09:30")
    page.select_option("#f-currency_code", "USD")
    page.fill("#f-price", "12.5")
    shot(page, "fieldbeh-form-en")

    tabs.nth(1).click()
    assert page.locator("#f-body").is_hidden() and page.locator(".rich-area").is_visible()
    assert page.locator("[data-field=consent] .req").is_visible()  # consent shows the asterisk
    page.click(".rich-area")
    page.click("button[data-cmd=bold]")
    page.keyboard.type("Paper jam")
    page.click("button[data-cmd=bold]")
    page.keyboard.type(" on floor 3")
    shot(page, "fieldbeh-form-details-en")
    page.click("button[type=submit].primary")
    # unticked consent: refused, the Details tab opens on the error
    assert page.locator("[data-field=consent] .field-errors").inner_text() == "must be ticked"
    assert page.locator("#panel-2").is_visible()
    page.check("#f-consent")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/a/desk/r/ticket/*")
    assert "/new" not in page.url
    rich = page.locator("[data-field=body] .rich-text")
    assert rich.locator("b").inner_text() == "Paper jam"  # rendered, not shown as tags
    assert "<b>" not in rich.inner_text()
    assert page.locator("[data-field=price]").inner_text().endswith("USD 12.50")
    assert "1h 30m" in page.locator("[data-field=effort]").inner_text()
    shot(page, "fieldbeh-record-en")

    _switch(page, "zh_CN")
    assert "1小时30分" in page.locator("[data-field=effort]").inner_text()
    shot(page, "fieldbeh-record-zh")
    page.goto("/a/desk/r/ticket/new")
    assert page.locator("[role=tab]").all_inner_texts() == ["主要", "详情"]
    shot(page, "fieldbeh-form-zh")
    page.locator("[role=tab]").nth(1).click()
    assert page.locator("button[data-cmd=bold]").get_attribute("title") == "粗体"
    shot(page, "fieldbeh-form-details-zh")
