"""The builder in plain words: uses of a field or record type, and problems, as sentences.

The validator and the usage finder speak in paths (``views[0].columns[5]``); admins do
not. Here every path becomes "the ‘Registrations’ table" plus what is wrong there,
and a ``nav`` target (``view-0``) the page turns into a "Go there" button. Paths stay
in the answers for the page to place a message next to the right input, but are never
shown as text.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from tessera.meta.usages import Usage
from tessera.web.i18n import label

NAV_KIND = {"record_types": "rt", "views": "view", "forms": "form", "workflows": "wf"}
TOP = re.compile(r"^(record_types|views|forms|workflows|roles)\[(\d+)\]")


def _item(data: dict[str, Any], area: str, index: int) -> dict[str, Any]:
    items = data.get(area) or []
    item = items[index] if 0 <= index < len(items) else {}
    return item if isinstance(item, dict) else {}


def _view_kind(view_type: str) -> str:
    return {
        "table": _("table"),
        "kanban": _("board"),
        "calendar": _("calendar"),
        "chart": _("chart"),
        "dashboard": _("dashboard"),
    }.get(view_type, _("view"))


def holder_name(data: dict[str, Any], area: str, index: int) -> str:
    """“the ‘Registrations’ table”, “the ‘Sign up’ form”, “the ‘Event’ record type”, ..."""
    item = _item(data, area, index)
    name = label(item.get("label"), str(item.get("key", "")))
    if area == "views":
        return _("the ‘%(name)s’ %(kind)s", name=name, kind=_view_kind(str(item.get("type", ""))))
    if area == "forms":
        return _("the ‘%(name)s’ form", name=name)
    if area == "workflows":
        return _("the ‘%(name)s’ workflow", name=name)
    if area == "roles":
        return _("the ‘%(name)s’ role", name=name)
    if area == "record_types":
        return _("the ‘%(name)s’ record type", name=name)
    return _("the app settings")


def _field_name(data: dict[str, Any], path: str) -> str:
    m = re.match(r"^record_types\[(\d+)\]\.fields\[(\d+)\]", path)
    if not m:
        return ""
    rt = _item(data, "record_types", int(m.group(1)))
    fields = rt.get("fields") or []
    j = int(m.group(2))
    f = fields[j] if j < len(fields) and isinstance(fields[j], dict) else {}
    return label(f.get("label"), str(f.get("key", "")))


def usage_sentence(data: dict[str, Any], u: Usage) -> str:
    """One use in words, with what removing will do to it."""
    who = holder_name(data, u.area, u.index)
    k = u.kind
    if k == "record_type":
        return _("%(who)s shows these records: it will be removed.", who=_cap(who))
    if k == "column":
        return _("%(who)s shows it as a column: the column will be taken out.", who=_cap(who))
    if k == "sort":
        return _("%(who)s is sorted by it: that sort will be taken out.", who=_cap(who))
    if k == "filter":
        return _("%(who)s filters on it: that test will be taken out of the filter.", who=_cap(who))
    if k == "group_by":
        return _("%(who)s is grouped by it: the view will be removed.", who=_cap(who))
    if k == "date_field":
        return _("%(who)s places records by it: the view will be removed.", who=_cap(who))
    if k == "end_field":
        return _("%(who)s uses it as the end date: it will show one-day entries.", who=_cap(who))
    if k == "x":
        return _("%(who)s draws one bar per value of it: the chart will be removed.", who=_cap(who))
    if k == "value":
        return _("%(who)s adds it up: the chart will count records instead.", who=_cap(who))
    if k == "summary":
        return _("%(who)s shows it among its key numbers: it will be taken out.", who=_cap(who))
    if k == "widget":
        if u.effect == "removed":
            return _(
                "%(who)s shows only views that go: the dashboard will be removed.", who=_cap(who)
            )
        return _("%(who)s shows a view that goes: that tile will be taken out.", who=_cap(who))
    if k in ("color_by",):
        return _("%(who)s colours by it: the colouring will be taken out.", who=_cap(who))
    if k == "section":
        return _("%(who)s shows it: it will be taken off the form.", who=_cap(who))
    if k == "rule":
        return _(
            "A rule of %(who)s about when a field shows tests it: the rule will be taken out.",
            who=who,
        )
    if k == "title":
        return _("%(who)s names its records by it: another field will name them.", who=_cap(who))
    if k == "index":
        return _("An index of %(who)s includes it: the index will be removed.", who=who)
    if k == "validation":
        return _("A validation rule of %(who)s tests it: the rule will be removed.", who=who)
    if k == "import":
        return _("Importing into %(who)s matches on it: it will be taken out.", who=who)
    if k == "computed_field":
        return _(
            "The field ‘%(field)s’ of %(who)s is computed from it: it will be removed too.",
            field=_field_name(data, u.path),
            who=who,
        )
    if k == "link_field":
        return _(
            "The field ‘%(field)s’ of %(who)s links to it: it will be removed too.",
            field=_field_name(data, u.path),
            who=who,
        )
    if k == "link_target":
        return _(
            "The field ‘%(field)s’ of %(who)s may link to it: it will link to the other "
            "types only.",
            field=_field_name(data, u.path),
            who=who,
        )
    if k == "trigger":
        if u.effect == "removed":
            return _("%(who)s is started by it: the workflow will be removed.", who=_cap(who))
        return _("%(who)s watches it: it will stop watching it.", who=_cap(who))
    if k == "condition":
        return _("The condition of %(who)s tests it: that test will be taken out.", who=who)
    if k == "step":
        if u.effect == "removed":
            return _("Every step of %(who)s uses it: the workflow will be removed.", who=who)
        return _("A step of %(who)s uses it: the step will be taken out.", who=who)
    if k == "permission":
        return _(
            "%(who)s has rules about it: those rules will be taken out (access denied where "
            "a rule depended on it).",
            who=_cap(who),
        )
    return _("%(who)s uses it.", who=_cap(who))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def usage_answer(data: dict[str, Any], usages: list[Usage]) -> list[dict[str, Any]]:
    """JSON for the page: each use with its sentence and where to go."""
    return [
        {
            **u.as_dict(),
            "sentence": usage_sentence(data, u),
            "nav": f"{NAV_KIND[u.area]}-{u.index}" if u.area in NAV_KIND else None,
        }
        for u in usages
    ]


PART_WORDS = {
    "columns": lambda: _("Columns"),
    "sort": lambda: _("Sort"),
    "filter": lambda: _("Filter"),
    "sections": lambda: _("Fields on the form"),
    "visible_when": lambda: _("When a field shows"),
    "fields": lambda: _("Fields"),
    "trigger": lambda: _("Trigger"),
    "when": lambda: _("Condition"),
    "actions": lambda: _("Steps"),
    "validations": lambda: _("Validation rules"),
    "indexes": lambda: _("Indexes"),
    "group_by": lambda: _("Group by"),
    "x": lambda: _("Bars by"),
    "value": lambda: _("Adds up"),
    "aggregate": lambda: _("How to sum up"),
    "date_field": lambda: _("Date"),
    "title": lambda: _("Title field"),
    "permissions": lambda: _("Permissions"),
}


def problem_words(data: dict[str, Any], path: str) -> dict[str, Any]:
    """Where a problem is, in words (“The ‘Registrations’ table · Columns”) and its nav."""
    m = TOP.match(path or "")
    if not m:
        return {"where": _("App settings"), "nav": "app-0"}
    area, index = m.group(1), int(m.group(2))
    where = _cap(holder_name(data, area, index))
    rest = path[m.end() :]
    fm = re.match(r"^\.fields\[(\d+)\]", rest) if area == "record_types" else None
    if fm:
        where += " · " + _("field ‘%(f)s’", f=_field_name(data, path) or "#" + fm.group(1))
    else:
        part = re.match(r"^\.([a-z_]+)", rest)
        if part and part.group(1) in PART_WORDS:
            where += " · " + PART_WORDS[part.group(1)]()
    nav = f"{NAV_KIND[area]}-{index}" if area in NAV_KIND else None
    return {"where": where, "nav": nav}
