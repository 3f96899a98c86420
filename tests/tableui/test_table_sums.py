"""Table views: a totals row over the whole filtered, permitted set; groups with subtotals."""

from __future__ import annotations

import re

from tableui_app import grant
from web_helpers import login


def _text(page: str, pattern: str) -> str:
    found = re.search(pattern, page, re.S)
    assert found, pattern
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _regs(tessera, owner=None, n=0):
    r = tessera.records
    made = []
    for i, (kind, seats, fee) in enumerate(
        [("adult", 2, "100.50"), ("child", 1, "20"), ("adult", 3, "300"), ("child", 4, "1")]
    ):
        values = {"guest": f"G{n + i}", "kind": kind, "seats": seats, "fee": fee, "owner": owner}
        made.append(r.create("events", "registration", values))
    return made


def test_totals_cover_every_page_and_follow_the_filter(client, tessera, web_app):
    _regs(tessera)
    page = client.get("/a/events/v/registrations?page=1").get_data(as_text=True)
    assert _text(page, r'<td class="num total" data-column="seats"[^>]*>(.*?)</td>') == "10"
    assert _text(page, r'<td class="num total" data-column="fee"[^>]*>(.*?)</td>').endswith(
        "421.50"
    )
    assert "Total (all 4 matching records)" in page
    page = client.get("/a/events/v/registrations?f.kind=child").get_data(as_text=True)
    assert _text(page, r'<td class="num total" data-column="seats"[^>]*>(.*?)</td>') == "5"
    page = client.get("/a/events/v/registrations?q=G0").get_data(as_text=True)
    assert _text(page, r'<td class="num total" data-column="seats"[^>]*>(.*?)</td>') == "2"


def test_totals_count_only_records_the_user_may_read(web_app, tessera):
    bob_id = grant(tessera, "bob")
    _regs(tessera)  # nobody's
    _regs(tessera, owner=bob_id, n=10)
    tessera.records.update("events", "registration", 5, {"seats": 7})  # bob's first: 7
    bob = web_app.test_client()
    login(bob, "bob")
    page = bob.get("/a/events/v/registrations").get_data(as_text=True)
    assert _text(page, r'<td class="num total" data-column="seats"[^>]*>(.*?)</td>') == "15"
    assert "Total (all 4 matching records)" in page


def test_group_by_headers_count_and_subtotal_the_whole_group(client, tessera, web_app):
    _regs(tessera)
    web_app.config["TESTING"] = True
    page = client.get("/a/events/v/by_kind").get_data(as_text=True)
    heads = re.findall(r'<tr class="group-head" data-group="(\w+)"', page)
    assert heads == ["adult", "child"]
    adult = page.split('data-group="adult"')[1].split("</tr>")[0]
    assert "2 records" in adult and ">5<" in adult.replace(" ", "")
    child = page.split('data-group="child"')[1].split("</tr>")[0]
    assert "21.00" in child
    page = client.get("/a/events/v/by_kind?group=").get_data(as_text=True)
    assert "group-head" not in page  # the user chose no grouping
    page = client.get("/a/events/v/registrations?group=kind&page_size=1").get_data(as_text=True)
    assert 'data-group="adult"' in page


def test_table_group_by_must_name_a_groupable_field():
    from tableui_app import events_data

    from tessera.errors import TemplateError
    from tessera.meta import app_from_data

    data = events_data()
    data["views"][1]["group_by"] = "fee"
    try:
        app_from_data(data)
    except TemplateError as exc:
        assert "views[1].group_by" in str(exc) and "select, boolean, link or user" in str(exc)
    else:
        raise AssertionError("a table grouped by a currency field was accepted")
