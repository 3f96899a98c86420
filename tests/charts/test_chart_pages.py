"""Chart pages, click-through, dashboards, the home dashboard and the 360° record page."""

from __future__ import annotations

import json
import re

from bs4 import BeautifulSoup
from charts_helpers import sign_in


def _page(client, path, status=200):
    r = client.get(path)
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    return r.get_data(as_text=True)


def _payload(html, key):
    soup = BeautifulSoup(html, "html.parser")
    return json.loads(soup.find("script", id=f"chart-data-{key}").string)


def test_every_chart_type_payload(client, sales, deals):
    html = _page(client, "/a/sales/v/won_by_month")
    data = _payload(html, "won_by_month")
    assert data["type"] == "stacked_bar" and data["number"] == {
        "style": "currency",
        "currency": "CNY",
        "decimals": 2,
    }
    assert [c["label"] for c in data["categories"]] == ["2026-03", "2026-04"]
    by_name = {s["name"]: s["values"] for s in data["series"]}
    assert by_name == {"Ann": [1000, 300], "Ben": [400, 250.5]}
    ben = next(s for s in data["series"] if s["name"] == "Ben")
    assert ben["hrefs"][1] == f"/a/sales/v/won_by_month/records?x=2026-04-01&s={sales.users['ben']}"
    # the numbers also read as a table, formatted with the currency in the UI's locale
    assert "CN¥250.50" in html and "echarts.min.js" in html


def test_click_through_lists_the_records_behind_a_bar(client, sales, deals):
    ben = sales.users["ben"]
    html = _page(client, f"/a/sales/v/won_by_month/records?x=2026-04-01&s={ben}")
    assert "Beta" in html and "Gamma" not in html and "Theta" not in html
    html = _page(client, "/a/sales/v/won_by_month/records?x=2026-03-01")
    assert "Alpha" in html and "Theta" in html and "Beta" not in html
    assert "Won by month · 2026-03" in html
    html = _page(client, "/a/sales/v/by_stage/records?x=lead")
    assert "Zeta" in html and "Eta" in html and "Alpha" not in html
    html = _page(client, "/a/sales/v/deals_by_quarter/records?x=__empty__")
    assert {"Eps", "Zeta", "Eta"} <= set(re.findall(r">(\w+)</a>", html)) and "Alpha" not in html
    _page(client, "/a/sales/v/board/records", 404)
    # funnel keeps the stage order and its filter
    data = _payload(_page(client, "/a/sales/v/funnel"), "funnel")
    assert [c["key"] for c in data["categories"]] == ["lead", "proposal", "won"]
    assert data["series"][0]["values"] == [120, 500, 1950.5]
    # line fills empty periods and pie counts
    data = _payload(_page(client, "/a/sales/v/deals_by_quarter"), "deals_by_quarter")
    labels = [c["label"] for c in data["categories"]]
    assert labels == ["2025 Q4", "2026 Q1", "2026 Q2", "2026 Q3"]
    assert data["series"][0]["values"] == [1, 1, 2, 1]
    pie = _payload(_page(client, "/a/sales/v/stage_pie"), "stage_pie")
    assert dict(
        zip([c["key"] for c in pie["categories"]], pie["series"][0]["values"], strict=True)
    ) == {
        "lead": 2,
        "proposal": 1,
        "won": 4,
        "lost": 1,
    }
    # donut average and table chart
    donut = _payload(_page(client, "/a/sales/v/owner_donut"), "owner_donut")
    got = dict(
        zip([c["label"] for c in donut["categories"]], donut["series"][0]["values"], strict=True)
    )
    assert got == {"Ann": 480.0, "Ben": 243.5, "(none)": None}
    html = _page(client, "/a/sales/v/stage_table")
    soup = BeautifulSoup(html, "html.parser")
    table = soup.select_one("table.chart-table")
    assert [th.get_text() for th in table.select("thead th")] == ["Stage", "Ann", "Ben", "(none)"]
    rows = {
        tr.th.get_text(): [td.get_text() for td in tr.select("td")]
        for tr in table.select("tbody tr")
    }
    assert rows["Won"] == ["2", "2", "0"] and rows["Lead"] == ["1", "0", "1"]


def test_kpi_compares_with_the_previous_period(client, sales, deals):
    html = _page(client, "/a/sales/v/won_this_month")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one(".kpi-value").get_text() == "CN¥550.50"
    change = soup.select_one(".kpi-change")
    assert "up" in change["class"] and "+37.6%" in change.get_text()
    assert "CN¥400.00" in change.get_text()


def test_ratio_kpi_and_bars_show_shares(client, sales, deals):
    html = _page(client, "/a/sales/v/win_rate")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one(".kpi-value").get_text() == "80.0%"  # 4 won of 5 closed
    data = _payload(_page(client, "/a/sales/v/win_rate_by_owner"), "win_rate_by_owner")
    got = dict(
        zip([c["label"] for c in data["categories"]], data["series"][0]["values"], strict=True)
    )
    assert got == {"Ann": 100.0, "Ben": 66.7} and data["number"]["style"] == "percent"
    assert data["measure"] == "Share of records (%)"


