"""Semantic checks of charts, dashboards, the app's home dashboard and record summaries.

A mixin of :class:`tessera.meta.checks.Checker` (it uses ``add``, ``field_exists``,
``fields`` and ``numeric`` from there), kept apart so the checker stays readable.
"""

from __future__ import annotations

from typing import Any

from tessera.meta.validate import suggest

DATES = ("date", "datetime")
#: chart types that draw a second grouping (``group_by``) as series
SERIES_CHARTS = ("bar", "stacked_bar", "line", "table")
#: the relative-date words a KPI's previous period can be derived from
PERIOD_WORDS = ("today", "yesterday", "start_of_week", "start_of_month", "start_of_year")
WIDGET_TYPES = ("chart", "table", "kanban", "calendar")


def _relative_leaves(cond: Any) -> list[dict]:
    """Leaves of a condition comparing with a relative date (or within_last/next_days)."""
    from tessera.query.dates import is_relative

    if isinstance(cond, list):
        return [leaf for c in cond for leaf in _relative_leaves(c)]
    if not isinstance(cond, dict):
        return []
    found = []
    for key in ("all", "any"):
        found += _relative_leaves(cond.get(key))
    found += _relative_leaves(cond.get("not"))
    if "field" in cond and (
        is_relative(cond.get("value")) or cond.get("op") in ("within_last_days", "within_next_days")
    ):
        found.append(cond)
    return found


class ChartChecks:
    """Checks of chart and dashboard views, ``home`` and record-type ``summary``."""

    data: dict
    types: dict[str, dict]

    def view_chart(self, path: str, view: dict, rt: str) -> None:
        """x, bucket, group_by, aggregate/value and compare of a chart fit each other."""
        kind = view.get("chart_type")
        x = self.chart_x(path, view, rt, kind)
        self.chart_bucket(path, view, x)
        series = self.field_exists(view.get("group_by"), f"{path}.group_by", rt)
        if series is not None and kind not in SERIES_CHARTS:
            self.add(
                f"{path}.group_by",
                f"a {kind} chart has no series: group_by is drawn only by "
                + ", ".join(SERIES_CHARTS),
                "remove group_by, or use stacked_bar",
            )
        self.chart_measure(path, view, rt, kind)
        self.chart_compare(path, view, kind)
        self.chart_ratio(path, view, rt)
        if "limit" in view and ("bucket" in view or kind == "kpi"):
            what = "a kpi has one number" if kind == "kpi" else "a bucketed x keeps every period"
            self.add(f"{path}.limit", f"limit keeps the largest categories, but {what}")

    def chart_ratio(self, path: str, view: dict, rt: str) -> None:
        """A ratio is a condition on the record type, of a count or a sum."""
        if "ratio" not in view:
            return
        self.condition(view.get("ratio"), f"{path}.ratio", rt)
        agg = view.get("aggregate", "count")
        if agg not in ("count", "sum"):
            self.add(
                f"{path}.ratio",
                f'a ratio is a share of a count or a sum, not of "{agg}"',
                "use aggregate: count or sum",
            )

    def chart_x(self, path: str, view: dict, rt: str, kind: Any) -> dict | None:
        """x names a field of the record type itself (every chart but a kpi has one)."""
        x = view.get("x")
        if x is None:
            if kind != "kpi":
                self.add(path, f"a {kind} chart needs x: the field whose values it groups by")
            return None
        if kind == "kpi":
            self.add(f"{path}.x", "a kpi shows one number: it has no x", "remove x and bucket")
            return None
        if isinstance(x, str) and "." in x:
            self.add(
                f"{path}.x",
                f'charts group by a field of {rt} itself, not a linked one ("{x}")',
                "add a lookup field to the record type and group by it",
            )
            return None
        return self.field_exists(x, f"{path}.x", rt)

    def chart_bucket(self, path: str, view: dict, x: dict | None) -> None:
        """A bucket only on a date or datetime x (a date x without one is grouped by month)."""
        if x is not None and "bucket" in view and x.get("type") not in DATES:
            self.add(
                f"{path}.bucket",
                f'bucket needs a date or datetime x; "{x["key"]}" is a {x.get("type")}',
                "remove bucket, or group by a date field",
            )

    def chart_measure(self, path: str, view: dict, rt: str, kind: Any) -> None:
        """The measured value exists and is numeric for sum/avg; a kpi names its measure."""
        agg = view.get("aggregate", "count")
        value = self.field_exists(view.get("value"), f"{path}.value", rt)
        if kind == "kpi" and "aggregate" not in view:
            self.add(
                path,
                "a kpi needs a measure: aggregate (count, or sum/avg/min/max with a value)",
                "add aggregate: count",
            )
        if agg != "count" and "value" not in view:
            self.add(path, f'a chart with aggregate "{agg}" needs a value field')
        elif value is not None and agg in ("sum", "avg") and not self.numeric(value):
            self.add(f"{path}.value", f'cannot {agg} "{value["key"]}": it is a {value.get("type")}')

    def chart_compare(self, path: str, view: dict, kind: Any) -> None:
        """compare is for kpis whose filter has a relative date to step back from."""
        if "compare" not in view:
            return
        if kind != "kpi":
            self.add(f"{path}.compare", f"compare is for kpi charts, not {kind}")
        elif not _relative_leaves(view.get("filter")):
            self.add(
                f"{path}.compare",
                "compare: previous_period needs a relative date in the filter to know the period",
                "e.g. {field: closed_on, op: gte, value: start_of_month}",
            )

    def view_dashboard(self, path: str, view: dict) -> None:
        """Each widget names a chart, table, kanban or calendar view of the app."""
        views = {
            v.get("key"): v
            for v in self.data.get("views") or []
            if isinstance(v, dict) and isinstance(v.get("key"), str)
        }
        for i, widget in enumerate(view.get("widgets") or []):
            key = widget.get("view") if isinstance(widget, dict) else None
            if not isinstance(key, str):
                continue
            wpath = f"{path}.widgets[{i}].view"
            target = views.get(key)
            if target is None:
                self.add(wpath, f'unknown view "{key}"', suggest(key, views))
            elif target.get("type") not in WIDGET_TYPES:
                self.add(
                    wpath,
                    f'"{key}" is a {target.get("type")}: a dashboard shows '
                    + ", ".join(WIDGET_TYPES)
                    + " views",
                )

    def check_home(self) -> None:
        """``home`` names a dashboard view of the app."""
        home = self.data.get("home")
        if not isinstance(home, str):
            return
        views = {v.get("key"): v for v in self.data.get("views") or [] if isinstance(v, dict)}
        if home not in views:
            dashboards = [k for k, v in views.items() if v.get("type") == "dashboard"]
            self.add("home", f'unknown view "{home}"', suggest(home, dashboards))
        elif views[home].get("type") != "dashboard":
            self.add("home", f'"{home}" is a {views[home].get("type")} view, not a dashboard')

    def check_summary(self, path: str, rt: dict, fields: dict[str, dict]) -> None:
        """Each key number of a record type's summary is one of its fields."""
        for i, name in enumerate(rt.get("summary") or []):
            if isinstance(name, str) and name not in fields:
                self.add(f"{path}.summary[{i}]", f'unknown field "{name}"', suggest(name, fields))
