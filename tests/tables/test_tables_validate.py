"""Validator errors for bad child table declarations: path, file:line and hint."""

from __future__ import annotations

import pytest

from tessera.errors import TemplateError
from tessera.meta import load_app

BAD = """\
id: shop
version: 1.0.0
record_types:
  - key: product
    fields:
      - {key: name, type: text}
  - key: order
    fields:
      - {key: code, type: text}
      - key: items
        type: table
        min_rows: 5
        max_rows: 2
        fields:
          - {key: sub, type: table, fields: [{key: x, type: text}]}
          - {key: tags, type: link_many, to: product}
          - {key: parent_id, type: text}
          - {key: product, type: link, to: prodcut, on_delete: cascade}
          - {key: amount, type: formula, formula: "qty * 2"}
          - {key: mail, type: emial}
          - {key: qty, type: number}
          - {key: qty, type: number}
      - {key: total, type: rollup, table: itemz, aggregate: count}
      - {key: sum_mail, type: rollup, table: items, field: mail, aggregate: sum}
      - {key: both, type: rollup, table: items, from: product, via: name, aggregate: count}
      - {key: f, type: formula, formula: "items.qty * 2"}
  - key: order__items
    fields:
      - {key: x, type: text}
views:
  - {key: v1, type: table, record_type: order, filter: {field: items.qtyy, op: gt, value: 0}}
  - {key: v2, type: table, record_type: order, columns: [items.qty]}
"""


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(TemplateError) as info:
        load_app(path)
    return {p.path: p for p in info.value.problems}


def _one(problems, path):
    assert path in problems, sorted(problems)
    return problems[path]


def test_nested_tables_are_refused_with_a_hint(problems):
    p = _one(problems, "record_types[1].fields[1].fields[0].type")
    assert "no nested tables" in p.message
    assert p.line == 15 and p.source.endswith("bad.yaml")
    assert "record type of their own" in p.hint


def test_row_field_types_keys_and_links(problems):
    assert (
        "cannot hold a link_many"
        in _one(problems, "record_types[1].fields[1].fields[1].type").message
    )
    assert (
        "reserved row field name"
        in _one(problems, "record_types[1].fields[1].fields[2].key").message
    )
    assert "restrict" in _one(problems, "record_types[1].fields[1].fields[3].on_delete").message
    to = _one(problems, "record_types[1].fields[1].fields[3].to")
    assert to.hint == 'did you mean "product"?'
    unknown = _one(problems, "record_types[1].fields[1].fields[5].type")
    assert "emial" in unknown.message and unknown.line == 20
    assert (
        "duplicate row field" in _one(problems, "record_types[1].fields[1].fields[7].key").message
    )
    assert "min_rows (5)" in _one(problems, "record_types[1].fields[1].min_rows").message


def test_rollups_over_tables(problems):
    assert _one(problems, "record_types[1].fields[2].table").hint == 'did you mean "items"?'
    assert "cannot sum" in _one(problems, "record_types[1].fields[3].field").message
    assert "either table, or from and via" in _one(problems, "record_types[1].fields[4]").message


def test_rows_are_only_reached_from_conditions(problems):
    formula = _one(problems, "record_types[1].fields[5].formula")
    assert '"items" is a table' in formula.message and "rollup" in formula.hint
    assert "qtyy" in _one(problems, "views[0].filter.field").message
    assert '"items" is a table' in _one(problems, "views[1].columns[0]").message


def test_rows_table_may_not_clash_with_a_record_type(problems):
    assert "order__items" in _one(problems, "record_types[1].fields[1].key").message
