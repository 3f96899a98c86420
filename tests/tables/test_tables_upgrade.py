"""Upgrades of child tables with rows present: add/remove row fields, add/rename/remove tables."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from tables_helpers import shop_data

from tessera.meta import app_from_data
from tessera.storage import installer


def _upgrade(tessera, data):
    plan = installer.upgrade(tessera.engine, app_from_data(data), "text", None)
    tessera.registry.reload()
    return plan.describe()


def _items(data):
    return next(f for f in data["record_types"][1]["fields"] if f["key"] == "items")


def _columns(tessera, table):
    return {c["name"] for c in sa.inspect(tessera.engine).get_columns(table)}


def test_adding_and_removing_a_row_field_keeps_the_rows(tessera, records, products):
    pen, book = products
    rows = [{"product": pen, "qty": 2, "price": "2.50"}, {"product": book, "qty": 1}]
    oid = records.create("shop", "order", {"code": "U1", "items": rows})["id"]
    data = shop_data("1.1.0")
    _items(data)["fields"].append({"key": "note", "type": "text"})
    steps = _upgrade(tessera, data)
    assert "add field order__items.note (text)" in steps
    got = records.get("shop", "order", oid)
    assert [(r["product"], r["qty"], r["note"]) for r in got["items"]] == [
        (pen, 2, None),
        (book, 1, None),
    ]
    records.update("shop", "order", oid, {"items": [{"product": pen, "qty": 3, "note": "gift"}]})
    assert records.get("shop", "order", oid)["items"][0]["note"] == "gift"

    data = shop_data("1.2.0")  # note removed again: its column is archived, not dropped
    steps = _upgrade(tessera, data)
    assert any(s.startswith("archive field order__items.note") for s in steps)
    assert "note" not in records.get("shop", "order", oid)["items"][0]
    assert any(c.startswith("_archived_note") for c in _columns(tessera, "rt_shop_order__items"))
    assert records.get("shop", "order", oid)["total"] == Decimal("0")  # qty 3 x no price


def test_renaming_and_removing_a_table_field_keeps_its_rows(tessera, records, products):
    pen, _ = products
    oid = records.create("shop", "order", {"code": "U2", "items": [{"product": pen, "qty": 4}]})[
        "id"
    ]
    data = shop_data("1.1.0")
    _items(data).update(key="lines", renamed_from="items")
    for f in data["record_types"][1]["fields"]:
        if f.get("table") == "items":
            f["table"] = "lines"
    steps = _upgrade(tessera, data)
    assert "rename table rt_shop_order__items -> rt_shop_order__lines" in steps
    assert records.get("shop", "order", oid)["lines"][0]["qty"] == 4

    data = shop_data("1.2.0")
    fields = data["record_types"][1]["fields"]
    fields[:] = [f for f in fields if f["key"] != "items" and "table" not in f]
    fields[:] = [f for f in fields if f["key"] != "with_tax"]
    data["views"][0]["columns"] = ["code"]
    steps = _upgrade(tessera, data)
    assert "archive table rt_shop_order__items as _archived_rt_shop_order__items_1_2_0" not in steps
    assert any(s.startswith("archive table rt_shop_order__lines") for s in steps)
    assert "lines" not in records.get("shop", "order", oid)
    with tessera.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT qty FROM _archived_rt_shop_order__lines_1_2_0"))
        assert kept.scalars().all() == [4]


def test_adding_a_table_field_to_a_type_with_records(tessera, records):
    pid = records.create("shop", "product", {"name": "pen"})["id"]
    data = shop_data("1.1.0")
    data["record_types"][0]["fields"].append(
        {"key": "barcodes", "type": "table", "fields": [{"key": "code", "type": "text"}]}
    )
    steps = _upgrade(tessera, data)
    assert "create table rt_shop_product__barcodes" in steps
    assert records.get("shop", "product", pid)["barcodes"] == []
    records.update("shop", "product", pid, {"barcodes": [{"code": "690123"}, {"code": "690124"}]})
    got = records.get("shop", "product", pid)["barcodes"]
    assert got == [{"code": "690123"}, {"code": "690124"}]
