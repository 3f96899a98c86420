"""Token scopes and expiry: a read-only token cannot write (403), an expired one is 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from api_helpers import Api, assert_error, counts

from tessera import tokens
from tessera.access.tables import security_log
from tessera.storage.events import api_tokens

URL = "/api/v1/sales/customer"


def _client(flask_app, tessera, user_id, **kw) -> Api:
    _, plain = tokens.create_token(tessera.engine, user_id, "t", **kw)
    return Api(flask_app.test_client(), plain)


def test_read_only_token_reads_but_every_write_is_403(flask_app, tessera, user_id):
    api = _client(flask_app, tessera, user_id, scopes=["read"])
    created = tessera.records.create("sales", "customer", {"name": "Acme"})
    assert api.get(URL).status_code == 200
    assert api.get(f"{URL}/{created['id']}").status_code == 200
    before = counts(tessera.engine)
    for resp in (
        api.post(URL, json={"name": "x"}),
        api.patch(f"{URL}/{created['id']}", json={"name": "y"}),
        api.delete(f"{URL}/{created['id']}"),
    ):
        error = assert_error(resp, 403, "forbidden")
        assert "read-only" in error["message"] and "write" in error["message"]
    assert counts(tessera.engine) == before


def test_write_scope_and_no_scope_may_write(flask_app, tessera, user_id):
    for kw in ({"scopes": ["read", "write"]}, {}):
        api = _client(flask_app, tessera, user_id, **kw)
        assert api.post(URL, json={"name": f"n{len(kw)}"}).status_code == 201


def test_expired_token_is_401_saying_so(flask_app, tessera, user_id):
    past = datetime.now(UTC) - timedelta(minutes=1)
    api = _client(flask_app, tessera, user_id, expires_at=past)
    error = assert_error(api.get(URL), 401, "unauthorized")
    assert "expired" in error["message"]


def test_token_expires_while_cached(tessera, user_id):
    soon = datetime.now(UTC) + timedelta(hours=1)
    _, plain = tokens.create_token(tessera.engine, user_id, expires_at=soon)
    cache = tokens.TokenCache(ttl=3600)
    assert tokens.authenticate(tessera.engine, plain, cache=cache).user_id == user_id
    later = soon + timedelta(seconds=1)
    with pytest.raises(tokens.TokenExpired):
        tokens.authenticate(tessera.engine, plain, now=later, cache=cache)


def test_unknown_scope_and_bad_expiry_are_refused(tessera, user_id):
    with pytest.raises(tokens.TokenError, match="scope 'admin'"):
        tokens.create_token(tessera.engine, user_id, scopes=["admin"])
    for days in ("x", 0, 99999):
        with pytest.raises(tokens.TokenError):
            tokens.expiry(days)
    with tessera.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)).scalar() == 0


def test_deactivated_users_token_stops_at_once_even_when_cached(flask_app, tessera, user_id):
    from tessera.access import people

    flask_app.extensions["tessera"].token_cache.ttl = 3600  # a long cache
    api = _client(flask_app, tessera, user_id)
    assert api.get(URL).status_code == 200
    people.set_active(tessera.engine, user_id, False, token_cache=tessera.token_cache)
    assert_error(api.get(URL), 401, "unauthorized")
    people.set_active(tessera.engine, user_id, True, token_cache=tessera.token_cache)
    assert api.get(URL).status_code == 200


def test_create_and_revoke_are_in_the_security_log(tessera, user_id):
    token_id, _ = tokens.create_token(tessera.engine, user_id, "ci", scopes="read")
    tokens.revoke(tessera.engine, token_id, by=user_id)
    with tessera.engine.connect() as conn:
        rows = conn.execute(sa.select(security_log).order_by(security_log.c.id)).mappings().all()
    assert [(r["action"], r["subject"], r["user_id"]) for r in rows] == [
        ("token_create", "ann", user_id),
        ("token_revoke", "ann", user_id),
    ]
    assert rows[0]["detail"]["scopes"] == "read"
