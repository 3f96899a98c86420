"""Save after the session expired: sign in again and get the typed values back, not a 400."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from web_helpers import PASSWORD, csrf, login

from tessera import users

SITE = {"Origin": "http://localhost"}


def _expire(client) -> None:
    with client.session_transaction() as s:
        s.clear()  # the cookie expired: no user, no CSRF token


def test_expired_save_signs_in_and_brings_values_back(client, tessera):
    _expire(client)
    form = {"_csrf": "stale", "guest": "王芳 Wang", "seats": "4", "fee": "88.50"}
    r = client.post("/a/events/r/registration/new", data=form, headers=SITE)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    login_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "what you typed is kept" in login_page
    token = csrf(client, r.headers["Location"])
    back = client.post(
        r.headers["Location"], data={"username": "alice", "password": PASSWORD, "_csrf": token}
    )
    target = back.headers["Location"]
    assert urlsplit(target).path == "/a/events/r/registration/new" and "resume=" in target
    page = client.get(target).get_data(as_text=True)
    assert 'value="王芳 Wang"' in page and 'value="4"' in page and "88.50" in page
    assert 'id="form-resumed"' in page
    assert client.get(target).get_data(as_text=True).count("王芳") == 0  # used once
    assert tessera.queries.list("events", "registration").rows == []  # nothing saved for them


def test_stale_token_on_edit_keeps_version_so_conflicts_still_show(client, tessera):
    reg = tessera.records.create("events", "registration", {"guest": "Li"})
    with client.session_transaction() as s:
        s["_csrf"] = "rotated"  # signed in, but the form's token is stale
    form = {"_csrf": "old", "guest": "Li Lei", "version": str(reg["version"])}
    r = client.post(f"/a/events/r/registration/{reg['id']}/edit", data=form, headers=SITE)
    assert r.status_code == 302
    r = client.get(r.headers["Location"])  # still signed in: straight back to the form
    assert r.status_code == 302
    tessera.records.update("events", "registration", reg["id"], {"guest": "Li Ming"})
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'value="Li Lei"' in page and f'name="version" value="{reg["version"]}"' in page
    token = csrf(client, "/")
    saved = client.post(
        f"/a/events/r/registration/{reg['id']}/edit",
        data={"_csrf": token, "guest": "Li Lei", "version": str(reg["version"])},
    )
    assert saved.status_code == 409  # the change made meanwhile is not overwritten


def test_cross_site_post_gets_the_refusal_and_no_stash(client):
    _expire(client)
    form = {"_csrf": "x", "guest": "Evil"}
    r = client.post(
        "/a/events/r/registration/new", data=form, headers={"Origin": "http://evil.test"}
    )
    assert r.status_code == 400
    r = client.post("/a/events/r/registration/new", data=form)  # no Origin, no Referer
    assert r.status_code == 400


def test_another_user_never_sees_the_stash(web_app, tessera):
    users.create_user(tessera.engine, "carol", PASSWORD)
    c = web_app.test_client()
    login(c, "alice")
    with c.session_transaction() as s:
        s["_csrf"] = "rotated"
    r = c.post(
        "/a/events/r/registration/new",
        data={"_csrf": "old", "guest": "Secret"},
        headers=SITE,
    )
    target = r.headers["Location"].split("next=", 1)[1]
    other = web_app.test_client()
    login(other, "carol")
    page = other.get(unquote(target)).get_data(as_text=True)
    assert "Secret" not in page
