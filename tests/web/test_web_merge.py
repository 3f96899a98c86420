"""The merge page: upgrade the customised CRM to a new author version in the browser's HTML."""

from __future__ import annotations

import copy

import yaml
from web_helpers import login, post

from tessera.meta import app_from_data
from tessera.storage import installer


def _field(data: dict, rt: str, key: str) -> dict:
    rtd = next(r for r in data["record_types"] if r["key"] == rt)
    return next(f for f in rtd["fields"] if f["key"] == key)


def _customise(tessera) -> dict:
    """Relabel customer.company here (as the builder does); return the author's data."""
    author = copy.deepcopy(installer.export(tessera.engine, "crm"))
    mine = copy.deepcopy(author)
    mine["version"] = "2.0.1"
    _field(mine, "customer", "company")["label"] = {"en": "Firm", "zh-CN": "商号"}
    installer.upgrade(tessera.engine, app_from_data(mine), None, local_edit=True)
    tessera.registry.reload()
    return author


def _theirs(author: dict) -> str:
    data = copy.deepcopy(author)
    data["version"] = "2.1.0"
    _field(data, "customer", "company")["label"] = {"en": "Organisation", "zh-CN": "机构"}
    rt = next(r for r in data["record_types"] if r["key"] == "customer")
    rt["fields"].append({"key": "website", "type": "url", "label": {"en": "Website"}})
    return yaml.safe_dump(data, allow_unicode=True)


PATH = "record_types.customer.fields.company.label"


def test_conflict_listed_with_choices_then_preview_and_apply(client, tessera):
    text = _theirs(_customise(tessera))
    page = client.get("/builder/merge/crm").get_data(as_text=True)
    assert "has local changes made in the builder" in page
    first = post(client, "/builder/merge/crm", {"source": "upload", "template": text})
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert f'data-path="{PATH}"' in html
    assert f'name="choice:{PATH}" value="mine"' in html and "Organisation" in html
    assert 'id="m-apply"' not in html  # nothing to apply until chosen
    data = {"source": "upload", "template": text, f"choice:{PATH}": "theirs"}
    preview = post(client, "/builder/merge/crm", data).get_data(as_text=True)
    assert "add field customer.website (url)" in preview and 'id="m-apply"' in preview
    assert installer.export(tessera.engine, "crm")["version"] == "2.0.1"
    done = post(client, "/builder/merge/crm", {**data, "action": "apply"})
    assert done.status_code == 302
    merged = installer.export(tessera.engine, "crm")
    assert merged["version"] == "2.1.0"
    assert _field(merged, "customer", "company")["label"]["en"] == "Organisation"
    assert _field(merged, "customer", "website")["type"] == "url"


def test_bad_template_is_named_and_changes_nothing(client, tessera):
    _customise(tessera)
    bad = post(
        client, "/builder/merge/crm", {"source": "upload", "template": "id: crm\nversion: [1"}
    )
    assert bad.status_code == 422 and "not valid YAML" in bad.get_data(as_text=True)
    other = post(
        client,
        "/builder/merge/crm",
        {"source": "upload", "template": "id: shop\nversion: 1.0.0\nrecord_types: []\n"},
    )
    assert other.status_code == 422


def test_only_admins(web_app):
    c = web_app.test_client()
    login(c, "bob")
    assert c.get("/builder/merge/crm").status_code == 403


def test_builder_apply_is_a_local_customisation(client, tessera):
    from web_helpers import csrf

    from tessera.merge import service

    assert not service.is_customised(tessera.engine, "crm")
    data = copy.deepcopy(installer.export(tessera.engine, "crm"))
    _field(data, "customer", "company")["label"] = {"en": "Firm", "zh-CN": "商号"}
    token = csrf(client, "/builder/crm")
    saved = client.post("/builder/crm/draft", json={"data": data}, headers={"X-CSRF-Token": token})
    assert saved.status_code == 200
    assert post(client, "/builder/crm/apply", {"version": ""}).status_code == 302
    assert service.is_customised(tessera.engine, "crm")
