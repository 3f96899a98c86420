"""The built-in CRM with its demo data in a real browser: my day and the dashboards (en, zh)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser_helpers import PASSWORD, shot, sign_in
from werkzeug.serving import make_server

from tessera import create_app, users
from tessera.access.principal import bump_access_version
from tessera.access.tables import user_roles
from tessera.demo import load_demo
from tessera.meta import load_app
from tessera.storage import installer

CRM = Path(__file__).resolve().parents[2] / "templates_builtin" / "crm"
#: a canvas with at least one painted pixel (ECharts draws on a transparent canvas)
PAINTED = """el => {
  const c = el.querySelector('canvas');
  if (!c || !c.width || !c.height) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
  return false;
}"""


@pytest.fixture(scope="module")
def crm_server(tmp_path_factory):
    """The CRM with a tenth of its demo data; rita (sales rep) and an admin."""
    folder = tmp_path_factory.mktemp("crm")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-crm",
            "REDIS_URL": None,
            "AUTOMATION_EMBEDDED": False,
        }
    )
    t = app.extensions["tessera"]
    installer.install(t.engine, load_app(CRM), (CRM / "template.yaml").read_text())
    t.registry.reload()
    users.create_user(t.engine, "boss", PASSWORD, is_admin=True, display_name="Boss 老板")
    rita = users.create_user(t.engine, "rita", PASSWORD, display_name="Rita 丽塔")
    with t.engine.begin() as conn:
        conn.execute(sa.insert(user_roles).values(user_id=rita, app_id="crm", role="sales_rep"))
        bump_access_version(conn)
    load_demo(t, "crm", CRM / "demo.yaml", scale=0.1)  # rita owns the generated customers
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    t.engine.dispose()


@pytest.fixture
def cpage(browser, crm_server):
    context = browser.new_context(base_url=crm_server, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10000)
    pg = context.new_page()
    yield pg
    context.close()


def _zh(page) -> None:
    page.click("button.lang[value='zh_CN']")
    page.wait_for_load_state()


def _en(page) -> None:
    """English (the choice is remembered per user, and the tests share users)."""
    page.click("button.lang[value='en']")
    page.wait_for_load_state()


def _painted(page, count: int) -> None:
    boxes = page.locator(".chart-box:has(canvas)")
    boxes.first.wait_for()
    page.wait_for_function(
        f"() => document.querySelectorAll('.chart-box canvas').length >= {count}"
    )
    for i in range(boxes.count()):
        assert boxes.nth(i).evaluate(PAINTED), f"chart {i} is blank"


def test_my_day_home_for_a_sales_rep(cpage):
    page = cpage
    sign_in(page, "rita")
    page.goto("/")
    _en(page)
    assert page.get_by_text("My day").first.is_visible()
    for title in ("My follow-ups due", "My deals closing this month", "My tickets",
                  "My won amount this month"):  # fmt: skip
        assert page.get_by_text(title).first.is_visible(), title
    shot(page, "crm_my_day_en")
    _zh(page)
    assert page.get_by_text("我的一天").first.is_visible()
    assert page.get_by_text("我的待办跟进").first.is_visible()
    shot(page, "crm_my_day_zh")


@pytest.mark.parametrize(
    ("key", "title_en", "title_zh", "charts"),
    [
        ("sales_dashboard", "Sales dashboard", "销售仪表盘", 6),
        ("customer_dashboard", "Customer dashboard", "客户仪表盘", 3),
        ("service_dashboard", "Service dashboard", "服务仪表盘", 2),
        ("campaign_dashboard", "Campaign ROI", "市场活动ROI", 1),
    ],
)
def test_dashboards_draw_their_charts(cpage, key, title_en, title_zh, charts):
    page = cpage
    sign_in(page, "boss")
    page.goto(f"/a/crm/v/{key}")
    _en(page)
    assert page.locator("h1").inner_text() == title_en
    _painted(page, charts)
    shot(page, f"crm_{key}_en")
    _zh(page)
    assert page.locator("h1").inner_text() == title_zh
    _painted(page, charts)
    shot(page, f"crm_{key}_zh")
