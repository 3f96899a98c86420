"""Hostile bodies on the JSON and form endpoints added lately: a 4xx with a message, never a 500.

Each case is a body the handler used to choke on (``.get`` on a list, ``int()`` on text,
numbers beyond 64 bits) or a neighbour of one.
"""

from __future__ import annotations

import pytest
from web_helpers import csrf

GIANT = 10**20
NOT_OBJECTS = [[1, 2], [{"data": {}}], "text", 5, True]


def _message(resp) -> str:
    body = resp.get_json(silent=True)
    if isinstance(body, dict):
        error = body.get("error")
        return error.get("message", "") if isinstance(error, dict) else str(error or "")
    return resp.get_data(as_text=True)


def _refused(resp, words: str) -> None:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert words in _message(resp), _message(resp)[:500]


@pytest.fixture
def token(client) -> str:
    return csrf(client, "/builder/")


def _json(client, token, path, body):
    return client.post(path, json=body, headers={"X-CSRF-Token": token})


JSON_PATHS = [
    "/builder/crm/usages",
    "/builder/crm/remove",
    "/builder/crm/draft",
    "/builder/crm/workflows/test",
    "/me/timezone",
    "/a/crm/r/customer/1/cell",
]


def test_json_endpoints_refuse_what_is_not_their_shape(client, token):
    for path in JSON_PATHS:
        for body in NOT_OBJECTS:
            _refused(_json(client, token, path, body), "JSON object")
    for body, words in [
        ({"data": {}, "record_type": 5}, "record type"),
        ({"data": [], "record_type": "customer"}, "draft"),
        ({"data": {}, "record_type": "customer", "field": ["stage"]}, "field"),
        ({"unknown": 1}, "draft"),
    ]:
        for path in ("/builder/crm/usages", "/builder/crm/remove"):
            _refused(_json(client, token, path, body), words)
    for record_id in [GIANT, str(GIANT), "²", "-3", "a\x00", 1.5, True, [1]]:
        body = {"data": {"id": "crm"}, "workflow": "x", "record_id": record_id}
        resp = _json(client, token, "/builder/crm/workflows/test", body)
        assert 400 <= resp.status_code < 500, (record_id, resp.get_data(as_text=True)[:500])
        assert _message(resp)


def test_timezone_must_be_text(client, token):
    for zone in [5, ["Europe/Berlin"], {"a": 1}]:
        _refused(_json(client, token, "/me/timezone", {"timezone": zone}), "time zone")
    resp = _json(client, token, "/me/timezone", {"timezone": "Mars/Olympus", "other": 1})
    assert resp.status_code == 200 and resp.get_json()["timezone"] != "Mars/Olympus"


def test_duplicate_merge_wants_record_numbers(client, token):
    url = "/a/crm/duplicates/customer/merge"
    for ids in (["abc", "1"], [str(GIANT), "1"], ["²", "1"]):
        form = {"ids": ids, "keep": "1", "_csrf": token}
        _refused(client.post(url, data=form), "numbers")
    for form in (
        {"ids": ["1", "2"], "keep": str(GIANT)},
        {"ids": ["1", "999999"], "keep": "1", "value.name": "²"},
    ):
        resp = client.post(url, data={**form, "_csrf": token})
        assert resp.status_code < 500, resp.get_data(as_text=True)[:500]


def test_merge_page_refuses_a_template_that_is_not_an_app(client, token):
    from io import BytesIO

    for template in [
        "- 1\n- 2\n",
        "[" * 5000 + "]" * 5000,
        "id: crm\nversion: [1]\n",
        "just text",
        "id: 5\n",
    ]:
        resp = client.post("/builder/merge/crm", data={"template": template, "_csrf": token})
        assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)[-800:]
    data = {"file": (BytesIO(b"id: crm\x00\nversion: 1\n"), "t.yaml"), "_csrf": token}
    resp = client.post("/builder/merge/crm", data=data, content_type="multipart/form-data")
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)[-800:]
