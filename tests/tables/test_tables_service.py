"""Child tables through the records service: read and write with the parent, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tessera.errors import Conflict, ValidationFailed


def _rows(tessera, order_id):
    table = tessera.registry.table("shop", "order__items")
    with tessera.engine.connect() as conn:
        query = sa.select(table).where(table.c.parent_id == order_id).order_by(table.c.row_order)
        return [dict(r) for r in conn.execute(query).mappings()]


def test_create_stores_rows_in_their_table_and_computes_totals(tessera, records, products):
    pen, book = products
    order = records.create(
        "shop",
        "order",
        {"code": "A1", "items": [{"product": pen, "qty": 4, "price": "2.50"},
                                  {"product": book, "qty": 1, "price": "30"}]},
    )  # fmt: skip
    got = records.get("shop", "order", order["id"])
    assert [(r["product"], r["qty"], r["amount"]) for r in got["items"]] == [
        (pen, 4, Decimal("10.00")),
        (book, 1, Decimal("30.00")),
    ]
    assert got["total"] == Decimal("40.00")
    assert got["line_count"] == 2
    assert got["with_tax"] == Decimal("44.00")
    stored = _rows(tessera, order["id"])
    assert [(r["row_order"], r["product"]) for r in stored] == [(0, pen), (1, book)]


def test_update_replaces_rows_in_the_order_given(tessera, records, products):
    pen, book = products
    order = records.create("shop", "order", {"code": "A2", "items": [{"product": pen, "qty": 1}]})
    records.update(
        "shop",
        "order",
        order["id"],
        {
            "items": [
                {"product": book, "qty": 2, "price": 30},
                {"product": pen, "qty": 3, "price": 2},
            ]
        },
    )
    got = records.get("shop", "order", order["id"])
    assert [(r["product"], r["qty"]) for r in got["items"]] == [(book, 2), (pen, 3)]
    assert got["total"] == Decimal("66.00")
    assert len(_rows(tessera, order["id"])) == 2
    records.update("shop", "order", order["id"], {"code": "A2b"})  # rows left alone
    assert records.get("shop", "order", order["id"])["line_count"] == 2


def test_bad_rows_name_row_and_field_and_write_nothing(tessera, records, products):
    pen, _ = products
    order = records.create("shop", "order", {"code": "A3", "items": [{"product": pen, "qty": 1}]})
    with pytest.raises(ValidationFailed) as err:
        records.update(
            "shop",
            "order",
            order["id"],
            {"code": "changed", "items": [{"product": pen, "qty": 2},
                                          {"product": 999, "qty": 0, "colour": "red"}]},
        )  # fmt: skip
    fields = err.value.fields
    assert fields["items[1].product"] == ["no Product with id 999"]
    assert (
        fields["items[1].qty"] == ["must be at least 1"] or "at least" in fields["items[1].qty"][0]
    )
    assert fields["items[1].colour"] == ["unknown field"]
    got = records.get("shop", "order", order["id"])
    assert got["code"] == "A3" and [r["qty"] for r in got["items"]] == [1]
    with pytest.raises(ValidationFailed) as err:
        records.create("shop", "order", {"code": "A4", "items": []})
    assert err.value.fields == {"items": ["required"]}
    with pytest.raises(ValidationFailed) as err:
        records.create("shop", "order", {"code": "A4"})  # min_rows: 1 holds when left out too
    assert err.value.fields == {"items": ["required"]}


def test_deleting_the_record_deletes_its_rows_and_rows_block_deleting_a_product(
    tessera, records, products
):
    pen, _ = products
    order = records.create("shop", "order", {"code": "A5", "items": [{"product": pen, "qty": 1}]})
    with pytest.raises(Conflict, match=r"order records #\d+ link here in their 'items' rows"):
        records.delete("shop", "product", pen)
    records.delete("shop", "order", order["id"])
    assert _rows(tessera, order["id"]) == []
    records.delete("shop", "product", pen)


def test_history_of_the_record_shows_line_changes(records, products):
    pen, book = products
    order = records.create("shop", "order", {"code": "A6", "items": [{"product": pen, "qty": 1}]})
    records.update("shop", "order", order["id"], {"items": [{"product": book, "qty": 5}]})
    history = records.history("shop", "order", order["id"])
    assert history[0]["changes"]["items"] == [
        None,
        [{"product": pen, "qty": 1, "price": None, "amount": None}],
    ]
    old, new = history[1]["changes"]["items"]
    assert old == [{"product": pen, "qty": 1, "price": None, "amount": None}]
    assert new == [{"product": book, "qty": 5, "price": None, "amount": None}]


def test_conditions_on_row_fields_agree_in_python_and_sql(tessera, records, products):
    from datetime import UTC, datetime

    from tessera.query import conditions

    pen, book = products
    app = tessera.registry.apps["shop"]
    rt = app.record_type("order")
    made = [
        records.create("shop", "order", {"code": c, "items": [{"product": p, "qty": q}]})
        for c, p, q in (("P1", pen, 1), ("P2", book, 7), ("P3", pen, 9))
    ]
    cond = {"all": [{"field": "items.product", "op": "eq", "value": pen},
                    {"field": "items.qty", "op": "gte", "value": 5}]}  # fmt: skip
    now = datetime.now(UTC)
    in_python = [
        m["code"]
        for m in made
        if conditions.evaluate(
            cond, records.get("shop", "order", m["id"]), rt, app, me=None, now=now
        )
    ]
    table = tessera.registry.table("shop", "order")
    tables = {k: tessera.registry.table("shop", k) for k in ("order", "order__items", "product")}
    where = conditions.to_sql(cond, rt, app, tables, me=None, now=now)
    with tessera.engine.connect() as conn:
        in_sql = list(conn.scalars(sa.select(table.c.code).where(where).order_by(table.c.code)))
    assert in_python == in_sql == ["P3"]


def test_workflow_condition_items_changed(tessera):
    from datetime import UTC, datetime

    from tessera.query import conditions

    app = tessera.registry.apps["shop"]
    rt = app.record_type("order")
    one = [{"product": 1, "qty": 1}]
    two = [{"product": 1, "qty": 1}, {"product": 2, "qty": 3}]

    def changed(old, new):
        cond = {"field": "items", "op": "changed"}
        now = datetime.now(UTC)
        return conditions.evaluate(cond, {"items": new}, rt, app, me=None, now=now, old=old)

    assert changed({"items": one}, two) and changed({"items": two}, two[::-1])
    assert not changed({"items": two}, [dict(r) for r in two])
