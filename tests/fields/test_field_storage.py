"""Each stored type's column really holds its values (SQLite and, when set, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from field_helpers import make_field

from tessera import db, fields

SHA = "ab" * 32
CASES = [
    ("text", {"max_length": 50}, "Ada 李"),
    ("long_text", {}, "line 1\nline 2"),
    ("email", {}, "ada@example.com"),
    ("phone", {}, "+86 138 0013 8000"),
    ("url", {}, "https://example.com"),
    ("number", {}, 2**40),
    ("number", {"scale": 3, "precision": 12}, "12345.678"),
    ("currency", {"currency": "CNY"}, "1234567.89"),
    ("percent", {}, "12.5"),
    ("rating", {}, 4),
    ("boolean", {}, False),
    ("date", {}, "2026-11-25"),
    ("datetime", {}, "2026-11-25T17:30+08:00"),
    ("select", {"options": [{"value": "high"}]}, "high"),
    ("multi_select", {"options": [{"value": "a"}, {"value": "b"}]}, ["b", "a"]),
    ("link", {"to": "x"}, 42),
    ("user", {}, 7),
    (
        "attachment",
        {"multiple": True},
        [{"name": "a.pdf", "size": 1, "content_type": "x/y", "path": f"ab/{SHA}", "sha256": SHA}],
    ),
    ("auto_number", {"prefix": "CUS-"}, "CUS-000001"),
    ("formula", {"formula": "1", "result": "date"}, dt.date(2026, 1, 1)),
    ("rollup", {"aggregate": "sum"}, Decimal("10.50")),
    ("rollup", {"aggregate": "count"}, 3),
]


def test_values_round_trip_through_real_columns(database_url):
    engine = db.create_engine(database_url)
    md = sa.MetaData()
    table = sa.Table(
        f"t_fields_{uuid.uuid4().hex[:8]}", md, sa.Column("id", sa.Integer, primary_key=True)
    )
    row, specs = {}, []
    for i, (name, options, raw) in enumerate(CASES):
        field = make_field(name, key=f"c{i}", **options)
        ft = fields.get(name)
        table.append_column(sa.Column(field.key, ft.column_type(field)))
        row[field.key] = ft.coerce(field, raw)
        specs.append((ft, field))
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert().values(id=1, **row))
            back = conn.execute(sa.select(table)).mappings().one()
        for ft, field in specs:
            # reading back through coerce normalises driver quirks (SQLite: naive UTC)
            assert ft.coerce(field, back[field.key]) == row[field.key], field.type
            assert ft.to_json(field, back[field.key]) == ft.to_json(field, row[field.key])
    finally:
        md.drop_all(engine)
        engine.dispose()


@pytest.mark.parametrize("name", ["currency", "number"])
def test_decimal_columns_keep_cents(database_url, name):
    engine = db.create_engine(database_url)
    md = sa.MetaData()
    field = make_field(name, key="amount", scale=2)
    col = fields.get(name).column_type(field)
    table = sa.Table(f"t_cents_{uuid.uuid4().hex[:8]}", md, sa.Column("amount", col))
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"amount": Decimal("0.10")}, {"amount": Decimal("0.20")}])
            total = conn.execute(sa.select(sa.func.sum(table.c.amount))).scalar_one()
        assert Decimal(str(total)).quantize(Decimal("0.01")) == Decimal("0.30")
    finally:
        md.drop_all(engine)
        engine.dispose()
