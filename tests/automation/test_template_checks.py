"""Workflow actions are checked when a template loads: path, line and a hint."""

from __future__ import annotations

import pytest

from tessera.automation import checks  # noqa: F401  (registers the template check)
from tessera.errors import TemplateError
from tessera.meta import load_app

BAD = """id: wf
version: 1.0.0
label: WF
record_types:
  - key: thing
    fields:
      - {key: name, type: text}
workflows:
  - key: w
    record_type: thing
    trigger: {on: record.created}
    actions:
      - {do: notfy, to: "x", message: "hi"}
      - {do: update_record, values: {nmae: 1}}
"""


def test_bad_actions_are_template_errors_with_lines(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(BAD)
    with pytest.raises(TemplateError) as info:
        load_app(path)
    found = {(p.path, p.line) for p in info.value.problems}
    assert found == {
        ("workflows[0].actions[0].do", 13),
        ("workflows[0].actions[1].values.nmae", 14),
    }
    assert 'did you mean "notify"' in str(info.value)


def test_installed_apps_load_without_the_later_checks(tmp_path):
    from tessera.meta import app_from_data, load_source

    path = tmp_path / "wf.yaml"
    path.write_text(BAD)
    data, _lines = load_source(path)
    app = app_from_data(data, app_checks=False)
    assert app.workflows[0].actions[0]["do"] == "notfy"


COUNTERS = """id: wf
version: 1.0.0
label: WF
record_types:
  - key: thing
    fields:
      - {key: name, type: text}
      - {key: hits, type: number}
workflows:
  - key: w
    record_type: thing
    trigger: {on: record.created}
    actions:
      - {do: increment, field: hits}
      - {do: decrement, fields: {hits: 2}}
      - {do: increment, field: name}
      - {do: increment, field: hits, fields: {hits: 1}}
"""


def test_increment_names_number_fields_and_one_form(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(COUNTERS)
    with pytest.raises(TemplateError) as info:  # the schema: field or fields, not both
        load_app(path)
    assert {p.path for p in info.value.problems} == {"workflows[0].actions[3]"}
    path.write_text(COUNTERS.rsplit("\n      - {do: increment, field: hits, fields", 1)[0] + "\n")
    with pytest.raises(TemplateError) as info:  # the action's check: a number field
        load_app(path)
    assert {p.path for p in info.value.problems} == {"workflows[0].actions[2].field"}
    assert 'no number field "name"' in str(info.value)
