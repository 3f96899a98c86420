"""Admin pages for users, teams and roles; the profile and API token pages; the audit log.

Each page is checked as HTML (selectors) and by what it does; every refused input shows a
clear message and writes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from test_web_pages import Finder, html
from web_helpers import PASSWORD, login, post

from tessera import tokens
from tessera.access import people
from tessera.access.tables import security_log, team_members, teams, user_roles
from tessera.storage.system import users

CRM_ROLES = ("sales_rep", "sales_manager", "viewer")


@pytest.fixture
def with_roles(monkeypatch):
    """The CRM declares roles (labels in en and zh-CN), as the access engine will."""
    declared = tuple(
        SimpleNamespace(key=k, label={"en": k.replace("_", " ").title(), "zh-CN": f"角色{k}"})
        for k in CRM_ROLES
    )
    original = people.declared_roles
    monkeypatch.setattr(
        people, "declared_roles", lambda app: declared if app.id == "crm" else original(app)
    )


@pytest.fixture
def bob_client(web_app):
    c = web_app.test_client()
    login(c, "bob")
    return c


def _snapshot(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (users, teams, team_members, user_roles, security_log)
        )


def _error(resp) -> str:
    found = re.search(r'id="form-error">([^<]+)<', html(resp))
    return found.group(1) if found else ""


def _id(engine, username) -> int:
    return people.find(engine, username)["id"]


# -- access ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/users/new", "/admin/teams", "/admin/audit", "/admin/audit.csv"]
)
def test_admin_pages_are_for_admins_only(bob_client, anon, path):
    assert bob_client.get(path).status_code == 403
    assert anon.get(path).status_code == 302


def test_non_admin_cannot_post_either(bob_client, tessera):
    before = _snapshot(tessera.engine)
    resp = post(bob_client, "/admin/users/new", {"username": "mallory", "password": PASSWORD})
    assert resp.status_code == 403
    assert _snapshot(tessera.engine) == before


def test_posts_without_csrf_are_refused(client, tessera):
    before = _snapshot(tessera.engine)
    resp = client.post("/admin/users/new", data={"username": "x1", "password": PASSWORD})
    assert resp.status_code == 400
    assert _snapshot(tessera.engine) == before


# -- users -------------------------------------------------------------------------------------
def test_user_list_shows_state_roles_and_teams(client, tessera):
    bob = _id(tessera.engine, "bob")
    team = people.create_team(tessera.engine, "Sales")
    people.set_teams(tessera.engine, bob, [team])
    people.set_roles(tessera.engine, bob, [people.RoleRef("crm", "sales_rep")])
    page = Finder(html(client.get("/admin/users")))
    rows = page.find("tr")
    assert {r.get("data-user") for r in rows} >= {"alice", "bob"}
    assert page.find("span", data_role="crm:sales_rep")
    assert page.find("a", href="/admin/users/new", id="new-user")
    assert page.find("a", href="/admin/users", aria_current="page")


def test_create_user_with_team_and_role_shows_password_once(client, tessera, with_roles):
    team = people.create_team(tessera.engine, "Sales")
    form = Finder(html(client.get("/admin/users/new")))
    assert form.find("input", type="checkbox", name="role", value="crm:sales_rep")
    assert form.find("input", name="team", value=str(team))
    assert form.find("input", id="u-timezone", list="zones")
    assert form.find("input", name="_csrf")
    resp = post(
        client,
        "/admin/users/new",
        {
            "username": "carol",
            "display_name": "Carol Rep",
            "locale": "zh-CN",
            "timezone": "Asia/Shanghai",
            "team": str(team),
            "role": ["crm:sales_rep", "crm:viewer"],
        },
    )
    assert resp.status_code == 200
    password = re.search(r'id="new-password">([^<]+)<', html(resp)).group(1)
    carol = people.get(tessera.engine, _id(tessera.engine, "carol"))
    assert [str(r) for r in carol["roles"]] == ["crm:sales_rep", "crm:viewer"]
    assert carol["team_ids"] == [team] and carol["timezone"] == "Asia/Shanghai"
    assert f"as “carol” with the password {password}" in html(resp)  # the invitation
    assert resp.headers["Cache-Control"] == "no-store"
    assert "http://localhost/login" in html(resp)
    assert password not in html(client.get(f"/admin/users/{carol['id']}"))
    fresh = client.application.test_client()
    assert login(fresh, "carol", password).status_code == 302


@pytest.mark.parametrize(
    "values, message",
    [
        ({"username": "bob"}, "The username “bob” is taken."),
        ({"username": "x"}, "use 2-64 letters"),
        ({"username": "dave", "password": "short"}, "at least 8 characters"),
        ({"username": "dave", "timezone": "Mars/Base"}, "“Mars/Base” is not a time zone"),
        ({"username": "dave", "role": "crm:wizard"}, "App “crm” has no role “wizard”"),
        ({"username": "dave", "team": "999"}, "There is no such team."),
        ({"username": "dave", "role": "crm:admin"}, "“admin” is not a role of an app"),
    ],
)
def test_create_user_bad_input_writes_nothing(client, tessera, with_roles, values, message):
    before = _snapshot(tessera.engine)
    resp = post(client, "/admin/users/new", values)
    assert resp.status_code == 422
    assert message in _error(resp)
    assert f'value="{values["username"]}"' in html(resp)  # the input is kept
    assert _snapshot(tessera.engine) == before


def test_edit_user_profile_teams_and_roles(client, tessera, with_roles):
    bob = _id(tessera.engine, "bob")
    east = people.create_team(tessera.engine, "East")
    resp = post(
        client,
        f"/admin/users/{bob}",
        {
            "display_name": "Bob B.",
            "email": "bob@example.test",
            "locale": "en",
            "timezone": "Europe/Berlin",
            "team": str(east),
            "role": "crm:sales_manager",
        },
    )
    assert resp.status_code == 302
    got = people.get(tessera.engine, bob)
    assert (got["display_name"], got["timezone"], got["team_ids"]) == (
        "Bob B.",
        "Europe/Berlin",
        [east],
    )
    assert [str(r) for r in got["roles"]] == ["crm:sales_manager"]
    page = Finder(html(client.get(f"/admin/users/{bob}")))
    assert page.find("input", name="role", value="crm:sales_manager", checked="")
    assert page.find("input", name="team", value=str(east), checked="")


def test_edit_user_bad_zone_changes_nothing(client, tessera, with_roles):
    bob = _id(tessera.engine, "bob")
    before = _snapshot(tessera.engine)
    resp = post(client, f"/admin/users/{bob}", {"display_name": "Z", "timezone": "Asia/Shangai"})
    assert resp.status_code == 422 and "is not a time zone" in _error(resp)
    assert people.get(tessera.engine, bob)["display_name"] == "Bob Sales"
    assert _snapshot(tessera.engine) == before


def test_deactivate_ends_session_and_token_then_reactivate(client, web_app, tessera):
    bob = _id(tessera.engine, "bob")
    bob_browser = web_app.test_client()
    login(bob_browser, "bob")
    assert bob_browser.get("/").status_code == 200
    _, token = tokens.create_token(tessera.engine, bob, "t")
    api = {"Authorization": f"Bearer {token}"}
    assert bob_browser.get("/api/v1/apps", headers=api).status_code == 200
    resp = post(client, f"/admin/users/{bob}/active", {"active": "0"})
    assert resp.status_code == 302
    assert "deactivated" in html(client.get(f"/admin/users/{bob}"))
    assert bob_browser.get("/").status_code == 302  # back to the sign-in page
    assert web_app.test_client().get("/api/v1/apps", headers=api).status_code == 401
    assert login(web_app.test_client(), "bob").status_code == 401
    post(client, f"/admin/users/{bob}/active", {"active": "1"})
    assert login(web_app.test_client(), "bob").status_code == 302


def test_admin_cannot_deactivate_themselves(client, tessera):
    alice = _id(tessera.engine, "alice")
    resp = post(client, f"/admin/users/{alice}/active", {"active": "0"}, follow_redirects=True)
    assert "You cannot deactivate yourself" in html(resp)
    assert people.find(tessera.engine, "alice")["active"] is True


def test_reset_password_generated_and_given(client, web_app, tessera):
    bob = _id(tessera.engine, "bob")
    resp = post(client, f"/admin/users/{bob}/password", {})
    new = re.search(r'id="new-password">([^<]+)<', html(resp)).group(1)
    assert login(web_app.test_client(), "bob").status_code == 401
    assert login(web_app.test_client(), "bob", new).status_code == 302
    with tessera.engine.connect() as conn:
        assert conn.execute(sa.select(users.c.session_gen).where(users.c.id == bob)).scalar() == 1
    short = post(client, f"/admin/users/{bob}/password", {"password": "short"})
    assert short.status_code == 302
    assert login(web_app.test_client(), "bob", new).status_code == 302  # unchanged


# -- teams -------------------------------------------------------------------------------------
def test_teams_tree_create_edit_members(client, tessera):
    bob = _id(tessera.engine, "bob")
    resp = post(client, "/admin/teams", {"name": "Sales", "manager_id": str(bob)})
    assert resp.status_code == 302
    sales = people.find_team(tessera.engine, "Sales")["id"]
    post(client, "/admin/teams", {"name": "East", "parent_id": str(sales)})
    east = people.find_team(tessera.engine, "East")["id"]
    page = Finder(html(client.get("/admin/teams")))
    assert [r["data-team"] for r in page.find("tr") if r.get("data-team")] == ["Sales", "East"]
    resp = post(
        client,
        f"/admin/teams/{east}",
        {"name": "East", "parent_id": str(sales), "member": str(bob)},
    )
    assert resp.status_code == 302
    assert people.team(tessera.engine, east)["member_ids"] == [bob]


def test_team_cycle_and_duplicate_are_refused(client, tessera):
    sales = people.create_team(tessera.engine, "Sales")
    east = people.create_team(tessera.engine, "East", parent_id=sales)
    before = _snapshot(tessera.engine)
    resp = post(client, f"/admin/teams/{sales}", {"name": "Sales", "parent_id": str(east)})
    assert resp.status_code == 422
    assert "cannot be placed under itself or one of its sub-teams" in _error(resp)
    resp = post(client, f"/admin/teams/{sales}", {"name": "Sales", "parent_id": str(sales)})
    assert resp.status_code == 422
    resp = post(client, "/admin/teams", {"name": "East"})
    assert resp.status_code == 422 and "“East” is taken" in _error(resp)
    assert _snapshot(tessera.engine) == before
    assert people.team(tessera.engine, sales)["parent_id"] is None


def test_delete_team_moves_sub_teams_up(client, tessera):
    sales = people.create_team(tessera.engine, "Sales")
    east = people.create_team(tessera.engine, "East", parent_id=sales)
    assert post(client, f"/admin/teams/{sales}/delete").status_code == 302
    assert people.team(tessera.engine, east)["parent_id"] is None


# -- profile and tokens ------------------------------------------------------------------------
def test_profile_edit_and_bad_zone(bob_client, tessera):
    page = Finder(html(bob_client.get("/me")))
    assert page.find("input", id="p-timezone", list="zones")
    resp = post(
        bob_client, "/me", {"display_name": "Bobby", "locale": "zh-CN", "timezone": "Asia/Tokyo"}
    )
    assert resp.status_code == 302
    me = people.find(tessera.engine, "bob")
    assert (me["display_name"], me["locale"], me["timezone"]) == ("Bobby", "zh-CN", "Asia/Tokyo")
    assert "您的资料" in html(bob_client.get("/me")) or "个人资料" in html(bob_client.get("/me"))
    resp = post(bob_client, "/me", {"display_name": "X", "locale": "en", "timezone": "Nowhere"})
    assert resp.status_code == 422
    assert people.find(tessera.engine, "bob")["display_name"] == "Bobby"


def test_change_own_password_needs_the_current_one(bob_client, web_app):
    wrong = post(
        bob_client,
        "/me/password",
        {
            "current_password": "nope",
            "new_password": "new-pass-123",
            "confirm_password": "new-pass-123",
        },
    )
    assert wrong.status_code == 422 and "not right" in html(wrong)
    differ = post(
        bob_client,
        "/me/password",
        {"current_password": PASSWORD, "new_password": "new-pass-123", "confirm_password": "x"},
    )
    assert differ.status_code == 422
    ok = post(
        bob_client,
        "/me/password",
        {
            "current_password": PASSWORD,
            "new_password": "new-pass-123",
            "confirm_password": "new-pass-123",
        },
    )
    assert ok.status_code == 302
    assert login(web_app.test_client(), "bob", "new-pass-123").status_code == 302


def test_tokens_created_shown_once_read_only_then_revoked(bob_client, web_app, tessera):
    resp = post(bob_client, "/me/tokens", {"name": "bi", "scope": "read", "expires_in_days": "30"})
    assert resp.status_code == 200
    token = re.search(r'id="new-token">([^<]+)<', html(resp)).group(1)
    assert resp.headers["Cache-Control"] == "no-store"
    listing = html(bob_client.get("/me/tokens"))
    assert token not in listing and token[:12] in listing
    api = web_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/crm/customer", headers=headers).status_code == 200
    denied = api.post("/api/v1/crm/customer", json={"name": "x"}, headers=headers)
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    token_id = int(Finder(listing).find("tr")[1]["data-token"])
    assert post(bob_client, f"/me/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/crm/customer", headers=headers).status_code == 401


def test_cannot_revoke_someone_elses_token(bob_client, tessera):
    alice = _id(tessera.engine, "alice")
    token_id, _ = tokens.create_token(tessera.engine, alice)
    resp = post(bob_client, f"/me/tokens/{token_id}/revoke", follow_redirects=True)
    assert "There is no such token." in html(resp)
    assert tokens.list_tokens(tessera.engine, alice)[0]["revoked"] is False


def test_bad_token_expiry_is_refused(bob_client, tessera):
    resp = post(bob_client, "/me/tokens", {"name": "x", "expires_in_days": "0"})
    assert resp.status_code == 422 and "whole number of days" in html(resp)
    assert tokens.list_tokens(tessera.engine) == []


# -- audit -------------------------------------------------------------------------------------
def test_audit_log_filters_and_pages(client, tessera):
    bob = _id(tessera.engine, "bob")
    alice = _id(tessera.engine, "alice")
    from tessera.records.actor import Actor

    for i in range(55):
        tessera.records.create(
            "crm", "customer", {"name": f"C{i}"}, Actor(user_id=alice, kind="user")
        )
    people.set_roles(tessera.engine, bob, [people.RoleRef("crm", "viewer")], by=alice)
    page = Finder(html(client.get("/admin/audit")))
    rows = [r for r in page.find("tr") if r.get("data-source")]
    assert len(rows) == 50 and rows[0]["data-action"] == "role_grant"
    assert page.find("a", rel="next")
    second = Finder(html(client.get("/admin/audit?page=2")))
    with tessera.engine.connect() as conn:  # the role grant, and sign-ins when audited
        security_events = conn.execute(
            sa.select(sa.func.count()).select_from(security_log)
        ).scalar_one()
    assert len([r for r in second.find("tr") if r.get("data-source")]) == 55 + security_events - 50
    only_security = Finder(html(client.get("/admin/audit?type=security")))
    assert {r["data-source"] for r in only_security.find("tr") if r.get("data-source")} == {
        "security"
    }
    only_create = html(client.get("/admin/audit?action=create&type=customer&app=crm"))
    assert only_create.count('data-action="create"') == 50
    by_bob = html(client.get(f"/admin/audit?user={bob}"))
    assert 'id="audit-empty"' in by_bob
    future = html(client.get("/admin/audit?since=2999-01-01"))
    assert 'id="audit-empty"' in future
    bad = html(client.get("/admin/audit?since=yesterday"))
    assert "Ignored filters" in bad


def test_audit_csv_has_bom_and_neutralises_formulas(client, tessera):
    tessera.records.create("crm", "customer", {"name": '=HYPERLINK("http://evil")'})
    people.create_team(tessera.engine, "@team")
    resp = client.get("/admin/audit.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["at", "source", "action"]
    subjects = [r[7] for r in rows[1:]]
    assert "'@team" in subjects
    details = [r[10] for r in rows[1:] if r[1] == "record"]
    assert details and all(not d.startswith(("=", "+", "-", "@")) for d in details)


def test_record_activity_says_through_which_door(client, tessera):
    from tessera.records.actor import Actor

    rec = tessera.records.create(
        "crm", "customer", {"name": "Door Co"}, Actor(kind="import", ref="x")
    )
    tessera.records.update(
        "crm",
        "customer",
        rec["id"],
        {"name": "Door Ltd"},
        Actor(user_id=1, kind="api_token", ref="1"),
    )
    page = html(client.get(f"/a/crm/r/customer/{rec['id']}"))
    assert 'data-via="import"' in page and "via an import" in page
    assert 'data-via="api_token"' in page and "via the API" in page


def test_admin_pages_in_chinese(client, tessera, with_roles):
    post(client, "/lang", {"locale": "zh_CN", "next": "/"})
    page = html(client.get("/admin/users/new"))
    assert "角色sales_rep" in page  # the role's zh-CN label
    assert "新用户" in page
    resp = post(client, "/admin/users/new", {"username": "bob"})
    assert "用户名“bob”已被占用" in _error(resp)


def test_edit_user_is_all_or_nothing(client, tessera):
    bob = _id(tessera.engine, "bob")
    before = _snapshot(tessera.engine)
    resp = post(client, f"/admin/users/{bob}", {"display_name": "Changed", "team": "999"})
    assert resp.status_code == 422 and "There is no such team." in _error(resp)
    assert people.get(tessera.engine, bob)["display_name"] == "Bob Sales"
    assert _snapshot(tessera.engine) == before


def test_admin_cannot_drop_their_own_admin_rights(client, tessera):
    alice = _id(tessera.engine, "alice")
    resp = post(client, f"/admin/users/{alice}", {"display_name": "Alice Admin"})
    assert resp.status_code == 422
    assert "your own administrator rights" in _error(resp)
    assert people.find(tessera.engine, "alice")["is_admin"] is True


def test_admin_sees_and_revokes_a_users_tokens(client, web_app, tessera):
    bob = _id(tessera.engine, "bob")
    alice = _id(tessera.engine, "alice")
    token_id, plain = tokens.create_token(tessera.engine, bob, "leaked", scopes="read")
    other_id, _ = tokens.create_token(tessera.engine, alice, "mine")
    page = Finder(html(client.get(f"/admin/users/{bob}")))
    assert [r["data-token"] for r in page.find("tr") if r.get("data-token")] == [str(token_id)]
    wrong = post(client, f"/admin/users/{bob}/tokens/{other_id}/revoke", follow_redirects=True)
    assert "There is no such token." in html(wrong)
    assert post(client, f"/admin/users/{bob}/tokens/{token_id}/revoke").status_code == 302
    headers = {"Authorization": f"Bearer {plain}"}
    assert web_app.test_client().get("/api/v1/apps", headers=headers).status_code == 401
    with tessera.engine.connect() as conn:
        last = conn.execute(sa.select(security_log).order_by(security_log.c.id.desc())).first()
    assert (last.action, last.subject, last.user_id) == ("token_revoke", "bob", alice)


def test_times_show_in_the_users_time_zone(client, tessera):
    from datetime import UTC, datetime

    alice = _id(tessera.engine, "alice")
    people.update_profile(tessera.engine, alice, by=alice, timezone="Asia/Shanghai")
    at = datetime(2026, 1, 2, 23, 30, tzinfo=UTC)
    tokens.create_token(tessera.engine, alice, "tz", expires_at=at)
    page = html(client.get("/me/tokens"))
    assert "2026-01-03 07:30" in page  # UTC+8
    record = tessera.records.create("crm", "customer", {"name": "Zone Co"})
    shown = html(client.get(f"/a/crm/r/customer/{record['id']}"))
    created = re.search(r'<time datetime="([^"]+)" class="muted">([^<]+)</time>', shown)
    stamp = datetime.fromisoformat(created.group(1))
    local = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(
        ZoneInfo("Asia/Shanghai")
    )
    assert created.group(2) == local.strftime("%Y-%m-%d %H:%M")


def test_unlock_button_uses_the_sign_in_throttle_when_present(client, tessera, monkeypatch):
    import sys
    import types

    bob = _id(tessera.engine, "bob")
    calls = []
    fake = types.ModuleType("tessera.signin")
    fake.unlock = lambda app, username, by=None: calls.append((username, by)) or True
    monkeypatch.setitem(sys.modules, "tessera.signin", fake)
    assert Finder(html(client.get(f"/admin/users/{bob}"))).find("form", id="unlock")
    assert post(client, f"/admin/users/{bob}/unlock").status_code == 302
    assert calls == [("bob", _id(tessera.engine, "alice"))]
    monkeypatch.setitem(sys.modules, "tessera.signin", None)  # an installation without it
    assert not Finder(html(client.get(f"/admin/users/{bob}"))).find("form", id="unlock")
    assert post(client, f"/admin/users/{bob}/unlock").status_code == 404


def test_team_edit_is_all_or_nothing(client, tessera):
    sales = people.create_team(tessera.engine, "Sales")
    before = _snapshot(tessera.engine)
    resp = post(client, f"/admin/teams/{sales}", {"name": "Renamed", "member": "999"})
    assert resp.status_code == 422 and "There is no such user." in _error(resp)
    assert people.team(tessera.engine, sales)["name"] == "Sales"
    assert _snapshot(tessera.engine) == before
