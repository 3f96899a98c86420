"""Sign-in abuse: open redirects, throttling and lockout, timing, revocable sessions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from web_helpers import PASSWORD, csrf, login, post

from tessera import signin
from tessera.access.tables import security_log
from tessera.web.security import safe_next

HOSTILE_NEXT = [
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\x00/evil.example",
    "/\ud800",
    "/\x7f/evil",
    "///evil.example",
    "",
    None,
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_refuses_what_a_browser_would_read_as_off_site(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/a/crm", "/a/crm/v/x?page=2&q=a%20b", "/", "/a/b#top"])
def test_safe_next_keeps_site_paths(target):
    assert safe_next(target, "/home") == target


def _security(tessera, action=None):
    query = sa.select(security_log.c.action, security_log.c.subject)
    if action:
        query = query.where(security_log.c.action == action)
    with tessera.engine.connect() as conn:
        return conn.execute(query.order_by(security_log.c.id)).all()


@pytest.mark.parametrize("target", ["/%09/evil.example", "/\r\n/evil.example", "//evil.example"])
def test_sign_in_next_stays_on_site(anon, target):
    token = csrf(anon, "/login")
    data = {"username": "alice", "password": PASSWORD, "_csrf": token, "next": target}
    resp = anon.post("/login", data=data)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/%09/evil.example", "/\t/evil.example", "https://x.example"])
def test_language_switch_and_bulk_next_stay_on_site(client, target):
    resp = post(client, "/lang", {"locale": "en", "next": target})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    resp = post(client, "/a/crm/v/all-customer/bulk", {"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/a/crm/v/all-customer")


def _wrong(client, username="alice", token=None):
    token = token or csrf(client, "/login")
    data = {"username": username, "password": "wrong-password", "_csrf": token}
    return client.post("/login", data=data)


@pytest.fixture
def fast(web_app):
    """Short delays so a test can walk the whole policy."""
    web_app.config.update(LOGIN_FREE_ATTEMPTS=2, LOGIN_DELAY_SECONDS=30, LOGIN_LOCKOUT_AFTER=4)
    web_app.extensions.pop("tessera_signin", None)
    return web_app


def test_failed_sign_ins_delay_then_lock_then_admin_unlocks(fast, anon, tessera):
    token = csrf(anon, "/login")
    th = signin.throttle(fast)
    assert [_wrong(anon, token=token).status_code for _ in range(2)] == [401, 401]
    refused = _wrong(anon, token=token)  # two free failures, then a delay
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 30
    # the right password is refused too while the delay runs
    right = anon.post("/login", data={"username": "alice", "password": PASSWORD, "_csrf": token})
    assert right.status_code == 429
    th.redis.hset(th._key("acct", "alice"), "last", 0)  # the delay has passed
    assert _wrong(anon, token=token).status_code == 401
    refused = _wrong(anon, token=token)  # the delay doubles
    assert refused.status_code == 429 and 30 < int(refused.headers["Retry-After"]) <= 60
    th.redis.hset(th._key("acct", "alice"), "last", 0)
    assert _wrong(anon, token=token).status_code == 401  # fourth failure: locked
    assert ("lockout", "alice") in _security(tessera)
    assert login(anon, "alice").status_code == 429
    assert signin.unlock(fast, "alice", by=None) is True
    assert login(anon, "alice").status_code == 302
    actions = [a for a, _s in _security(tessera)]
    assert actions.count("login_failed") == 4 and actions[-2:] == ["unlock", "login"]


def test_lockout_by_address_covers_every_username(fast, anon):
    fast.config["LOGIN_ADDRESS_LIMIT"] = 3
    token = csrf(anon, "/login")
    for name in ("u1", "u2", "u3"):
        assert _wrong(anon, name, token).status_code == 401
    assert _wrong(anon, "u4", token).status_code == 429
    assert login(anon, "bob").status_code == 429


def test_cli_unlock(fast, anon, runner, tessera):
    th = signin.throttle(fast)
    th.fail("bob", "1.2.3.4")
    result = runner.invoke(args=["user", "unlock", "bob"])
    assert result.exit_code == 0 and "unlocked bob" in result.output
    assert ("unlock", "bob") in _security(tessera)


def test_unknown_user_does_the_same_hash_work(web_app, tessera, monkeypatch):
    calls = []
    real = signin.check_password_hash
    monkeypatch.setattr(signin, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    assert signin.verify(tessera.engine, "alice", "wrong") is None
    assert signin.verify(tessera.engine, "nobody-here", "wrong") is None
    assert len(calls) == 2
    # the filler hash uses the same method and cost as real ones
    with tessera.engine.connect() as conn:
        real_hash = conn.execute(sa.text("select password_hash from users limit 1")).scalar()
    assert calls[1].split("$")[0] == real_hash.split("$")[0]


def test_sign_in_is_logged(anon, tessera):
    assert login(anon, "alice").status_code == 302
    assert _security(tessera, "login") == [("login", "alice")]


def test_saved_cookie_stops_working_after_sign_out(web_app, client):
    assert client.get("/").status_code == 200
    saved = client.get_cookie("session").value
    post(client, "/logout")
    thief = web_app.test_client()
    thief.set_cookie("session", saved)
    resp = thief.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert thief.get("/api/v1/crm/customer").status_code == 401


def test_deactivated_user_session_ends(client, tessera):
    assert client.get("/").status_code == 200
    with tessera.engine.begin() as conn:
        conn.execute(sa.text("update users set active = false where username = 'alice'"))
    assert client.get("/").status_code == 302


def test_counters_are_shared_through_redis_between_processes():
    """Two web processes (two throttles on one Redis) see the same failures and unlock."""
    import os

    redis = pytest.importorskip("redis")
    url = os.environ.get("TESSERA_TEST_REDIS_URL")
    if not url:
        pytest.skip("TESSERA_TEST_REDIS_URL not set")
    config = {"REDIS_URL": url, "LOGIN_LOCKOUT_AFTER": 2, "LOGIN_FREE_ATTEMPTS": 5}
    try:
        one, two = signin.Throttle.from_config(config), signin.Throttle.from_config(config)
        name = f"shared-{os.getpid()}"
        one.unlock(name)
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis unreachable: {exc}")
    one.fail(name, "10.0.0.1")
    two.fail(name, "10.0.0.2")
    assert one.check(name, "10.0.0.3").reason == "locked"
    assert two.unlock(name) is True
    assert one.check(name, "10.0.0.3").allowed
    for th in (one, two):
        th.redis.delete(th._key("addr", "10.0.0.1"), th._key("addr", "10.0.0.2"))
