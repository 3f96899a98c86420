# ruff: noqa: E501 -- the template and form posts read best one field a line
"""Field behaviour on the generated forms and record pages: tabs and columns, read-only
values shown as text (a crafted post cannot write them), set_once fixed on edit, $me
prefilled, consent checkboxes, rich text rendered as HTML and never as tags."""

from __future__ import annotations

import re

import pytest
import yaml
from web_helpers import csrf

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
      - {key: ref, type: text, set_once: true, label: {en: Reference, zh-CN: 编号}}
      - {key: owner, type: user, default: $me, label: {en: Owner, zh-CN: 负责人}}
      - {key: opened_at, type: datetime, read_only: true, default: now, label: {en: Opened, zh-CN: 创建于}}
      - {key: effort, type: duration, label: {en: Effort, zh-CN: 工时}}
      - {key: starts, type: time, label: {en: Starts, zh-CN: 开始时间}}
      - {key: body, type: rich_text, label: {en: Description, zh-CN: 描述}}
      - {key: currency_code, type: select, options: [{value: CNY}, {value: USD}]}
      - {key: price, type: currency, currency: CNY, currency_field: currency_code, label: {en: Price, zh-CN: 价格}}
      - {key: consent, type: boolean, required: true, label: {en: I agree to the terms, zh-CN: 我同意条款}}
forms:
  - key: ticket_form
    record_type: ticket
    sections:
      - {title: {en: Basics, zh-CN: 基本信息}, tab: {en: Main, zh-CN: 主要}, columns: 2,
         fields: [title, ref, owner, opened_at, effort, starts]}
      - {title: {en: Money, zh-CN: 金额}, tab: {en: Main, zh-CN: 主要}, columns: 2, fields: [currency_code, price]}
      - {title: {en: Details, zh-CN: 详情}, tab: {en: Details, zh-CN: 详情}, fields: [body, consent]}
"""
NEW = "/a/desk/r/ticket/new"


@pytest.fixture
def desk(web_app):
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = web_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(DESK)), DESK)
    t.registry.reload()
    return t


def test_new_form_has_tabs_columns_fixed_values_and_a_consent(desk, client):
    html = client.get(NEW).get_data(as_text=True)
    assert (
        html.count('role="tab"') == 2 and ">Main</button>" in html and ">Details</button>" in html
    )
    assert 'class="grid cols-2"' in html
    # read-only: shown as text, no input carries it
    fixed = re.search(
        r'<div class="[^"]*" data-field="opened_at".*?</div>\s*</div>', html, re.S
    ).group(0)
    assert "field-fixed" in fixed and "<input" not in fixed and "UTC" in fixed
    assert 'name="opened_at"' not in html
    # consent: a required checkbox with the asterisk
    consent = re.search(r'data-field="consent".*?</label>', html, re.S).group(0)
    assert 'type="checkbox"' in consent and " required" in consent and 'class="req"' in consent
    # $me: the owner select has the signed-in user chosen
    owner = re.search(r'<select id="f-owner".*?</select>', html, re.S).group(0)
    assert re.search(r'<option value="\d+" selected>Alice Admin</option>', owner)
    assert "data-rich" in html and 'name="body"' in html


def test_save_refuses_an_unticked_consent_and_ignores_a_posted_read_only_value(desk, client):
    data = {"_csrf": csrf(client, "/"), "title": "Printer", "consent": "false",
            "opened_at": "2001-01-01T00:00", "body": "<p>Hi <b>there</b><script>alert(1)</script></p>"}  # fmt: skip
    resp = client.post(NEW, data=data)
    assert resp.status_code == 422
    assert "must be ticked" in resp.get_data(as_text=True)
    data["consent"] = ["false", "true"]
    resp = client.post(NEW, data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    row = desk.queries.list("desk", "ticket").rows[0]
    assert row["opened_at"].year != 2001  # the crafted value was not written: now was
    assert row["body"] == "<p>Hi <b>there</b></p>"
    page = client.get(f"/a/desk/r/ticket/{row['id']}").get_data(as_text=True)
    assert '<div class="rich-text"><p>Hi <b>there</b></p></div>' in page
    assert "&lt;b&gt;" not in page and "<script>alert" not in page


def test_edit_form_fixes_set_once_and_shows_per_record_currency(desk, client):
    row = desk.records.create(
        "desk", "ticket",
        {"title": "A", "ref": "R-1", "consent": True, "currency_code": "USD", "price": "12.5",
         "effort": "1h 30m", "starts": "09:30"},
    )  # fmt: skip
    html = client.get(f"/a/desk/r/ticket/{row['id']}/edit").get_data(as_text=True)
    ref = re.search(r'<div class="[^"]*" data-field="ref".*?</div>\s*</div>', html, re.S).group(0)
    assert "field-fixed" in ref and "R-1" in ref and "<input" not in ref
    assert 'value="1h 30m"' in html and 'value="09:30"' in html
    # a crafted post cannot change the set_once value either
    data = {"_csrf": csrf(client, "/"), "title": "B", "ref": "R-2", "consent": ["false", "true"],
            "version": "1", "effort": "2h", "starts": "10:00", "currency_code": "USD", "price": "12.50"}  # fmt: skip
    resp = client.post(f"/a/desk/r/ticket/{row['id']}/edit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(f"/a/desk/r/ticket/{row['id']}").get_data(as_text=True)
    assert "R-1" in page and "R-2" not in page
    assert "USD 12.50" in page and "2h" in page
    # an empty set_once field may still be filled once on edit
    empty = desk.records.create("desk", "ticket", {"title": "C", "consent": True})
    html = client.get(f"/a/desk/r/ticket/{empty['id']}/edit").get_data(as_text=True)
    assert 'name="ref"' in html
