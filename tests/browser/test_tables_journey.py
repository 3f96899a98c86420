"""Browser journey: order lines edited as a grid (add, remove, reorder), saved, totals shown."""

from __future__ import annotations

import re

import pytest
import yaml
from browser_helpers import shot, sign_in

SHOP = (
    __import__("pathlib").Path(__file__).resolve().parents[1] / "tables" / "tables_helpers.py"
)  # the shop template of the child-table tests


@pytest.fixture
def shop(live_server):
    """The shop app (products, orders with lines) installed beside the CRM; two products."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = live_server["app"].extensions["tessera"]
    if "shop" not in t.registry.apps:
        text = re.search(r'SHOP = """(.*?)"""', SHOP.read_text(), re.S).group(1)
        installer.install(t.engine, app_from_data(yaml.safe_load(text)), text)
        t.registry.reload()
        t.records.create("shop", "product", {"name": "Pen 钢笔", "price": "2.50"})
        t.records.create("shop", "product", {"name": "Book 图书", "price": "30"})
    return t


def _rows(page):
    return page.locator("fieldset[data-rows=items] tbody tr[data-row]")


def _fill(page, n: int, product: str, qty: str, price: str) -> None:
    row = _rows(page).nth(n)
    row.locator("select[data-cell=product]").select_option(label=product)
    row.locator("input[data-cell=qty]").fill(qty)
    row.locator("input[data-cell=price]").fill(price)


def test_order_lines_grid(page, shop):
    sign_in(page)
    page.goto("/a/shop/r/order/new")
    page.fill("#f-code", "SO-1")
    assert _rows(page).count() == 1  # one empty line to start with
    _fill(page, 0, "Pen 钢笔", "2", "2.50")
    page.click("[data-row-add]")
    _fill(page, 1, "Book 图书", "1", "30")
    page.click("[data-row-add]")
    _fill(page, 2, "Pen 钢笔", "9", "1")
    assert _rows(page).count() == 3
    _rows(page).nth(2).locator("[data-row-remove]").click()  # remove the third line
    _rows(page).nth(1).locator("[data-row-up]").click()  # the book goes first
    assert _rows(page).nth(0).locator("select").input_value() != ""
    assert (
        _rows(page).nth(0).locator("select[name='items-0-product'] option:checked").inner_text()
        == "Book 图书"
    )
    shot(page, "tables_grid_en")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r".*/a/shop/r/order/\d+$"))
    lines = page.locator("table.rows-view tbody tr")
    assert lines.count() == 2
    assert "Book 图书" in lines.nth(0).inner_text() and "30.00" in lines.nth(0).inner_text()
    assert "Pen 钢笔" in lines.nth(1).inner_text() and "5.00" in lines.nth(1).inner_text()
    assert "35.00" in page.locator("main").inner_text()  # the total of the lines
    shot(page, "tables_record_en")

    page.click("button.lang[value='zh_CN']")
    page.wait_for_load_state()
    assert "明细" in page.locator("main").inner_text()
    shot(page, "tables_record_zh")
    page.goto(page.url + "/edit")
    page.fill("[name='items-1-qty']", "0")  # a bad cell: shown in its row, nothing saved
    page.click("[data-row-add]")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    bad = _rows(page).nth(1)
    assert bad.locator(".field-errors").count() == 1
    assert page.locator("#form-errors").is_visible()
    shot(page, "tables_grid_zh")
    page.click("button.lang[value='en']")
    page.wait_for_load_state()
    page.fill("[name='items-1-qty']", "3")  # fixed: saved, and the history shows the lines
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/a/shop/r/order/\d+$"))
    assert "37.50" in page.locator("main").inner_text()  # 30 + 3 x 2.50
    activity = page.locator("main").inner_text()
    assert "Total: 35.00 → 37.50" in activity
    assert "Lines, row 2 · Qty: 2 → 3" in activity  # only the changed cells of the lines
    shot(page, "tables_history_en")
