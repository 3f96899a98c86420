"""Validation rules of charts, dashboards, the home dashboard and record summaries."""

from __future__ import annotations

import pytest
from meta_helpers import BASE


def plus(*items: str, home: str | None = None) -> str:
    """BASE plus a views section (its first item on line 16) and an optional home."""
    text = BASE + "views:\n" + "".join(f"  - {item}\n" for item in items)
    return text + (f"home: {home}\n" if home else "")


BY_TIER = "{key: by_tier, type: chart, record_type: customer, chart_type: bar, x: tier}"
DASH = "{key: dashboard, type: dashboard, widgets: [{view: by_tier}]}"
KPI = "{key: v, type: chart, record_type: customer, chart_type: kpi"

# (id, template text, path, message — hint, line)
CASES = [
    (
        "widget-unknown-view",
        plus(BY_TIER, "{key: d, type: dashboard, widgets: [{view: by_tierr, width: 6}]}"),
        "views[1].widgets[0].view",
        'unknown view "by_tierr" — did you mean "by_tier"?',
        17,
    ),
    (
        "widget-is-a-dashboard",
        plus("{key: d, type: dashboard, widgets: [{view: d}]}"),
        "views[0].widgets[0].view",
        '"d" is a dashboard: a dashboard shows chart, table, kanban, calendar views',
        16,
    ),
    (
        "bucket-on-a-non-date",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: line, x: tier, bucket: month}"
        ),
        "views[0].bucket",
        'bucket needs a date or datetime x; "tier" is a select — remove bucket, or group by '
        "a date field",
        16,
    ),
    (
        "bucket-unknown",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: line, x: since, "
            "bucket: fortnight}"
        ),
        "views[0].bucket",
        'unknown bucket "fortnight" — expected one of: day, week, month, quarter, year',
        16,
    ),
    (
        "chart-type-unknown",
        plus("{key: v, type: chart, record_type: order, chart_type: radar, x: total}"),
        "views[0].chart_type",
        'unknown chart_type "radar" — expected one of: bar, stacked_bar, line, pie, donut, '
        "funnel, kpi, table",
        16,
    ),
    (
        "chart-needs-x",
        plus("{key: v, type: chart, record_type: customer, chart_type: funnel}"),
        "views[0]",
        "a funnel chart needs x: the field whose values it groups by",
        16,
    ),
    (
        "chart-x-follows-a-link",
        plus("{key: v, type: chart, record_type: order, chart_type: bar, x: customer.tier}"),
        "views[0].x",
        'charts group by a field of order itself, not a linked one ("customer.tier") — add '
        "a lookup field to the record type and group by it",
        16,
    ),
    (
        "kpi-without-a-measure",
        plus(KPI + "}"),
        "views[0]",
        "a kpi needs a measure: aggregate (count, or sum/avg/min/max with a value) — add "
        "aggregate: count",
        16,
    ),
    (
        "kpi-sum-without-a-value",
        plus(KPI + ", aggregate: sum}"),
        "views[0]",
        'a chart with aggregate "sum" needs a value field',
        16,
    ),
    (
        "kpi-with-x",
        plus(KPI + ", aggregate: count, x: tier}"),
        "views[0].x",
        "a kpi shows one number: it has no x — remove x and bucket",
        16,
    ),
    (
        "series-on-a-pie",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: pie, x: tier, "
            "group_by: since}"
        ),
        "views[0].group_by",
        "a pie chart has no series: group_by is drawn only by bar, stacked_bar, line, table "
        "— remove group_by, or use stacked_bar",
        16,
    ),
    (
        "compare-needs-a-relative-date",
        plus(
            KPI + ", aggregate: sum, value: spent, compare: previous_period, "
            "filter: {field: since, op: gte, value: '2026-01-01'}}"
        ),
        "views[0].compare",
        "compare: previous_period needs a relative date in the filter to know the period — "
        "e.g. {field: closed_on, op: gte, value: start_of_month}",
        16,
    ),
    (
        "compare-only-on-kpi",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: bar, x: tier, "
            "compare: previous_period}"
        ),
        "views[0].compare",
        "compare is for kpi charts, not bar",
        16,
    ),
    (
        "ratio-of-an-average",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: bar, x: tier, "
            "aggregate: avg, value: spent, ratio: {field: since, op: is_not_empty}}"
        ),
        "views[0].ratio",
        'a ratio is a share of a count or a sum, not of "avg" — use aggregate: count or sum',
        16,
    ),
    (
        "ratio-condition-field",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: kpi, aggregate: count, "
            "ratio: {field: teir, op: eq, value: high}}"
        ),
        "views[0].ratio.field",
        'unknown field "teir" on customer — did you mean "tier"?',
        16,
    ),
    (
        "limit-with-bucket",
        plus(
            "{key: v, type: chart, record_type: customer, chart_type: bar, x: since, "
            "bucket: month, limit: 5}"
        ),
        "views[0].limit",
        "limit keeps the largest categories, but a bucketed x keeps every period",
        16,
    ),
    (
        "home-unknown",
        plus(BY_TIER, DASH, home="dashbord"),
        "home",
        'unknown view "dashbord" — did you mean "dashboard"?',
        18,
    ),
    (
        "home-not-a-dashboard",
        plus(BY_TIER, home="by_tier"),
        "home",
        '"by_tier" is a chart view, not a dashboard',
        17,
    ),
    (
        "summary-unknown-field",
        BASE.replace("    title: name\n", "    title: name\n    summary: [spnt]\n"),
        "record_types[0].summary[0]",
        'unknown field "spnt" — did you mean "spent"?',
        6,
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "message", "line"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rule(one, text, path, message, line):
    problem = one(text)
    assert problem.path == path
    full = f"{problem.message} — {problem.hint}" if problem.hint else problem.message
    assert full == message
    assert problem.line == line


def test_dashboard_home_and_summary_compile(tmp_path):
    from tessera.meta import app_from_data, load_app
    from tessera.meta.dump import dump_app

    text = BASE.replace("    title: name\n", "    title: name\n    summary: [spent]\n")
    text += "views:\n  - " + BY_TIER + "\n  - " + DASH + "\nhome: dashboard\n"
    (tmp_path / "t.yaml").write_text(text)
    app = load_app(tmp_path / "t.yaml")
    dash = next(v for v in app.views if v.key == "dashboard")
    assert dash.record_type is None and dash.options["widgets"][0]["width"] == 6
    assert app.home == "dashboard" and app.record_type("customer").summary == ("spent",)
    assert app_from_data(dump_app(app)) == app
