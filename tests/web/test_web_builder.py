"""The no-code builder: drafts, the validator's problems by path, review, apply, export."""

from __future__ import annotations

import copy
import json
import re

import pytest
import sqlalchemy as sa
import yaml
from web_helpers import csrf, login, post

from tessera import create_app, users
from tessera.meta import app_from_data, dump_app
from tessera.storage import installer


def _save(client, app_id: str, data: dict, token: str | None = None):
    token = token or csrf(client, "/builder/")
    return client.post(
        f"/builder/{app_id}/draft", json={"data": data}, headers={"X-CSRF-Token": token}
    )


def _new(client, app_id: str = "shop", en: str = "Shop", zh: str = "商店"):
    return post(client, "/builder/new", {"id": app_id, "label_en": en, "label_zh": zh})


def _draft(client, app_id: str) -> dict:
    html = client.get(f"/builder/{app_id}").get_data(as_text=True)
    assert 'id="builder-boot"' in html
    boot = re.search(r'id="builder-boot">(.*?)</script>', html, re.S).group(1)
    return json.loads(boot)


SHOP_TYPES = [
    {
        "key": "company",
        "label": {"en": "Company", "zh-CN": "公司"},
        "title": "name",
        "fields": [
            {"key": "name", "type": "text", "label": {"en": "Name"}, "required": True},
            {
                "key": "size",
                "type": "select",
                "label": {"en": "Size"},
                "options": [
                    {"value": "small", "label": {"en": "Small", "zh-CN": "小"}, "color": "green"},
                    {"value": "big", "label": {"en": "Big"}},
                ],
            },
            {"key": "revenue", "type": "currency", "currency": "CNY", "min": 0},
        ],
    },
    {
        "key": "contact",
        "label": {"en": "Contact"},
        "title": "full_name",
        "fields": [
            {"key": "full_name", "type": "text", "max_length": 120, "required": True},
            {"key": "company", "type": "link", "to": "company", "on_delete": "cascade"},
            {"key": "score", "type": "rating", "max": 3},
        ],
    },
]


def shop_data(**extra) -> dict:
    """A valid two-type app with a link, a kanban and a form with a visibility rule."""
    data = {
        "id": "shop",
        "version": "1.0.0",
        "label": {"en": "Shop", "zh-CN": "商店"},
        "record_types": copy.deepcopy(SHOP_TYPES),
        "views": [
            {
                "key": "companies",
                "type": "table",
                "record_type": "company",
                "columns": ["name", "size"],
                "filter": {"all": [{"field": "size", "op": "eq", "value": "big"}]},
                "sort": [{"field": "name", "dir": "asc"}],
            },
            {"key": "by_size", "type": "kanban", "record_type": "company", "group_by": "size"},
        ],
        "forms": [
            {
                "key": "company_form",
                "record_type": "company",
                "sections": [{"title": {"en": "Basics"}, "fields": ["name", "size", "revenue"]}],
                "visible_when": {
                    "revenue": {"all": [{"field": "size", "op": "eq", "value": "big"}]}
                },
            }
        ],
    }
    data.update(extra)
    return data


