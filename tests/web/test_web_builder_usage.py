"""Builder: uses of a field in words, removal with its uses, problems in words, the gallery."""

from __future__ import annotations

import json
import re

from web_helpers import csrf, post


def _boot(client, app_id: str = "crm") -> dict:
    html = client.get(f"/builder/{app_id}").get_data(as_text=True)
    return json.loads(re.search(r'id="builder-boot">(.*?)</script>', html, re.S).group(1))


def test_usages_are_sentences_with_a_place_to_go(client):
    boot = _boot(client)
    token = csrf(client, "/builder/")
    body = {"data": boot["draft"], "record_type": "opportunity", "field": "stage"}
    r = client.post("/builder/crm/usages", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    uses = r.get_json()["usages"]
    pipeline = next(u for u in uses if u["key"] == "pipeline")
    assert (
        pipeline["sentence"] == "The ‘Pipeline’ board is grouped by it: the view will be removed."
    )
    assert pipeline["nav"] == f"view-{pipeline['index']}"
    assert all("[" not in u["sentence"] for u in uses)  # never a path in a sentence


def test_remove_with_uses_stores_a_valid_draft(client):
    boot = _boot(client)
    token = csrf(client, "/builder/")
    body = {"data": boot["draft"], "record_type": "opportunity", "field": "stage"}
    r = client.post("/builder/crm/remove", json=body, headers={"X-CSRF-Token": token})
    answer = r.get_json()
    assert r.status_code == 200 and answer["problems"] == [] and answer["removed"] > 3
    stored = _boot(client)["draft"]
    assert "pipeline" not in [v["key"] for v in stored["views"]]
    bad = client.post("/builder/crm/remove", json={"data": 1}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400


def test_problems_name_the_place_in_words(client):
    boot = _boot(client)
    draft = boot["draft"]
    draft["views"][0]["columns"].append("no_such_field")
    token = csrf(client, "/builder/")
    r = client.post("/builder/crm/draft", json={"data": draft}, headers={"X-CSRF-Token": token})
    problem = r.get_json()["problems"][0]
    assert problem["where"] == "The ‘All customers’ table · Columns"
    assert problem["nav"] == "view-0"


def test_problems_in_chinese(client):
    client.get("/set-locale/zh-CN") if False else None
    with client.session_transaction() as s:
        s["locale"] = "zh_CN"
    boot = _boot(client)
    draft = boot["draft"]
    draft["views"][0]["columns"].append("no_such_field")
    token = csrf(client, "/builder/")
    r = client.post("/builder/crm/draft", json={"data": draft}, headers={"X-CSRF-Token": token})
    assert r.get_json()["problems"][0]["where"] == "“全部客户”表格 · 列"


def test_the_gallery_installs_with_demo_data(client, tessera):
    page = client.get("/builder/").get_data(as_text=True)
    assert 'id="gallery-service_desk"' in page and "Install with demo data" in page
    r = post(client, "/builder/gallery/service_desk/install", {"demo": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/a/service_desk")
    assert len(tessera.queries.list("service_desk", "ticket", limit=50).rows) == 4
    again = post(
        client, "/builder/gallery/service_desk/install", {"demo": "1"}, follow_redirects=True
    )
    assert "already installed" in again.get_data(as_text=True)
    page = client.get("/builder/").get_data(as_text=True)
    assert "/a/service_desk" in page  # the card now opens the app
