"""The template language's second edition end to end (issue 11's "done when").

One real-world-shaped template — order lines as a child table, polymorphic notes, a
yearly naming series, read-only SLA timestamps — installs, loads records, is customised
locally (as the builder does), then takes the author's next release by three-way merge
with every value kept. The line-item grid itself is driven in a browser by
tests/browser/test_tables_journey.py.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
import yaml

from tessera.errors import ValidationFailed
from tessera.merge import service
from tessera.meta import app_from_data
from tessera.records.actor import Actor
from tessera.storage import installer

TEMPLATE = """
id: field_sales
version: 1.0.0
label: {en: Field sales, zh-CN: 外勤销售}
record_types:
  - key: product
    title: name
    fields:
      - {key: name, type: text, required: true}
  - key: lead
    title: name
    fields:
      - {key: number, type: auto_number, format: "LEAD-{YYYY}-{####}"}
      - {key: name, type: text, required: true}
  - key: ticket
    title: subject
    fields:
      - {key: subject, type: text, required: true}
      - {key: opened_at, type: datetime, read_only: true, required: true, default: now}
      - {key: sla_due, type: datetime, read_only: true}
  - key: order
    title: number
    fields:
      - {key: number, type: auto_number, format: "ORD-{YYYY}-{#####}"}
      - {key: buyer, type: text, label: {en: Buyer, zh-CN: 买方}}
      - key: items
        type: table
        label: {en: Lines, zh-CN: 明细}
        min_rows: 1
        fields:
          - {key: product, type: link, to: product, required: true}
          - {key: qty, type: number, required: true, min: 1}
          - {key: price, type: currency, currency: CNY}
          - {key: amount, type: formula, formula: "qty * price", result: currency}
      - {key: total, type: rollup, table: items, field: amount, aggregate: sum}
  - key: note
    fields:
      - {key: body, type: text, required: true}
      - {key: regarding, type: link, to: [lead, order, ticket], on_delete: cascade}
"""


def _data() -> dict:
    return yaml.safe_load(TEMPLATE)


def _rt(data: dict, key: str) -> dict:
    return next(r for r in data["record_types"] if r["key"] == key)


def _field(data: dict, rt: str, key: str) -> dict:
    return next(f for f in _rt(data, rt)["fields"] if f["key"] == key)


@pytest.fixture
def t(flask_app):
    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(_data()), TEMPLATE)
    t.registry.reload()
    return t


def _load(t) -> dict:
    r = t.records
    pen = r.create("field_sales", "product", {"name": "Pen"})
    ink = r.create("field_sales", "product", {"name": "Ink"})
    lines = [
        {"product": pen["id"], "qty": 3, "price": "2.50"},
        {"product": ink["id"], "qty": 1, "price": "10"},
    ]
    order = r.create("field_sales", "order", {"buyer": "王芳", "items": lines})
    lead = r.create("field_sales", "lead", {"name": "Acme"})
    ticket = r.create("field_sales", "ticket", {"subject": "Broken pen"})
    note = r.create(
        "field_sales", "note", {"body": "called", "regarding": {"type": "order", "id": order["id"]}}
    )
    return {"order": order, "lead": lead, "ticket": ticket, "note": note}


def test_installs_loads_and_keeps_every_value_through_a_merged_upgrade(t):
    year = dt.datetime.now(dt.UTC).year
    made = _load(t)
    order = t.records.get("field_sales", "order", made["order"]["id"])
    assert order["number"] == f"ORD-{year}-00001"
    assert Decimal(str(order["total"])) == Decimal("17.50")
    assert [row["qty"] for row in order["items"]] == [3, 1]
    assert t.records.get("field_sales", "lead", made["lead"]["id"])["number"] == f"LEAD-{year}-0001"
    assert t.records.get("field_sales", "ticket", made["ticket"]["id"])["opened_at"] is not None
    about_orders = {"field": "regarding", "op": "eq", "value": {"type": "order"}}
    notes = t.queries.list("field_sales", "note", filter=about_orders).rows
    assert [n["body"] for n in notes] == ["called"]
    # a bad line writes nothing: the error names the row and the cell
    with pytest.raises(ValidationFailed) as info:
        t.records.create("field_sales", "order", {"items": [{"qty": 0}]})
    assert any(k.startswith("items[0].") for k in info.value.fields)

    # the admin customises the installed app (as the builder does)...
    mine = _data()
    mine["version"] = "1.0.1"
    _field(mine, "order", "buyer")["label"] = {"en": "Customer", "zh-CN": "客户"}
    _rt(mine, "note")["fields"].append({"key": "pinned", "type": "boolean"})
    installer.upgrade(t.engine, app_from_data(mine), None, local_edit=True)
    # ...and the author ships 1.1.0: a discount on lines, a priority on tickets
    theirs = _data()
    theirs["version"] = "1.1.0"
    _field(theirs, "order", "items")["fields"].append({"key": "discount", "type": "number"})
    _rt(theirs, "ticket")["fields"].append(
        {"key": "priority", "type": "select", "default": "normal",
         "options": [{"value": "normal"}, {"value": "urgent"}]}
    )  # fmt: skip
    out = service.merge_upgrade(t.engine, app_from_data(copy.deepcopy(theirs)))
    assert out.conflicts == [] and out.applied, (out.problems, out.error)
    t.registry.reload()

    merged = installer.export(t.engine, "field_sales")
    assert merged["version"] == "1.1.0"
    assert _field(merged, "order", "buyer")["label"]["en"] == "Customer"  # local kept
    assert "pinned" in [f["key"] for f in _rt(merged, "note")["fields"]]  # local kept
    row_keys = [f["key"] for f in _field(merged, "order", "items")["fields"]]
    assert "discount" in row_keys  # theirs applied
    order = t.records.get("field_sales", "order", made["order"]["id"])
    assert Decimal(str(order["total"])) == Decimal("17.50")
    assert [(row["qty"], row.get("discount")) for row in order["items"]] == [(3, None), (1, None)]
    ticket = t.records.get("field_sales", "ticket", made["ticket"]["id"])
    assert ticket["priority"] == "normal"  # a new field's default fills existing rows
    assert t.records.get("field_sales", "note", made["note"]["id"])["regarding"]
    # numbering goes on after the upgrade; the merged result exports as YAML that loads
    again = t.records.create("field_sales", "lead", {"name": "Beta"})
    assert again["number"] == f"LEAD-{year}-0002"
    assert app_from_data(yaml.safe_load(out.yaml)).version == "1.1.0"


def test_people_cannot_write_the_read_only_sla_but_workflows_can(t):
    person = Actor(user_id=None, kind="user")
    with pytest.raises(ValidationFailed) as info:
        t.records.create(
            "field_sales", "ticket", {"subject": "x", "sla_due": "2026-12-01T10:00:00Z"}, person
        )
    assert "sla_due" in info.value.fields
    robot = Actor(kind="workflow", ref="run:1")
    made = t.records.create(
        "field_sales", "ticket", {"subject": "y", "sla_due": "2026-12-01T10:00:00Z"}, robot
    )
    assert made["sla_due"] is not None
