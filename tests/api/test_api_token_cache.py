"""The in-process token cache: hits skip the database; expiry lets revocations apply."""

from __future__ import annotations

import time

from tessera import tokens, users


def test_cached_token_survives_until_ttl_then_revocation_applies(engine):
    uid = users.create_user(engine, "cache.user", "long-password")
    token_id, token = tokens.create_token(engine, uid, "t")
    cache = tokens.TokenCache(ttl=0.2)
    assert tokens.authenticate(engine, token, cache=cache).user_id == uid
    tokens.revoke(engine, token_id)
    assert tokens.authenticate(engine, token, cache=cache).user_id == uid  # cached
    assert tokens.authenticate(engine, token) is None  # the database already says no
    time.sleep(0.25)
    assert tokens.authenticate(engine, token, cache=cache) is None


def test_zero_ttl_disables_the_cache(engine):
    uid = users.create_user(engine, "nocache.user", "long-password")
    token_id, token = tokens.create_token(engine, uid, "t")
    cache = tokens.TokenCache(ttl=0)
    assert tokens.authenticate(engine, token, cache=cache) is not None
    tokens.revoke(engine, token_id)
    assert tokens.authenticate(engine, token, cache=cache) is None
