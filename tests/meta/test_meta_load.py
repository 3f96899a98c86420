"""Loading: YAML/JSON parsing, line numbers, duplicate keys, folders and includes."""

from __future__ import annotations

import json

import pytest
from meta_helpers import BASE

from tessera.errors import TemplateError
from tessera.meta import load_app, load_source


def test_malformed_yaml_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: shop\nrecord_types:\n  - key: a\n    fields: [1, 2\n  - key: b\n")
    with pytest.raises(TemplateError) as info:
        load_app(path)
    (problem,) = info.value.problems
    assert problem.source == str(path)
    assert problem.line == 5
    assert "malformed YAML, column" in problem.message
    assert str(path) in str(info.value)


def test_malformed_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "id": "shop",\n  "version": "1.0"\n  "record_types": []\n}\n')
    with pytest.raises(TemplateError) as info:
        load_app(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.source) == (4, str(path))
    assert problem.message.startswith("malformed JSON, column 3")


def test_duplicate_yaml_key_is_an_error_with_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(BASE.replace("    title: name\n", "    title: name\n    title: tier\n"))
    with pytest.raises(TemplateError) as info:
        load_app(path)
    (problem,) = info.value.problems
    assert problem.path == "record_types[0].title"
    assert problem.line == 6
    assert problem.message == 'duplicate key "title" (first at line 5)'


def test_duplicate_keys_in_flow_mappings_and_lists_are_all_reported(tmp_path):
    text = BASE.replace("{key: name, type: text}", "{key: name, type: text, key: nom}")
    text = text.replace("{key: total, type: number}", "{key: total, type: number, type: text}")
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(TemplateError) as info:
        load_app(path)
    assert [(p.path, p.line) for p in info.value.problems] == [
        ("record_types[0].fields[0].key", 7),
        ("record_types[1].fields[1].type", 14),
    ]


def test_duplicate_json_key_is_an_error(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"id": "shop",\n "id": "other", "version": "1", "record_types": []}')
    with pytest.raises(TemplateError) as info:
        load_app(path)
    (problem,) = info.value.problems
    assert 'duplicate key "id"' in problem.message
    assert problem.line == 2


def test_yaml_on_yes_no_and_dates_stay_strings(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("on: schedule\nanswer: yes\nday: 2024-01-31\nflag: true\nother: False\n")
    data, _ = load_source(path)
    assert data == {
        "on": "schedule",
        "answer": "yes",
        "day": "2024-01-31",
        "flag": True,
        "other": False,
    }


def test_source_map_points_at_keys_and_items(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(BASE)
    data, lines = load_source(path)
    assert data["id"] == "shop"
    assert lines["record_types[0].fields[1]"] == (str(path), 8)
    assert lines["record_types[0].fields[1].options[1].value"] == (str(path), 8)
    assert lines["record_types[1].key"] == (str(path), 11)
    assert lines["record_types[1].fields"] == (str(path), 12)


def test_json_template_loads_with_lines(tmp_path):
    data = {
        "id": "notes",
        "version": "1.0",
        "record_types": [{"key": "note", "fields": [{"key": "body", "type": "txet"}]}],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(TemplateError) as info:
        load_app(path)
    (problem,) = info.value.problems
    assert problem.message == 'unknown type "txet"'
    assert problem.hint == 'did you mean "text"?'
    assert problem.line == 10


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(TemplateError, match="no such file or folder"):
        load_app(tmp_path / "nope.yaml")
    with pytest.raises(TemplateError, match="holds no template.yaml"):
        load_app(tmp_path)


def _folder(tmp_path, main: str, **others: str):
    for name, text in {"template.yaml": main, **others}.items():
        (tmp_path / name).write_text(text)
    return tmp_path


INCLUDED = """\
record_types:
  - key: invoice
    fields:
      - {key: order, type: link, to: order}
      - {key: amount, type: currency, currency: CNY, min: 0}
views:
  - {key: invoices, type: table, record_type: invoice, columns: [order, amount]}
"""


def test_folder_with_include_appends_lists(tmp_path):
    folder = _folder(tmp_path, "include: [billing.yaml]\n" + BASE, **{"billing.yaml": INCLUDED})
    app = load_app(folder)
    assert [rt.key for rt in app.record_types] == ["customer", "order", "invoice"]
    assert [v.key for v in app.views] == ["invoices"]
    assert app.source["name"] == str(folder / "template.yaml")


def test_problem_in_included_file_points_at_that_file(tmp_path):
    bad = INCLUDED.replace("columns: [order, amount]", "columns: [order, amont]")
    folder = _folder(tmp_path, "include: [billing.yaml]\n" + BASE, **{"billing.yaml": bad})
    with pytest.raises(TemplateError) as info:
        load_app(folder)
    (problem,) = info.value.problems
    assert problem.path == "views[0].columns[1]"
    assert problem.source == str(folder / "billing.yaml")
    assert problem.line == 7
    assert problem.hint == 'did you mean "amount"?'
    bad = INCLUDED.replace("type: link, to: order", "type: lnk, to: order")
    (folder / "billing.yaml").write_text(bad)
    with pytest.raises(TemplateError) as info:
        load_app(folder)
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("record_types[2].fields[0].type", 4)
    assert problem.source == str(folder / "billing.yaml")


def test_include_of_missing_file_or_foreign_keys(tmp_path):
    folder = _folder(
        tmp_path,
        "include: [nope.yaml, extra.yaml]\n" + BASE,
        **{"extra.yaml": "id: other\nviews: []\n"},
    )
    with pytest.raises(TemplateError) as info:
        load_app(folder)
    first, second = info.value.problems
    assert first.path == "include[0]" and 'included file "nope.yaml" not found' in first.message
    assert second.path == "include[1]" and "cannot contribute: id" in second.message
    assert first.line == 1


def test_malformed_included_file_names_it(tmp_path):
    folder = _folder(tmp_path, "include: [x.yaml]\n" + BASE, **{"x.yaml": "views: [\n"})
    with pytest.raises(TemplateError) as info:
        load_app(folder)
    (problem,) = info.value.problems
    assert problem.source == str(folder / "x.yaml")
    assert "malformed YAML" in problem.message
