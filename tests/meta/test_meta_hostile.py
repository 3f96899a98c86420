"""Hostile template files: alias bombs and deep nesting give a clear template error, fast."""

from __future__ import annotations

import json
import time

import pytest

from tessera.errors import TemplateError
from tessera.meta import load_app

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _deep_filter(depth: int) -> dict:
    cond = {"field": "n", "op": "eq", "value": "x"}
    for _ in range(depth):
        cond = {"not": cond}
    return {
        "id": "deep",
        "version": "1.0.0",
        "record_types": [{"key": "a", "fields": [{"key": "n", "type": "text"}]}],
        "views": [{"key": "v", "type": "table", "record_type": "a", "filter": cond}],
    }


@pytest.mark.parametrize(
    "name, text, problem",
    [
        ("laughs.yaml", LAUGHS, "expands to more than"),
        ("deep.yaml", "id: x\nrecord_types: " + "[" * 600 + "]" * 600, "levels deep"),
        ("deep.json", None, "levels deep"),
        ("deep_filter.yaml", None, "levels deep"),
        ("self.yaml", "a: &a [*a]\n", "alias"),
    ],
)
def test_hostile_templates_are_clear_errors(tmp_path, name, text, problem, runner):
    if text is None:
        data = _deep_filter(600)
        text = json.dumps(data) if name.endswith(".json") else _yaml_flow(data)
    path = tmp_path / name
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(TemplateError, match=problem):
        load_app(path)
    result = runner.invoke(args=["template", "validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert time.perf_counter() - started < 10


def _yaml_flow(data) -> str:
    return json.dumps(data)  # JSON is YAML; a .yaml name goes through the YAML loader


def test_a_filter_nested_40_deep_names_the_condition_limit(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_deep_filter(40)))
    with pytest.raises(TemplateError, match="at most 32 levels deep"):
        load_app(path)
