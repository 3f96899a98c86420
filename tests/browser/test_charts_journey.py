"""Charts, dashboards, the home dashboard and the 360° page in a real browser (en and zh)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from browser_helpers import PASSWORD, shot, sign_in
from werkzeug.serving import make_server

from tessera import create_app, users
from tessera.meta import app_from_data
from tessera.storage import installer

SALES = (Path(__file__).resolve().parents[1] / "charts" / "sales.yaml").read_text()
NOW = datetime(2026, 4, 15, 10, 0, tzinfo=UTC)
DEALS = [  # name, stage, amount, owner, closed_on, closed_at
    ("Alpha 阿尔法", "won", "1000.00", "ann", "2026-03-31", "2026-03-31T23:30:00+00:00"),
    ("Beta 贝塔", "won", "250.50", "ben", "2026-04-01", "2026-04-01T00:15:00+00:00"),
    ("Gamma", "won", "300.00", "ann", "2026-04-10", "2026-06-30T23:59:00+00:00"),
    ("Delta", "lost", "80.00", "ben", "2026-01-02", "2026-07-01T00:00:00+00:00"),
    ("Eps", "proposal", "500.00", "ann", None, None),
    ("Zeta", "lead", "120.00", "ann", None, None),
    ("Theta", "won", "400.00", "ben", "2026-03-15", "2025-12-31T23:59:59+00:00"),
]
#: a canvas with at least one painted pixel (ECharts draws on a transparent canvas)
PAINTED = """el => {
  const c = el.querySelector('canvas');
  if (!c || !c.width || !c.height) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
  return false;
}"""


@pytest.fixture(scope="module")
def sales_server(tmp_path_factory):
    """A server with only the sales app, users ann and ben, and a fixed clock for KPIs."""
    folder = tmp_path_factory.mktemp("sales")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-charts",
            "REDIS_URL": None,
        }
    )
    t = app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(SALES)), SALES)
    t.registry.reload()
    t.queries.clock = lambda: NOW
    who = {
        "ann": users.create_user(t.engine, "ann", PASSWORD, is_admin=True, display_name="Ann"),
        "ben": users.create_user(t.engine, "ben", PASSWORD, display_name="Ben 本"),
    }
    acme = t.records.create("sales", "customer", {"name": "Acme 艾克美", "owner": who["ann"]})
    for name, stage, amount, owner, on, at in DEALS:
        values = {"name": name, "stage": stage, "amount": amount, "owner": who[owner]}
        values.update(closed_on=on, closed_at=at, customer=acme["id"])
        t.records.create("sales", "deal", values)
    t.records.create(
        "sales", "visit", {"subject": "Lunch 午餐", "customer": acme["id"], "due": "2030-01-02"}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "acme": acme}
    server.shutdown()
    t.engine.dispose()


@pytest.fixture
def spage(browser, sales_server):
    """A page on the sales server that records CSP violations and script errors."""
    context = browser.new_context(
        base_url=sales_server["url"], viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(8000)
    pg = context.new_page()
    pg.problems = []
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(m.text))
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    yield pg
    context.close()


def _drawn(page, count: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('.echart[data-drawn]').length === {count}")
    page.wait_for_timeout(50)  # one frame: ECharts paints on the next animation frame
    for el in page.locator(".echart").all():
        assert el.evaluate(PAINTED), el.get_attribute("data-chart")


def _chinese(page) -> None:
    page.click("button.lang[value='zh_CN']")
    page.wait_for_load_state()


def test_dashboard_draws_every_chart_type_and_clicks_through(spage):
    sign_in(spage, "ann")
    spage.emulate_media(reduced_motion="reduce")  # no animation: the pixels are final
    spage.goto("/a/sales/v/sales_dashboard")
    _drawn(spage, 6)  # funnel, pie, stacked bar, line, bar, donut; the kpi and table are HTML
    assert spage.locator("[data-tile=won_this_month] .kpi-value").inner_text() == "CN¥550.50"
    assert "+37.6%" in spage.locator("[data-tile=won_this_month] .kpi-change").inner_text()
    shot(spage, "charts_dashboard_en")
    _chinese(spage)
    _drawn(spage, 6)
    assert spage.locator("[data-tile=won_this_month] .kpi-value").inner_text() == "¥550.50"
    shot(spage, "charts_dashboard_zh")
    # click the "Won" bar of the amount-by-stage chart: its records open in a table
    spage.goto("/a/sales/v/by_stage")
    _drawn(spage, 1)
    x, y = spage.locator(".echart").evaluate(
        """el => echarts.getInstanceByDom(el).convertToPixel({seriesIndex: 0}, [2, 975])"""
    )
    box = spage.locator(".echart").bounding_box()
    spage.mouse.click(box["x"] + x, box["y"] + y)
    spage.wait_for_url("**/a/sales/v/by_stage/records?x=won")
    names = spage.locator("table.data tbody tr td a").all_inner_texts()
    assert {"Alpha 阿尔法", "Beta 贝塔", "Gamma", "Theta"} <= set(names) and "Eps" not in names
    shot(spage, "charts_click_through_zh")
    assert not [p for p in spage.problems if "Content Security Policy" in p or "Error" in p]


def test_home_dashboard_and_the_360_page(spage, sales_server):
    sign_in(spage, "ann")
    spage.emulate_media(reduced_motion="reduce")
    spage.goto("/")
    home = spage.locator("[data-home='sales.my_day']")
    assert home.locator("[data-tile=my_open_deals] td a").all_inner_texts() == ["Eps", "Zeta"]
    assert "Lunch 午餐" in home.locator("[data-tile=agenda]").inner_text()
    shot(spage, "charts_home_en")
    _chinese(spage)
    assert "我的一天" in spage.locator(".home-dash-title").inner_text()
    shot(spage, "charts_home_zh")
    spage.goto(f"/a/sales/r/customer/{sales_server['acme']['id']}")
    numbers = spage.locator(".key-number dd").all_inner_texts()
    assert numbers == ["2,650.50", "7", "1,000.00"]
    kinds = spage.locator("ol.timeline > li").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds[0] == "visit" and kinds.count("deal") == 7 and kinds[-1] == "self"
    shot(spage, "charts_360_zh")
    spage.click(".tl-kinds a[data-kind=deal]")
    spage.wait_for_url("**?kind=deal")
    assert spage.locator("ol.timeline > li[data-kind=visit]").count() == 0
    spage.click("button.lang[value='en']")
    spage.wait_for_load_state()
    shot(spage, "charts_360_en")
    assert not spage.problems
