"""Hostile input through the real routes: a clean 4xx (or safe behaviour), nothing written."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from web_helpers import csrf, post

GIANT = str(10**20)


def _count(tessera, rt="customer"):
    with tessera.engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from rt_crm_{rt}")).scalar()


@pytest.fixture
def one(tessera):
    from tessera.records.actor import Actor

    return tessera.records.create("crm", "customer", {"name": "Acme"}, Actor(user_id=None))


@pytest.mark.parametrize(
    "path",
    [
        f"/a/crm/r/customer/{GIANT}",
        f"/a/crm/r/customer/{GIANT}/edit",
        f"/a/crm/r/customer/1/files/contract/{GIANT}",
        f"/automation/runs/{GIANT}",
        f"/a/crm/r/follow_up/new?customer={GIANT}",
        f"/a/crm/v/customers?page={GIANT}",
        f"/a/crm/v/customers?page=-{GIANT}",
        f"/a/crm/v/customers?variant={GIANT}",
        f"/automation/runs?before={GIANT}&record_id={GIANT}",
        f"/automation/crm/follow_up_reminder/test?record_id={GIANT}",
    ],
)
def test_giant_integers_in_pages_are_not_500(client, path):
    assert client.get(path).status_code in (200, 302, 400, 404)


def test_giant_integers_in_posts_write_nothing(client, tessera, one):
    before = _count(tessera)
    token = csrf(client, "/")
    for path, data in [
        ("/a/crm/v/customers/bulk", {"ids": [GIANT], "action": "delete"}),
        (f"/a/crm/r/customer/{GIANT}/delete", {}),
        ("/a/crm/v/lifecycle/move", {"id": GIANT, "version": GIANT, "value": "lead"}),
        (f"/automation/runs/{GIANT}/retry", {}),
        (f"/notifications/{GIANT}/open", {}),
    ]:
        resp = client.post(path, data={**data, "_csrf": token})
        assert resp.status_code in (302, 400, 404), path
    assert _count(tessera) == before


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "0001-01-07"])
def test_calendar_edge_dates_are_a_400(client, day):
    resp = client.get(f"/a/crm/v/follow_up_calendar?date={day}")
    assert resp.status_code == 400
    assert "9998" in resp.get_data(as_text=True)


@pytest.mark.parametrize("body", [[1, 2], "x", 7, None, {"id": 1, "value": ["a"]}])
def test_kanban_move_with_a_non_object_body_is_a_400(client, tessera, one, body):
    resp = client.post(
        "/a/crm/v/lifecycle/move",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRF-Token": csrf(client, "/"), "Accept": "application/json"},
    )
    assert resp.status_code == 400
    assert tessera.records.get("crm", "customer", one["id"])["version"] == one["version"]


@pytest.mark.parametrize(
    "path",
    [
        "/a/crm/v/customers?q=a%00b",
        "/a/crm/v/customers?f.stage=%00",
        "/a/crm/r/customer/lookup?q=%00",
        "/a/crm/r/cust%00omer/new",
    ],
)
def test_nul_in_search_filters_and_link_picker_is_a_400(client, path):
    assert client.get(path).status_code == 400


def test_nul_and_surrogates_in_forms_write_nothing(client, tessera, anon):
    before = _count(tessera)
    resp = post(client, "/a/crm/r/customer/new", {"name": "a\x00b"})
    assert resp.status_code == 400
    token = csrf(anon, "/f/crm/web_lead")
    resp = anon.post("/f/crm/web_lead", data={"name": "x\x00", "_csrf": token})
    assert resp.status_code == 400
    resp = client.post(
        "/a/crm/v/lifecycle/move",
        data='{"id": 1, "value": "\\ud800"}',
        content_type="application/json",
        headers={"X-CSRF-Token": csrf(client, "/")},
    )
    assert resp.status_code == 400
    assert _count(tessera) == before


DEEP = '{"not":' * 600 + '{"field": "name", "op": "eq", "value": "x"}' + "}" * 600
ORS = {"any": [{"field": "name", "op": "eq", "value": str(i)} for i in range(1500)]}


@pytest.mark.parametrize(
    "query, problem",
    [
        ("filter=" + quote(DEEP), "nested deeper"),
        ("filter=" + quote(json.dumps(ORS)), "at most 500 comparisons"),
        ("cursor=" + base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode(), "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b'[{"a": 1}]').decode(), "cursor"),
        ("q=%00", "NUL"),
    ],
)
def test_api_deep_filters_many_leaves_and_deep_cursors_are_a_clear_400(client, query, problem):
    resp = client.get(f"/api/v1/crm/customer?{query}")
    assert resp.status_code == 400
    assert problem in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("raw", ['{"name": "\\ud800"}', '{"name": "a\\u0000b"}'])
def test_api_broken_text_writes_nothing(client, tessera, raw):
    before = _count(tessera)
    resp = client.post("/api/v1/crm/customer", data=raw, content_type="application/json")
    assert resp.status_code == 400 and "NUL" in resp.get_json()["error"]["message"]
    assert _count(tessera) == before


def test_error_pages_are_styled_without_traceback_in_both_languages(web_app, client):
    web_app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom(**_kw):
        raise RuntimeError("secret internals")

    web_app.view_functions["views.all_records"] = boom

    for lang, words in (("en", "Something went wrong"), ("zh_CN", "出错")):
        post(client, "/lang", {"locale": lang, "next": "/"})
        resp = client.get("/a/crm/r/customer")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 500
        assert "Traceback" not in page and "secret internals" not in page
        assert words in page and 'class="card narrow error-page"' in page
        missing = client.get("/no/such/page")
        assert missing.status_code == 404 and "error-page" in missing.get_data(as_text=True)
        wrong = client.put("/login", headers={"X-CSRF-Token": csrf(client, "/")})
        assert wrong.status_code == 405 and "error-page" in wrong.get_data(as_text=True)


def test_workflow_test_page_with_a_runaway_text_is_an_error_not_a_freeze(client, tessera):
    import time

    import yaml

    from tessera.meta import app_from_data
    from tessera.storage import installer

    data = {
        "id": "bomb",
        "version": "1.0.0",
        "record_types": [{"key": "item", "fields": [{"key": "name", "type": "text"}]}],
        "workflows": [
            {
                "key": "w",
                "record_type": "item",
                "trigger": {"on": "manual"},
                "actions": [
                    {"do": "notify", "to": "alice", "message": "{{ range(10**9)|list }}"},
                    {"do": "notify", "to": "alice", "message": "{{ record.name * 10**9 }}"},
                ],
            }
        ],
    }
    installer.install(tessera.engine, app_from_data(data), yaml.safe_dump(data))
    tessera.registry.reload()
    rid = tessera.records.create("bomb", "item", {"name": "a"})["id"]
    started = time.perf_counter()
    resp = client.get(f"/automation/bomb/w/test?record_id={rid}")
    assert resp.status_code == 200 and time.perf_counter() - started < 10
    page = resp.get_data(as_text=True)
    assert "range() gives at most" in page or "too long" in page
