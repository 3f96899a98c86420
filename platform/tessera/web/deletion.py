"""Words for the delete confirmation page: what goes with a record, or who blocks it.

The counts come from ``Records.delete_impact`` (the delete's own rules, dry-run); this
module only turns them into sentences in the user's language, with labels, not keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import url_for
from flask_babel import ngettext

from tessera.meta.model import App
from tessera.records.impact import Blockers, DeleteImpact
from tessera.web import present
from tessera.web.i18n import label

#: the Chinese texts of the table-UI work (delete impact, table views, public forms)
TRANSLATIONS = Path(__file__).resolve().parent / "translations_tableui"


@dataclass(frozen=True)
class Blocker:
    """One record that links here and refuses the delete (a title and where it is)."""

    title: str
    url: str


def _rt_label(app: App, key: str) -> str:
    return label(app.record_type(key).label, key) if app.has_record_type(key) else key


def _field_label(app: App, rt_key: str, field_key: str) -> str:
    rt = app.record_type(rt_key)
    f = rt.field(field_key) if rt.has_field(field_key) else None
    return label(f.label, field_key) if f is not None else field_key


def consequences(app: App, impact: DeleteImpact) -> list[str]:
    """One sentence per kind of consequence, largest groups first within each kind."""
    lines = []
    for key, n in sorted(impact.deleted.items(), key=lambda kv: -kv[1]):
        what = _rt_label(app, key)
        lines.append(
            ngettext(
                "%(what)s: %(num)d record will also be deleted",
                "%(what)s: %(num)d records will also be deleted",
                n,
                what=what,
            )
        )
    for (rt_key, f_key), n in impact.rows.items():
        what = _field_label(app, rt_key, f_key)
        lines.append(
            ngettext(
                "%(what)s: %(num)d row will be removed",
                "%(what)s: %(num)d rows will be removed",
                n,
                what=what,
            )
        )
    for (rt_key, f_key), n in impact.links.items():
        what = f"{_rt_label(app, rt_key)} · {_field_label(app, rt_key, f_key)}"
        lines.append(
            ngettext(
                "%(what)s: %(num)d link will be removed",
                "%(what)s: %(num)d links will be removed",
                n,
                what=what,
            )
        )
    for (rt_key, f_key), n in impact.cleared.items():
        lines.append(
            ngettext(
                "%(what)s: %(num)d record will lose its link in %(link)s",
                "%(what)s: %(num)d records will lose their link in %(link)s",
                n,
                what=_rt_label(app, rt_key),
                link=_field_label(app, rt_key, f_key),
            )
        )
    return lines


def blocker_sentence(app: App, blockers: Blockers) -> str:
    """``Invoice: 1 record links here through Registration`` (5+ → "at least 6")."""
    n = len(blockers.rows)
    where = label(blockers.link.label, blockers.link.key)
    if blockers.table_field is not None:
        where = f"{label(blockers.table_field.label, blockers.table_field.key)} · {where}"
        n = len({r.get("parent_id") for r in blockers.rows})
    what = label(blockers.rt.label, blockers.rt.key)
    if len(blockers.rows) > 5:
        return ngettext(
            "%(what)s: more than %(num)d records link here through %(where)s",
            "%(what)s: more than %(num)d records link here through %(where)s",
            5,
            what=what,
            where=where,
        )
    return ngettext(
        "%(what)s: %(num)d record links here through %(where)s",
        "%(what)s: %(num)d records link here through %(where)s",
        n,
        what=what,
        where=where,
    )


def blocker_links(app: App, blockers: Blockers) -> list[Blocker]:
    """The blocking records (at most five), by title, each with its page."""
    rt = blockers.rt
    out: list[Blocker] = []
    seen: set = set()
    for row in blockers.rows[:5]:
        rid = row.get("parent_id") if blockers.table_field is not None else row["id"]
        if rid in seen:
            continue
        seen.add(rid)
        shown = present.linked_rows(app, rt.key, {rid}).get(rid) if blockers.table_field else row
        url = url_for("records.show", app_id=app.id, rt_key=rt.key, record_id=rid)
        out.append(Blocker(present.title(rt, shown or {"id": rid}), url))
    return out
