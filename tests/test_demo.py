"""`flask --app app demo`: sample data through the records service, all or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tessera.demo import DemoError, load_demo


def _count(t, rt: str) -> int:
    with t.engine.connect() as conn:
        table = t.registry.table("crm", rt)
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture
def crm(runner, flask_app):
    assert runner.invoke(args=["init"]).exit_code == 0
    return flask_app.extensions["tessera"]


def test_demo_loads_linked_records_once(runner, crm):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "5 customer" in result.output
    assert _count(crm, "customer") == 5 and _count(crm, "opportunity") == 5
    opp = crm.queries.list(
        "crm",
        "opportunity",
        filter={"field": "customer.name", "op": "eq", "value": "Acme Trading Co."},
    ).rows
    assert [o["name"] for o in opp] == ["Acme 2027 supply contract"]
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 1 and "--force" in again.stderr
    assert _count(crm, "customer") == 5


def test_bad_demo_file_leaves_nothing(crm, tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(
        "customer:\n  - {_ref: a, name: Ann}\n"
        "opportunity:\n  - {name: Deal, customer: '@a', stage: lost}\n"  # no lost reason
    )
    with pytest.raises(DemoError) as info:
        load_demo(crm, "crm", path)
    assert "opportunity[0]" in str(info.value) and "lost reason" in str(info.value)
    assert _count(crm, "customer") == 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("customer: [{name: A, customer: '@nobody'}]", "names no earlier record"),
        ("nope: [{name: A}]", "no such record type"),
        ("customer: {name: A}", "expected a mapping of record type"),
        ("customer: [oops]", "expected a mapping of field values"),
        ("customer: [{name: A", "not valid YAML"),
    ],
)
def test_demo_file_errors(crm, tmp_path, text, message):
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    with pytest.raises(DemoError) as info:
        load_demo(crm, "crm", path)
    assert message in str(info.value)
    assert _count(crm, "customer") == 0
