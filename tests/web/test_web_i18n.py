"""Every message path reaches a zh-CN reader in Chinese: field errors, rule messages, delete
refusals, conflicts, error pages, flashes; the language is chosen once and kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from web_helpers import PASSWORD, csrf, login, post

from tessera.storage.system import users

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def html(response) -> str:
    return response.get_data(as_text=True)


def _user(tessera, name: str) -> dict:
    with tessera.engine.connect() as conn:
        return dict(conn.execute(sa.select(users).where(users.c.username == name)).mappings().one())


@pytest.fixture
def zh(web_app):
    """alice, signed in for the first time from a Chinese browser."""
    c = web_app.test_client()
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH["Accept-Language"]
    login(c, "alice")
    return c


@pytest.fixture
def deal(tessera):
    acme = tessera.records.create("crm", "customer", {"name": "Acme"})
    return tessera.records.create(
        "crm", "opportunity", {"name": "Big deal", "customer": acme["id"], "amount": "10"}
    )


def test_first_sign_in_keeps_the_browser_language(zh, tessera, web_app):
    assert _user(tessera, "alice")["locale"] == "zh-CN"
    other = web_app.test_client()  # a later sign-in from an English browser: still Chinese
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    login(other, "alice")
    assert 'lang="zh-CN"' in html(other.get("/"))


def test_language_switch_is_saved_on_the_user(zh, tessera, web_app):
    post(zh, "/lang", {"locale": "en", "next": "/"})
    assert _user(tessera, "alice")["locale"] == "en"
    again = web_app.test_client()
    again.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH["Accept-Language"]
    login(again, "alice")
    assert 'lang="en"' in html(again.get("/"))


def test_field_errors_are_chinese_and_name_labels(zh, tessera):
    acme = tessera.records.create("crm", "customer", {"name": "Acme"})
    r = post(zh, "/a/crm/r/customer/new", {"name": "", "email": "nope"})
    page = html(r)
    assert r.status_code == 422
    assert "必填" in page and "不是有效的电子邮件地址" in page
    assert "not a valid e-mail address" not in page and ">required<" not in page
    r = post(zh, f"/a/crm/r/customer/{acme['id']}/edit", {"name": "x" * 300, "version": "1"})
    assert "最多 200 个字符" in html(r)


def test_rule_message_and_kanban_refusal_use_labels_not_keys(zh, deal):
    token = csrf(zh, "/")
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    r = zh.post("/a/crm/v/pipeline/move", json={"id": deal["id"], "value": "lost"}, headers=headers)
    message = r.get_json()["error"]["message"]
    assert r.status_code == 422
    assert message == "输单原因：输单必须填写输单原因。"
    assert "lost_reason" not in message


def test_delete_refusal_is_a_chinese_flash(zh, tessera, deal):
    customer = deal["customer"]
    r = post(zh, f"/a/crm/r/customer/{customer}/delete")
    page = html(zh.get(r.headers["Location"]))
    assert "无法删除" in page and "cannot delete" not in page


def test_kanban_conflict_says_how_long_ago_and_who(zh, tessera, deal):
    token = csrf(zh, "/")
    tessera.records.update("crm", "opportunity", deal["id"], {"name": "Renamed"})
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    body = {"id": deal["id"], "value": "proposal", "version": 1}
    r = zh.post("/a/crm/v/pipeline/move", json=body, headers=headers)
    message = r.get_json()["error"]["message"]
    assert r.status_code == 409
    assert "刚刚" in message and "T" not in message  # no ISO time


def test_unknown_url_is_a_styled_chinese_page_with_a_way_back(zh, anon):
    r = zh.get("/no/such/page")
    page = html(r)
    assert r.status_code == 404 and "此地址没有内容。" in page and 'href="/"' in page
    assert 'class="topbar"' in page  # the styled shell, not a bare error
    r = anon.get("/no/such/page", headers=ZH)
    assert r.status_code == 404 and 'href="/"' in html(r)


def test_missing_record_page_in_chinese_names_the_record_type(zh):
    page = html(zh.get("/a/crm/r/customer/999"))
    assert "客户 #999 不存在" in page


def test_ago_in_both_languages(web_app):
    from tessera.web.i18n import ago

    then = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with web_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert ago(then, now=then + timedelta(minutes=2)) == "2 minutes ago"
        assert ago(then.isoformat(), now=then + timedelta(seconds=5)) == "just now"
    with web_app.test_request_context("/", headers=ZH):
        assert ago(then, now=then + timedelta(minutes=2)) == "2分钟前"


def test_first_sign_in_asks_the_browser_for_its_zone_once(zh, tessera, web_app):
    page = html(zh.get("/"))
    probe = re.search(r'data-tz-probe="([^"]+)"', page).group(1)
    headers = {"X-CSRF-Token": csrf(zh, "/"), "Accept": "application/json"}
    r = zh.post(probe, json={"timezone": "Asia/Shanghai"}, headers=headers)
    assert r.get_json() == {"timezone": "Asia/Shanghai"}
    assert _user(tessera, "alice")["timezone"] == "Asia/Shanghai"
    assert "data-tz-probe" not in html(zh.get("/"))
    r = zh.post(probe, json={"timezone": "Europe/Berlin"}, headers=headers)  # kept, not replaced
    assert _user(tessera, "alice")["timezone"] == "Asia/Shanghai"
    bad = web_app.test_client()
    login(bad, "bob", PASSWORD)
    token = {"X-CSRF-Token": csrf(bad, "/"), "Accept": "application/json"}
    bad.post(probe, json={"timezone": "Mars/Olympus"}, headers=token)
    assert _user(tessera, "bob")["timezone"] is None
