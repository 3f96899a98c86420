"""Workflow texts cannot freeze or exhaust the process; webhook triggers need a secret."""

from __future__ import annotations

import time

import pytest
from automation_helpers import DESK

from tessera.automation import checks  # noqa: F401  (registers the workflow checks)
from tessera.automation.render import RenderError, render_text, render_value, template_problem
from tessera.errors import TemplateError
from tessera.meta import app_from_data

HOSTILE = [
    "{{ 9**(9**8) }}",
    "{{ range(10**9) }}",
    "{{ 'x' * 10**9 }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ 'x'|center(10**9) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ ('a' * 9999)|replace('a', 'b' * 9999) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for a in range(9000) %}{% for b in range(9000) %}xx{% endfor %}{% endfor %}",
    "{{ namespace(a=1) }}",
    "{% set a = 'x' * 100000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c|length }}",
    "{% set a = 'x' * 90000 %}{{ ([a] * 1000)|join }}",
    "{{ ([1] * 10**6)|length }}",
    "{{ 1 + 'a' }}",
    "{{ " + "(" * 600 + "1" + ")" * 600 + " }}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_texts_fail_fast_as_render_errors(text):
    started = time.perf_counter()
    with pytest.raises(RenderError):
        render_text(text, {})
    with pytest.raises(RenderError):
        render_value(text, {})
    assert time.perf_counter() - started < 5  # generous: each takes milliseconds


def test_ordinary_arithmetic_and_filters_still_work():
    text = "{{ 2**10 }} {{ 3 * 4 }} {{ 'ab' * 2 }} {{ '%5.1f' % 2.5 }} {{ 'a' + 'b' }} "
    text += "{{ '%s!'|format('hi') }} {{ 'ab'|replace('a', 'c') }} {{ 'x'|center(3) }}"
    text += " {{ 'a' ~ 1 ~ none }} {{ [1, 2]|join(',') }}"
    assert render_text(text, {}) == "1024 12 abab   2.5 ab hi! cb  x  a1None 1,2"
    assert render_value("{{ 2**10 }}", {}) == 1024


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{{ 9**(9**8) }}", "constant expression is too large"),
        ("{{ 'a' * 10**8 }}", "constant expression is too large"),
        ("{{ " + "(" * 600 + "1" + ")" * 600 + " }}", "nested"),
        ("{% for a in x %}{% for b in x %}{% for c in x %}{% for d in x %}"
         "{% endfor %}{% endfor %}{% endfor %}{% endfor %}", "loops nest"),
    ],
)  # fmt: skip
def test_validation_refuses_huge_constants_deep_nesting_and_deep_loops(text, problem):
    assert problem in template_problem(text)
    workflow = {
        "key": "w",
        "record_type": "customer",
        "trigger": {"on": "record.created"},
        "actions": [{"do": "notify", "to": "{{ record.owner }}", "message": text}],
    }
    with pytest.raises(TemplateError, match=problem):
        app_from_data({**DESK, "workflows": [workflow]})


def test_webhook_trigger_needs_a_secret():
    def hook(trigger):
        wf = {
            "key": "h",
            "trigger": trigger,
            "actions": [{"do": "notify", "to": 1, "message": "x"}],
        }
        return {**DESK, "workflows": [wf]}

    with pytest.raises(TemplateError, match="secret"):
        app_from_data(hook({"on": "webhook"}))
    with pytest.raises(TemplateError, match="secret"):
        app_from_data(hook({"on": "webhook", "secret": "short"}))