def test_echarts_is_served_locally_under_the_csp(client, sales):
    page = client.get("/a/sales/v/by_stage")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    srcs = re.findall(r'<script src="([^"]+)"', page.get_data(as_text=True))
    assert "/assets/vendor/echarts/echarts.min.js" in srcs
    assert all(s.startswith("/assets/") for s in srcs)  # nothing from a CDN
    js = client.get("/assets/vendor/echarts/echarts.min.js")
    assert js.status_code == 200 and "javascript" in js.content_type
    assert len(js.get_data()) > 500_000
    assert b"Apache License" in client.get("/assets/vendor/echarts/LICENSE").get_data()


def test_limit_keeps_the_largest_categories(client, sales, deals):
    data = _payload(_page(client, "/a/sales/v/top_stages"), "top_stages")
    assert [c["key"] for c in data["categories"]] == ["won", "proposal"]
    assert data["series"][0]["values"] == [1950.5, 500]


def test_chinese_locale_formats_money_and_periods(client, sales, deals):
    with client.session_transaction() as s:
        s["locale"] = "zh_CN"
    html = _page(client, "/a/sales/v/won_by_month")
    data = _payload(html, "won_by_month")
    assert data["locale"] == "zh-CN" and data["categories"][0]["label"] == "2026年3月"
    assert "¥1,000.00" in html and "CN¥" not in html


def test_dashboard_lays_out_every_widget(client, sales, deals):
    html = _page(client, "/a/sales/v/sales_dashboard")
    soup = BeautifulSoup(html, "html.parser")
    tiles = [
        (t["data-tile"], [c for c in t["class"] if c.startswith("w-")][0])
        for t in soup.select(".dash-grid > .tile")
    ]
    assert tiles == [
        ("won_this_month", "w-3"),
        ("funnel", "w-5"),
        ("win_rate", "w-4"),
        ("stage_pie", "w-4"),
        ("won_by_month", "w-6"),
        ("deals_by_quarter", "w-6"),
        ("by_stage", "w-4"),
        ("owner_donut", "w-4"),
        ("stage_table", "w-4"),
    ]
    assert len(soup.select(".echart[data-chart]")) == 6  # kpi and table draw without ECharts
    assert "dashboard.css" in html and "charts.js" in html
    _page(client, "/a/sales/v/sales_dashboard/export", 404)  # a dashboard has no rows


def test_home_shows_the_users_own_day(flask_app, client, sales, deals):
    html = _page(client, "/")
    soup = BeautifulSoup(html, "html.parser")
    home = soup.select_one('[data-home="sales.my_day"]')
    mine = home.select_one('[data-tile="my_open_deals"]')
    assert [a.get_text() for a in mine.select("td a")] == ["Eps", "Zeta"]  # ann's, by amount
    board = home.select_one('[data-tile="board"]')
    lanes = [
        (li.select_one(".lane-name").get_text(), li.select_one(".lane-count").get_text())
        for li in board.select(".lane-bars li")
    ]
    assert lanes == [("Lead", "2"), ("Proposal", "1"), ("Won", "4"), ("Lost", "1")]
    assert soup.select_one(".app-card")  # the apps stay listed below
    other = flask_app.test_client()
    sign_in(other, "ben")
    theirs = BeautifulSoup(_page(other, "/"), "html.parser")
    mine = theirs.select_one('[data-tile="my_open_deals"]')
    assert not mine.select("td a") and "Nothing here right now" in mine.get_text()


def test_home_without_a_home_dashboard_lists_the_apps(web_free_client):
    html = _page(web_free_client, "/")
    assert "data-home" not in html and "app-card" in html


def test_record_page_key_numbers_and_merged_timeline(client, sales, deals):
    acme = deals["acme"]
    sales.records.create("sales", "visit", {"subject": "Lunch", "customer": acme["id"]})
    about = {"subject": "Call about", "about": f"customer:{acme['id']}"}  # a polymorphic link
    sales.records.create("sales", "visit", about)
    sales.records.update("sales", "customer", acme["id"], {"name": "Acme Ltd"})
    html = _page(client, f"/a/sales/r/customer/{acme['id']}")
    soup = BeautifulSoup(html, "html.parser")
    numbers = {d.dt.get_text(): d.dd.get_text().strip() for d in soup.select(".key-number")}
    assert numbers == {"Total deals": "1,800.00", "Deals": "4", "Biggest deal": "1,000.00"}
    items = soup.select("ol.timeline > li")
    kinds = [li["data-kind"] for li in items]
    assert kinds[:3] == ["self", "visit", "visit"]  # the rename, then the visits: newest first
    visits = [li.select_one(".tl-title").get_text() for li in items if li["data-kind"] == "visit"]
    assert visits == ["Call about", "Lunch"]
    titles = [li.select_one(".tl-title").get_text() for li in items if li["data-kind"] == "deal"]
    assert titles == ["Eta", "Eps", "Gamma", "Alpha"]
    assert kinds.count("self") == 2  # created + renamed
    chips = {
        a["data-kind"]: a.select_one("span").get_text()
        for a in soup.select(".tl-kinds a[data-kind]")
    }
    assert chips == {"self": "2", "deal": "4", "visit": "2"}
    only = BeautifulSoup(
        _page(client, f"/a/sales/r/customer/{acme['id']}?kind=deal"), "html.parser"
    )
    assert {li["data-kind"] for li in only.select("ol.timeline > li")} == {"deal"}