def _installed(client, data: dict | None = None):
    """Create the shop app through the builder and apply it."""
    _new(client)
    assert _save(client, "shop", data or shop_data()).get_json()["problems"] == []
    response = post(client, "/builder/shop/apply", {"version": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


# ---------------------------------------------------------------- access


def test_builder_needs_sign_in_and_admin(web_app, anon):
    assert anon.get("/builder/").status_code == 302
    bob = web_app.test_client()
    login(bob, "bob")
    for path in ("/builder/", "/builder/crm", "/builder/crm/review", "/builder/crm/export.yaml"):
        response = bob.get(path)
        assert response.status_code == 403, path
        assert "Only administrators" in response.get_data(as_text=True)
    assert post(bob, "/builder/new", {"id": "x"}).status_code == 403
    assert _save(bob, "crm", {"id": "crm"}, token=csrf(bob, "/")).status_code == 403


def test_builder_refuses_missing_csrf(client):
    assert client.post("/builder/new", data={"id": "shop"}).status_code == 400
    response = client.post("/builder/crm/draft", json={"data": {"id": "crm"}})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf"
    assert client.post("/builder/crm/apply", data={}).status_code == 400


def test_index_lists_apps_and_drafts(client):
    html = client.get("/builder/").get_data(as_text=True)
    assert 'href="/builder/crm"' in html
    assert "No drafts" in html
    _new(client)
    html = client.get("/builder/").get_data(as_text=True)
    assert 'href="/builder/shop"' in html and "new app" in html


def test_app_page_links_to_builder_for_admins_only(client, web_app):
    assert 'href="/builder/crm"' in client.get("/a/crm").get_data(as_text=True)
    bob = web_app.test_client()
    login(bob, "bob")
    assert 'href="/builder/crm"' not in bob.get("/a/crm").get_data(as_text=True)


def test_builder_speaks_chinese(client):
    post(client, "/lang", {"locale": "zh_CN"})
    assert "新应用" in client.get("/builder/").get_data(as_text=True)
    _new(client)
    boot = _draft(client, "shop")
    assert boot["t"]["add_field"] == "添加字段"
    assert json.loads(boot["t"]["ops"])["is_empty"] == "为空"


# ---------------------------------------------------------------- creating and editing


def test_create_app_starts_a_draft(client):
    response = _new(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/builder/shop")
    boot = _draft(client, "shop")
    assert boot["draft"] == {
        "id": "shop",
        "version": "1.0.0",
        "label": {"en": "Shop", "zh-CN": "商店"},
        "record_types": [],
    }
    assert boot["base"] == {}
    paths = [p["path"] for p in boot["problems"]]
    assert "record_types" in paths  # an app needs a record type before it can be applied


@pytest.mark.parametrize(
    ("app_id", "message"),
    [("Bad-Id", "is not a valid app id"), ("crm", "already installed")],
)
def test_create_app_bad_id(client, app_id, message):
    response = _new(client, app_id)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'id="new-id-errors"' in html


def test_editor_gets_field_options_from_the_schema(client):
    _new(client)
    boot = _draft(client, "shop")
    types = boot["field_types"]
    assert set(types["text"]["options"]) >= {"max_length", "pattern"}
    assert types["link"]["required"] == ["to"]
    assert types["link"]["options"]["on_delete"]["enum"] == ["restrict", "cascade", "set_null"]
    assert set(types["rollup"]["options"]) >= {"from", "via", "aggregate", "field"}
    assert "key" not in types["select"]["options"]  # common settings have their own inputs
    assert "contains" in types["text"]["operators"] and "lt" not in types["text"]["operators"]
    assert "within_last_days" in types["date"]["operators"]
    assert boot["view_types"]["kanban"]["required"] == ["group_by"]


def test_save_draft_with_record_types_and_options(client):
    _new(client)
    response = _save(client, "shop", shop_data())
    assert response.status_code == 200
    assert response.get_json() == {"saved": True, "problems": []}
    boot = _draft(client, "shop")  # a reload keeps the draft
    assert boot["draft"]["record_types"][0]["fields"][1]["options"][0]["color"] == "green"
    assert boot["draft"]["record_types"][1]["fields"][1] == {
        "key": "company",
        "type": "link",
        "to": "company",
        "on_delete": "cascade",
    }


def test_draft_id_cannot_change_and_body_must_be_data(client):
    _new(client)
    assert _save(client, "shop", shop_data(id="other")).status_code == 200
    assert _draft(client, "shop")["draft"]["id"] == "shop"
    token = csrf(client, "/builder/")
    response = client.post("/builder/shop/draft", json={"x": 1}, headers={"X-CSRF-Token": token})
    assert response.status_code == 400
    assert _save(client, "nothing_here", shop_data()).status_code == 404


def _bad(data: dict, where: str):
    if where == "bad key":
        data["record_types"][0]["fields"][0]["key"] = "Bad Key"
    elif where == "duplicate key":
        data["record_types"][0]["fields"][2]["key"] = "name"
    elif where == "unknown link target":
        data["record_types"][1]["fields"][1]["to"] = "nowhere"
    elif where == "kanban group_by":
        data["views"][1]["group_by"] = "name"
    return data


@pytest.mark.parametrize(
    ("where", "path", "message"),
    [
        ("bad key", "record_types[0].fields[0].key", '"Bad Key" is not a valid key'),
        ("duplicate key", "record_types[0].fields[2].key", 'duplicate field key "name"'),
        ("unknown link target", "record_types[1].fields[1].to", 'record type "nowhere"'),
        ("kanban group_by", "views[1].group_by", "group_by must be a select or link field"),
    ],
)
def test_bad_input_shows_the_problem_at_its_path_and_applies_nothing(
    client, tessera, where, path, message
):
    _new(client)
    problems = _save(client, "shop", _bad(shop_data(), where)).get_json()["problems"]
    at_path = [p["message"] for p in problems if p["path"] == path]
    assert at_path and message in at_path[0]
    review = client.get("/builder/shop/review").get_data(as_text=True)
    # the review names the place in words with a way there, never the data path
    assert path not in review and "nothing can be applied" in review
    assert message.replace('"', "&#34;") in review and "Go there" in review
    response = post(client, "/builder/shop/apply", {})
    assert response.status_code == 422
    assert message.replace('"', "&#34;") in response.get_data(as_text=True)
    assert "shop" not in tessera.registry.apps
    assert not installer.list_apps(tessera.engine) or all(
        a["id"] != "shop" for a in installer.list_apps(tessera.engine)
    )


# ---------------------------------------------------------------- review and apply


def test_review_and_install_a_new_app(client, tessera):
    _new(client)
    _save(client, "shop", shop_data())
    html = client.get("/builder/shop/review").get_data(as_text=True)
    assert "Install version 1.0.0" in html
    assert "create table rt_shop_company" in html.lower() or "rt_shop_company" in html
    assert "DATA LOSS" not in html
    response = post(client, "/builder/shop/apply", {"version": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith("/a/shop")
    app = tessera.registry.apps["shop"]
    assert [rt.key for rt in app.record_types] == ["company", "contact"]
    company = tessera.records.create("shop", "company", {"name": "Acme", "size": "big"})
    contact = tessera.records.create(
        "shop", "contact", {"full_name": "Ann", "company": company["id"]}
    )
    assert contact["company"] == company["id"]
    assert client.get("/a/shop").status_code == 200
    boot = _draft(client, "shop")  # the draft was dropped; a new one starts from 1.0.0
    assert boot["base"] == {
        "company": ["name", "size", "revenue"],
        "contact": ["full_name", "company", "score"],
    }


def test_upgrade_additive_bumps_patch_rename_bumps_minor(client, tessera):
    _installed(client)
    data = shop_data()
    data["record_types"][0]["fields"].append({"key": "website", "type": "url"})
    _save(client, "shop", data)
    html = client.get("/builder/shop/review").get_data(as_text=True)
    assert "Upgrade from 1.0.0 to 1.0.1" in html and "website" in html
    assert post(client, "/builder/shop/apply", {"version": ""}).status_code == 302
    assert tessera.registry.apps["shop"].version == "1.0.1"

    rec = tessera.records.create("shop", "company", {"name": "Kept Co", "website": "https://k.co"})
    data = _draft(client, "shop")["draft"]
    website = data["record_types"][0]["fields"][-1]
    website.update(key="homepage", renamed_from="website")  # what the editor does on rename
    _save(client, "shop", data)
    html = client.get("/builder/shop/review").get_data(as_text=True)
    assert "1.1.0" in html and "rename" in html.lower()
    assert post(client, "/builder/shop/apply", {"version": ""}).status_code == 302
    assert tessera.records.get("shop", "company", rec["id"])["homepage"] == "https://k.co"


def test_admin_can_set_the_version(client, tessera):
    _installed(client)
    data = shop_data()
    data["views"][0]["columns"] = ["name"]
    _save(client, "shop", data)
    assert post(client, "/builder/shop/apply", {"version": "2.0.0"}).status_code == 302
    assert tessera.registry.apps["shop"].version == "2.0.0"
    _save(client, "shop", data)
    response = post(client, "/builder/shop/apply", {"version": "1.5.0"})  # not newer
    assert response.status_code == 422
    assert "not newer than the installed" in response.get_data(as_text=True)


def test_removed_field_is_archived_purge_needs_confirmation(client, tessera):
    _installed(client)
    rec = tessera.records.create("shop", "company", {"name": "Acme", "revenue": "12.50"})
    data = shop_data()
    data["record_types"][0]["fields"].pop()  # remove revenue
    data["forms"][0]["sections"][0]["fields"].remove("revenue")
    del data["forms"][0]["visible_when"]
    _save(client, "shop", data)

    html = client.get("/builder/shop/review").get_data(as_text=True)
    assert "archive field company.revenue" in html and "DATA LOSS</strong>" not in html
    html = client.get("/builder/shop/review?purge=1").get_data(as_text=True)
    assert "DATA LOSS</strong>" in html and 'name="confirm_data_loss"' in html
    assert 'class="b-loss"' in html

    response = post(client, "/builder/shop/apply", {"purge": "1"})  # no confirmation
    assert response.status_code == 422
    assert "delete stored data" in response.get_data(as_text=True)
    assert tessera.registry.apps["shop"].version == "1.0.0"  # nothing applied
    assert tessera.records.get("shop", "company", rec["id"])["revenue"] is not None

    response = post(client, "/builder/shop/apply", {"purge": "1", "confirm_data_loss": "1"})
    assert response.status_code == 302
    app = tessera.registry.apps["shop"]
    assert app.version == "1.1.0" and not app.record_type("company").has_field("revenue")


def test_failed_apply_shows_error_and_keeps_old_version(client, tessera):
    _installed(client)
    tessera.records.create("shop", "company", {"name": "Same"})
    tessera.records.create("shop", "company", {"name": "Same"})
    data = shop_data()
    data["record_types"][0]["fields"][0]["unique"] = True  # duplicates exist: the DDL fails
    _save(client, "shop", data)
    response = post(client, "/builder/shop/apply", {"version": ""})
    assert response.status_code in (409, 422)
    html = response.get_data(as_text=True)
    assert "b-apply-error" in html and "1.0.0 is still installed" in html
    assert tessera.registry.apps["shop"].version == "1.0.0"
    assert len(tessera.queries.list("shop", "company", limit=10).rows) == 2
    assert _draft(client, "shop")["draft"]["record_types"][0]["fields"][0]["unique"] is True


def test_discard_draft(client, tessera):
    _installed(client)
    data = shop_data()
    data["label"] = {"en": "Changed"}
    _save(client, "shop", data)
    assert post(client, "/builder/shop/discard").status_code == 302
    assert _draft(client, "shop")["draft"]["label"] == {"en": "Shop", "zh-CN": "商店"}


def test_open_installed_crm_starts_from_its_export(client, tessera):
    boot = _draft(client, "crm")
    assert boot["draft"] == installer.export(tessera.engine, "crm")
    assert "customer" in boot["base"]
    assert boot["problems"] == []
    assert "No drafts" in client.get("/builder/").get_data(as_text=True)  # stored on first save


def test_draft_warns_when_the_installed_version_moved_on(client, tessera):
    _installed(client)
    _save(client, "shop", shop_data(label={"en": "Mine"}))
    newer = app_from_data(shop_data(version="1.0.5"))
    installer.upgrade(tessera.engine, newer, None)  # someone else upgraded meanwhile
    tessera.registry.reload()
    assert "changed since you started this draft" in client.get("/builder/shop").get_data(
        as_text=True
    )
    assert "now 1.0.5" in client.get("/builder/shop/review").get_data(as_text=True)


# ---------------------------------------------------------------- export round trip


def test_export_yaml_round_trips_and_installs_on_an_empty_database(client, tessera, tmp_path):
    _installed(client)
    response = client.get("/builder/shop/export.yaml")
    assert response.status_code == 200
    assert 'filename="shop.yaml"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    exported = yaml.safe_load(text)
    assert app_from_data(exported) == app_from_data(dump_app(tessera.registry.apps["shop"]))
    assert exported == installer.export(tessera.engine, "shop")
    # identical to `flask template export shop`
    cli = client.application.test_cli_runner().invoke(args=["template", "export", "shop"])
    assert cli.exit_code == 0 and cli.output == text

    fresh = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
            "TESSERA_INSTANCE": str(tmp_path / "fresh"),
            "SECRET_KEY": "x",
            "REDIS_URL": None,
        }
    )
    t = fresh.extensions["tessera"]
    path = tmp_path / "shop.yaml"
    path.write_text(text, "utf-8")
    result = fresh.test_cli_runner().invoke(args=["template", "install", str(path)])
    assert result.exit_code == 0, result.output
    t.registry.reload()
    assert t.registry.apps["shop"] == installer.installed_app(tessera.engine, "shop")
    users.create_user(t.engine, "root", "pw-123456789", is_admin=True)
    assert t.records.create("shop", "company", {"name": "Fresh"})["id"] == 1
    with t.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from rt_shop_contact")).scalar() == 0
    t.engine.dispose()


def test_export_of_a_draft_and_of_the_installed_version(client):
    _installed(client)
    data = shop_data()
    data["label"] = {"en": "Shop two"}
    _save(client, "shop", data)
    assert "Shop two" in client.get("/builder/shop/export.yaml").get_data(as_text=True)
    installed = client.get("/builder/shop/export.yaml?installed=1").get_data(as_text=True)
    assert "Shop two" not in installed and "商店" in installed
    _new(client, "half")  # a half-built draft is exported as it is
    half = yaml.safe_load(client.get("/builder/half/export.yaml").get_data(as_text=True))
    assert half["id"] == "half" and half["record_types"] == []
