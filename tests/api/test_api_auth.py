"""Authentication: bearer tokens (hashed, revocable, last use), the session, and the CLI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from api_helpers import Api, assert_error, counts

from tessera import tokens, users
from tessera.storage.events import api_tokens

URL = "/api/v1/sales/customer"


def test_no_credentials_is_401_saying_how_to_get_a_token(anon, tessera):
    before = counts(tessera.engine)
    for resp in (anon.get(URL), anon.post(URL, json={"name": "x"}), anon.get("/api/v1/apps")):
        error = assert_error(resp, 401, "unauthorized")
        assert "flask --app app token create" in error["message"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert counts(tessera.engine) == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer tsr_wrong",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "tsr_no_scheme",
        "Bearer " + "x" * 5000,
        "Bearer tsr_" + "é" * 10,
    ],
)
def test_bad_token_is_401(anon, tessera, header):
    before = counts(tessera.engine)
    resp = anon.post(URL, json={"name": "x"}, headers={"Authorization": header})
    assert_error(resp, 401, "unauthorized")
    assert counts(tessera.engine) == before


def test_revoked_token_is_401(api, tessera, token):
    assert api.get(URL).status_code == 200
    tokens.revoke(tessera.engine, token[0])
    before = counts(tessera.engine)
    error = assert_error(api.post(URL, json={"name": "x"}), 401, "unauthorized")
    assert "revoked" in error["message"]
    assert counts(tessera.engine) == before


def test_token_of_deactivated_user_is_401(api, tessera, user_id):
    from tessera.storage.system import users as users_table

    with tessera.engine.begin() as conn:
        conn.execute(users_table.update().values(active=False))
    assert_error(api.get(URL), 401, "unauthorized")


def test_tokens_are_stored_hashed_and_last_use_recorded(api, tessera, token):
    token_id, plain = token
    assert plain.startswith("tsr_") and len(plain) > 40
    with tessera.engine.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).mappings().one()
    assert row["token_hash"] == tokens.hash_token(plain) and plain not in row.values()
    assert row["prefix"] == plain[:12] and row["last_used_at"] is None
    api.get(URL)
    with tessera.engine.connect() as conn:
        used = conn.execute(sa.select(api_tokens.c.last_used_at)).scalar_one()
    assert used is not None


def test_two_tokens_are_different(tessera, user_id):
    a = tokens.create_token(tessera.engine, user_id)
    b = tokens.create_token(tessera.engine, user_id)
    assert a[1] != b[1] and a[0] != b[0]


def test_session_user_can_use_the_api(flask_app, tessera, user_id):
    client = flask_app.test_client()
    with client.session_transaction() as sess:
        sess["user_id"] = user_id
        sess["gen"] = 0
    resp = client.post(URL, json={"name": "From browser"})
    assert resp.status_code == 201
    history = Api(client, None).get(f"{URL}/1/history").get_json()
    assert history["data"][0]["actor"] == {"kind": "user", "ref": None, "user_id": user_id}


def test_session_of_unknown_user_is_401(flask_app, tessera):
    client = flask_app.test_client()
    with client.session_transaction() as sess:
        sess["user_id"] = 999
        sess["gen"] = 0
    assert_error(client.get(URL), 401, "unauthorized")


def test_session_signed_out_since_is_401(flask_app, tessera, user_id):
    from tessera import users

    client = flask_app.test_client()
    with client.session_transaction() as sess:
        sess["user_id"] = user_id
        sess["gen"] = 0
    users.end_sessions(tessera.engine, user_id)
    assert_error(client.get(URL), 401, "unauthorized")


# -- CLI -------------------------------------------------------------------------------------
def test_cli_token_create_list_revoke(runner, tessera, user_id, flask_app):
    created = runner.invoke(args=["token", "create", "ann", "--name", "ci"])
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    assert plain.startswith("tsr_")
    client = Api(flask_app.test_client(), plain)
    assert client.get(URL).status_code == 200
    listed = runner.invoke(args=["token", "list"])
    assert listed.exit_code == 0
    [line] = listed.output.strip().splitlines()
    assert line.split("\t")[:4] == ["1", "ann", "ci", plain[:12] + "…"]
    assert plain not in listed.output and line.endswith("active")
    revoked = runner.invoke(args=["token", "revoke", "1"])
    assert revoked.exit_code == 0 and "revoked token 1" in revoked.output
    assert client.get(URL).status_code == 401
    assert runner.invoke(args=["token", "list"]).output.strip().endswith("revoked")


def test_cli_token_errors(runner, tessera):
    missing = runner.invoke(args=["token", "create", "nobody"])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.stderr
    bad = runner.invoke(args=["token", "revoke", "42"])
    assert bad.exit_code == 1 and "no API token with id 42" in bad.stderr
    empty = runner.invoke(args=["token", "list"])
    assert "no API tokens" in empty.output


def test_cli_refuses_tokens_for_deactivated_users(runner, tessera):
    from tessera.storage.system import users as users_table

    users.create_user(tessera.engine, "gone", "password123")
    with tessera.engine.begin() as conn:
        conn.execute(users_table.update().values(active=False))
    result = runner.invoke(args=["token", "create", "gone"])
    assert result.exit_code == 1 and "deactivated" in result.stderr
