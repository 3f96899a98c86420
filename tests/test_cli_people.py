"""The people CLI: user create/roles/activate/deactivate/list, team create/list, token flags.

Bad input exits 1 with a clear message on stderr and writes nothing.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tessera.access import people
from tessera.access.tables import security_log, team_members, teams, user_roles
from tessera.storage import installer
from tessera.storage.events import api_tokens
from tessera.storage.system import users

CRM_ROLES = ("sales_rep", "sales_manager", "service_agent", "finance", "marketing", "viewer")


@pytest.fixture
def with_roles(monkeypatch):
    """The CRM declares the issue's roles (as the access engine will compile them)."""
    declared = tuple(SimpleNamespace(key=k, label={"en": k}) for k in CRM_ROLES)
    original = people.declared_roles
    monkeypatch.setattr(
        people, "declared_roles", lambda app: declared if app.id == "crm" else original(app)
    )


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _snapshot(engine) -> tuple:
    return tuple(_count(engine, t) for t in (users, teams, team_members, user_roles, security_log))


def test_user_create_with_roles_and_teams(runner, crm, with_roles):
    assert runner.invoke(args=["team", "create", "Sales"]).exit_code == 0
    result = runner.invoke(
        args=["user", "create", "rep", "--password", "long-enough-1"]
        + ["--role", "crm:sales_rep", "--role", "crm:viewer", "--team", "Sales"]
        + ["--timezone", "Asia/Shanghai", "--locale", "zh-CN"]
    )
    assert result.exit_code == 0, result.output
    assert "role crm:sales_rep" in result.output and "team Sales" in result.output
    user = people.find(crm.engine, "rep")
    assert (user["timezone"], user["locale"]) == ("Asia/Shanghai", "zh-CN")
    assert [str(r) for r in people.roles_of(crm.engine, user["id"])] == [
        "crm:sales_rep",
        "crm:viewer",
    ]
    listed = runner.invoke(args=["user", "list"]).output
    assert "rep\tactive\t-\tcrm:sales_rep crm:viewer\tSales" in listed


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--role", "crm:wizard"],
            "app 'crm' declares no role 'wizard'; its roles are sales_rep, sales_manager",
        ),
        (["--role", "nope:viewer"], "no app 'nope' is installed"),
        (["--role", "viewer"], "write it as APP:ROLE"),
        (["--role", "crm:admin"], "admin is built in"),
        (["--team", "Ghosts"], "no team 'Ghosts'"),
        (["--timezone", "Mars/Olympus"], "is not an IANA time zone"),
        (["--locale", "fr"], "locale 'fr'"),
    ],
)
def test_user_create_bad_input_writes_nothing(runner, crm, with_roles, args, message):
    before = _snapshot(crm.engine)
    result = runner.invoke(args=["user", "create", "rep", "--password", "long-enough-1", *args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert _snapshot(crm.engine) == before


def test_duplicate_user_and_team_are_refused(runner, crm):
    assert (
        runner.invoke(args=["user", "create", "ann", "--password", "long-enough-1"]).exit_code == 0
    )
    assert runner.invoke(args=["team", "create", "East"]).exit_code == 0
    before = _snapshot(crm.engine)
    dup = runner.invoke(args=["user", "create", "ann", "--password", "long-enough-1"])
    assert dup.exit_code == 1 and "username 'ann' is taken" in dup.stderr
    dup = runner.invoke(args=["team", "create", "East"])
    assert dup.exit_code == 1 and "team name 'East' is taken" in dup.stderr
    assert _snapshot(crm.engine) == before


def test_generated_password_is_printed(runner, crm):
    result = runner.invoke(args=["user", "create", "gen"])
    assert result.exit_code == 0 and "password: " in result.output


def test_user_roles_sets_exactly_and_prints(runner, crm, with_roles):
    runner.invoke(args=["user", "create", "ann", "--password", "long-enough-1"])
    assert "holds no roles" in runner.invoke(args=["user", "roles", "ann"]).output
    out = runner.invoke(args=["user", "roles", "ann", "crm:sales_rep", "crm:finance"]).output
    assert "granted crm:finance" in out and "granted crm:sales_rep" in out
    out = runner.invoke(args=["user", "roles", "ann", "crm:viewer"]).output
    assert "granted crm:viewer" in out and "revoked crm:finance" in out
    assert runner.invoke(args=["user", "roles", "ann"]).output.strip() == "crm:viewer"
    bad = runner.invoke(args=["user", "roles", "ann", "crm:viewer", "crm:boss"])
    assert bad.exit_code == 1 and "its roles are sales_rep, sales_manager" in bad.stderr
    assert runner.invoke(args=["user", "roles", "ann"]).output.strip() == "crm:viewer"
    assert runner.invoke(args=["user", "roles", "ghost", "crm:viewer"]).exit_code == 1
    cleared = runner.invoke(args=["user", "roles", "ann", "--clear"])
    assert "revoked crm:viewer" in cleared.output


def test_roles_of_an_app_declaring_none_accept_identifiers(runner, crm):
    from tessera.meta import app_from_data

    notes = {
        "id": "notes",
        "version": "1.0.0",
        "record_types": [{"key": "note", "fields": [{"key": "title", "type": "text"}]}],
    }
    installer.install(crm.engine, app_from_data(notes), "notes")
    crm.registry.reload()
    runner.invoke(args=["user", "create", "ann", "--password", "long-enough-1"])
    assert runner.invoke(args=["user", "roles", "ann", "notes:editor"]).exit_code == 0
    bad = runner.invoke(args=["user", "roles", "ann", "notes:Bad-Key"])
    assert bad.exit_code == 1 and "lower-case" in bad.stderr
    undeclared = runner.invoke(args=["user", "roles", "ann", "crm:editor"])
    assert undeclared.exit_code == 1 and "declares no role 'editor'" in undeclared.stderr


def test_team_create_with_parent_and_manager_then_list(runner, crm):
    runner.invoke(args=["user", "create", "boss", "--password", "long-enough-1"])
    assert runner.invoke(args=["team", "create", "Sales", "--manager", "boss"]).exit_code == 0
    assert runner.invoke(args=["team", "create", "East", "--parent", "Sales"]).exit_code == 0
    listed = runner.invoke(args=["team", "list"]).output.splitlines()
    assert listed == ["Sales\tboss\t0 member(s)", "  East\t-\t0 member(s)"]
    for args, message in (
        (["team", "create", "X", "--parent", "Nope"], "no team 'Nope'"),
        (["team", "create", "X", "--manager", "nobody"], "no user 'nobody'"),
        (["team", "create", " "], "team name"),
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and message in result.stderr


def test_deactivate_and_activate(runner, crm):
    runner.invoke(args=["user", "create", "ann", "--password", "long-enough-1"])
    gen = people.find(crm.engine, "ann")
    assert runner.invoke(args=["user", "deactivate", "ann"]).output.strip() == "deactivated ann"
    assert "already deactivated" in runner.invoke(args=["user", "deactivate", "ann"]).output
    with crm.engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == gen["id"])).mappings().one()
    assert row["active"] is False and row["session_gen"] == 1
    refused = runner.invoke(args=["token", "create", "ann"])
    assert refused.exit_code == 1 and "deactivated" in refused.stderr
    assert runner.invoke(args=["user", "activate", "ann"]).output.strip() == "activated ann"
    assert runner.invoke(args=["user", "deactivate", "ghost"]).exit_code == 1


def test_last_admin_cannot_be_deactivated(runner, crm):
    runner.invoke(args=["user", "create", "root", "--password", "long-enough-1", "--admin"])
    result = runner.invoke(args=["user", "deactivate", "root"])
    assert result.exit_code == 1 and "last active administrator" in result.stderr


def test_token_create_with_scope_and_expiry(runner, crm):
    runner.invoke(args=["user", "create", "ann", "--password", "long-enough-1"])
    result = runner.invoke(
        args=["token", "create", "ann", "--scope", "read", "--expires-in", "30", "--name", "bi"]
    )
    assert result.exit_code == 0, result.output
    with crm.engine.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).mappings().one()
    assert row["scopes"] == "read" and row["expires_at"] is not None
    listed = runner.invoke(args=["token", "list"]).output
    assert "active until" in listed and "[read]" in listed
    bad = runner.invoke(args=["token", "create", "ann", "--expires-in", "0"])
    assert bad.exit_code == 1 and "use 1 to 3650" in bad.stderr
    bad = runner.invoke(args=["token", "create", "ann", "--scope", "admin"])
    assert bad.exit_code == 2  # click refuses the choice


def test_every_change_is_in_the_security_log(runner, crm, with_roles):
    runner.invoke(args=["team", "create", "Sales"])
    runner.invoke(
        args=["user", "create", "ann", "--password", "long-enough-1"]
        + ["--role", "crm:viewer", "--team", "Sales"]
    )
    runner.invoke(args=["user", "roles", "ann", "crm:finance"])
    runner.invoke(args=["user", "deactivate", "ann"])
    with crm.engine.connect() as conn:
        rows = conn.execute(sa.select(security_log).order_by(security_log.c.id)).mappings().all()
    assert [(r["action"], r["subject"]) for r in rows] == [
        ("team_create", "Sales"),
        ("user_create", "ann"),
        ("role_grant", "ann"),
        ("team_join", "ann"),
        ("role_revoke", "ann"),
        ("role_grant", "ann"),
        ("user_deactivate", "ann"),
    ]
    assert rows[2]["app_id"] == "crm" and rows[2]["detail"] == {"role": "viewer"}
