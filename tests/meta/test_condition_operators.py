"""The validator checks every condition's operator against its field's type (path, line, hint)."""

from __future__ import annotations

import pytest
import yaml
from meta_helpers import BASE

from tessera.meta import app_from_data, load_app

NUMBER_OPS = "eq, ne, lt, lte, gt, gte, in, not_in, is_empty, is_not_empty, between"


def plus(section: str, *items: str) -> str:
    """BASE plus a section; its first item is on line 16."""
    return BASE + f"{section}:\n" + "".join(f"  - {item}\n" for item in items)


TEXT_OPS = "eq, ne, in, not_in, contains, not_contains, starts_with, is_empty, is_not_empty"
DATETIME_OPS = f"{NUMBER_OPS}, within_last_days, within_next_days, before_today, after_today"


def view(cond: str) -> str:
    """BASE plus one table view of orders filtered by ``cond``."""
    return plus("views", f"{{key: v, type: table, record_type: order, filter: {cond}}}")


CASES = [
    (
        "view-filter-contains-on-number",
        view("{field: total, op: contains, value: 3}"),
        "views[0].filter.op",
        f'op "contains" does not apply to number field "total" — use one of: {NUMBER_OPS}',
    ),
    (
        "nested-filter-through-link",
        view("{all: [{field: customer.tier, op: gt, value: high}]}"),
        "views[0].filter.all[0].op",
        'op "gt" does not apply to select field "tier" — '
        "use one of: eq, ne, in, not_in, is_empty, is_not_empty",
    ),
    (
        "form-visible-when-days-on-text",
        plus(
            "forms",
            "{key: f, record_type: customer, sections: [{fields: [name, since]}], "
            "visible_when: {since: {field: name, op: within_last_days, value: 3}}}",
        ),
        "forms[0].visible_when.since.op",
        f'op "within_last_days" does not apply to text field "name" — use one of: {TEXT_OPS}',
    ),
    (
        "workflow-when-lists-change-ops",
        plus(
            "workflows",
            "{key: w, record_type: order, trigger: {on: record.updated}, "
            "when: {field: total, op: starts_with, value: '1'}, "
            "actions: [{do: notify, to: admin, message: x}]}",
        ),
        "workflows[0].when.op",
        f'op "starts_with" does not apply to number field "total" — use one of: {NUMBER_OPS}, '
        "changed, changed_to, changed_from",
    ),
    (
        "system-column",
        view("{field: created_at, op: contains, value: x}"),
        "views[0].filter.op",
        f'op "contains" does not apply to datetime field "created_at" — use one of: {DATETIME_OPS}',
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_operator_checked_against_field_type(one, text, path, message):
    problem = one(text)
    assert problem.path == path
    assert f"{problem.message} — {problem.hint}" == message
    assert problem.line == 16


def test_change_ops_outside_workflows_are_refused_and_never_suggested(problems):
    text = view("{field: total, op: changed_to, value: 3}")
    found = problems(text)
    assert [p.path for p in found] == ["views[0].filter.op"]
    assert "only allowed in a workflow" in found[0].message


def test_runtime_hint_omits_workflow_only_ops():
    from tessera.query import conditions

    app = app_from_data(yaml.safe_load(BASE))
    rt = app.record_type("order")
    [problem] = conditions.check({"field": "total", "op": "contains", "value": 1}, rt, app)
    assert "changed" not in problem.hint and "between" in problem.hint
    [wf] = conditions.check(
        {"field": "total", "op": "contains", "value": 1}, rt, app, allow_changes=True
    )
    assert wf.hint.endswith("changed, changed_to, changed_from")


def test_fitting_operators_pass(tmp_path):
    text = view(
        "{all: [{field: total, op: gt, value: 3}, {field: customer.tier, op: in, value: [high]},"
        " {field: customer.name, op: contains, value: a}]}"
    )
    path = tmp_path / "ok.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_app(path).views[0].key == "v"


def test_option_renamed_from_naming_a_kept_option(one):
    text = BASE.replace(
        "options: [{value: high}, {value: low}]",
        "options: [{value: high}, {value: low, renamed_from: high}]",
    )
    problem = one(text)
    assert problem.path == "record_types[0].fields[1].options[1].renamed_from"
    assert problem.message == 'renamed_from "high" is still an option of this field'
    assert problem.line == 8
