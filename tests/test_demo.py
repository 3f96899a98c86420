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
    offered = runner.invoke(args=["demo", "--offer"])  # not a terminal: a hint, no data
    assert offered.exit_code == 0 and "the database is empty" in offered.output
    assert _count(crm, "customer") == 0
    result = runner.invoke(args=["demo", "--scale", "0.05"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "21 customer" in result.output  # 5 listed + 16 generated (320 at scale 0.05)
    assert _count(crm, "customer") == 21 and _count(crm, "product") == 12
    assert _count(crm, "lead") == 30 and _count(crm, "sales_target") == 24
    opp = crm.queries.list(
        "crm",
        "opportunity",
        filter={"field": "customer.name", "op": "eq", "value": "Acme Trading Co."},
    ).rows
    assert [o["name"] for o in opp] == ["Acme 2027 supply contract"]
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 1 and "--force" in again.stderr
    assert runner.invoke(args=["demo", "--offer"]).output == ""  # has records: not offered
    assert _count(crm, "customer") == 21


GENERATED = """
_generate:
  seed: 7
  lists: {n: [Ann, Bob, 陈]}
  steps:
    - record_type: customer
      count: 4
      ref: "c{{ i }}"
      created: "-{{ 10 * i }}d"
      values: {name: "{{ rand.choice(lists.n) }} {{ i }}", email: "c{{ i }}@x.example"}
    - record_type: opportunity
      for_each: customer
      count: 2
      values: {customer: "@{{ parent._ref }}", name: "D{{ i }}", amount: "{{ 100 * (i + 1) }}"}
    - update: customer
      values:
        total_spent: "{{ children('opportunity', 'customer') | sum(attribute='amount') }}"
"""


def test_generated_demo_is_deterministic_and_consistent(crm, tmp_path):
    """The same seed gives the same records; computed totals match their children."""
    from tessera.demo import load_demo

    path = tmp_path / "demo.yaml"
    path.write_text(GENERATED)
    counts = load_demo(crm, "crm", path, scale=0.5)
    assert counts == {"customer": 2, "opportunity": 4}
    rows = sorted(crm.queries.list("crm", "customer").rows, key=lambda r: r["email"])
    assert [r["email"] for r in rows] == ["c0@x.example", "c1@x.example"]
    assert [str(r["total_spent"]) for r in rows] == ["300.00", "700.00"]
    ages = [(rows[0]["created_at"] - r["created_at"]).days for r in rows]
    assert ages == [0, 10]  # created_at backdated by the step's "created"
    first = [r["name"] for r in rows]
    for rt in ("opportunity", "customer"):
        for r in crm.queries.list("crm", rt, limit=50).rows:
            crm.records.delete("crm", rt, r["id"])
    load_demo(crm, "crm", path, scale=0.5)
    again = sorted(crm.queries.list("crm", "customer").rows, key=lambda r: r["email"])
    assert [r["name"] for r in again] == first


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
        ("_generate: {steps: [{record_type: nope}]}", "has no record type 'nope'"),
        (
            "_generate: {steps: [{record_type: customer, values: {name: '{{ x.y }}'}}]}",
            "steps[0].values.name",
        ),
        (
            "_generate: {steps: [{record_type: customer, values: {name: A, email: bad}}]}",
            "steps[0]: customer: rows[0].email: not a valid e-mail address",
        ),
    ],
)
def test_demo_file_errors(crm, tmp_path, text, message):
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    with pytest.raises(DemoError) as info:
        load_demo(crm, "crm", path)
    assert message in str(info.value)
    assert _count(crm, "customer") == 0
