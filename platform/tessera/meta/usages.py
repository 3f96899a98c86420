"""Where a field or record type is used in template data, and removing it with its uses.

The builder asks before a removal: "this field is shown by the 'Registrations' table,
tested by the 'Send receipt' workflow, ..." and offers to take those uses out in the
same change. One code path does both: :func:`remove_field` / :func:`remove_record_type`
remove the thing from (a copy of) the data and record every use they had to change;
:func:`field_usages` / :func:`record_type_usages` run the removal on a copy and return
only the uses. A use that cannot stand alone (a formula over the field, a kanban
grouped by it, a link to a removed type) is removed with it, and its own uses too.

Every :class:`Usage` names the thing that holds the use (``area`` + ``index`` + its key
and label, so the UI can say "the 'Registrations' table" and jump there), the path of
the use (for tests and logs, never shown to users), what the use is (``kind``) and what
the removal does to it (``effect``: ``removed`` the holder entirely, or ``changed``).

Works on plain template data (the shape of :func:`tessera.meta.dump_app`), not on
compiled Meta: the builder's draft may be half-valid while the admin edits it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass
from typing import Any

#: view settings that name one field, and whether the view is useless without it
VIEW_FIELD_SETTINGS = {"group_by": True, "date_field": True, "end_field": False, "x": True}
#: view settings that hold a field but may be left out
OPTIONAL_VIEW_SETTINGS = {"value", "color_by"}
#: kinds of field computed from other fields, which cannot outlive what they are computed from
COMPUTED = ("formula", "lookup", "rollup")


@dataclass(frozen=True)
class Usage:
    """One use of the removed thing: where it is and what the removal does to it."""

    area: str  # record_types | views | forms | workflows | roles
    index: int  # position in that list
    key: str  # the holder's key
    label: Any  # the holder's label (str or {locale: str}); may be None
    kind: str  # what the use is: column, sort, filter, section, rule, trigger, step, ...
    effect: str  # "removed" (the holder goes) or "changed" (the use is taken out of it)
    path: str  # where in the data, e.g. views[2].columns[3] (never shown to users)
    holder_type: str = ""  # view type (table, kanban, ...), field type, "" otherwise
    record_type: str = ""  # the record type the holder belongs to

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)


class _Remover:
    """Removes things from a deep copy of template data, noting every use it touches."""

    def __init__(self, data: dict[str, Any]):
        self.data = copy.deepcopy(data)
        self.usages: list[Usage] = []
        self._seen: set[tuple[str, str]] = set()
        for k in ("record_types", "views", "forms", "workflows", "roles"):
            if not isinstance(self.data.get(k), list):
                self.data.pop(k, None)

    # -- helpers ------------------------------------------------------------------------
    def _list(self, area: str) -> list[dict[str, Any]]:
        return [x for x in self.data.get(area) or [] if isinstance(x, dict)]

    def _rt(self, key: str) -> dict[str, Any] | None:
        return next((r for r in self._list("record_types") if r.get("key") == key), None)

    def _note(self, area: str, holder: dict, kind: str, effect: str, path: str, **kw) -> None:
        index = next(i for i, x in enumerate(self.data.get(area) or []) if x is holder)
        use = Usage(area, index, str(holder.get("key", "")), holder.get("label"), kind, effect,
                    path, **kw)  # fmt: skip
        if use not in self.usages:
            self.usages.append(use)

    def _link_fields_to(self, rt_key: str) -> list[tuple[dict, dict]]:
        """(record type, field) of every link or link_many field pointing at ``rt_key``."""
        return [
            (rt, f)
            for rt in self._list("record_types")
            for f in rt.get("fields") or []
            if isinstance(f, dict)
            and f.get("type") in ("link", "link_many")
            and (f.get("to") == rt_key or (isinstance(f.get("to"), list) and rt_key in f["to"]))
        ]

    def _path_hits(self, owner_rt: str, path: Any, rt_key: str, field_key: str) -> bool:
        """Whether a field path (``stage`` or ``customer.tier``) seen from ``owner_rt``
        goes through field ``field_key`` of ``rt_key``."""
        if not isinstance(path, str) or not path:
            return False
        current = owner_rt
        for part in path.split("."):
            if current == rt_key and part == field_key:
                return True
            rt = self._rt(current)
            f = next((x for x in (rt or {}).get("fields") or [] if x.get("key") == part), None)
            if not f or f.get("type") not in ("link", "link_many"):
                return False
            current = f.get("to")
            if not isinstance(current, str):  # a polymorphic link: its targets differ per record
                return False
        return False

    def _prune(self, cond: Any, hit) -> tuple[Any, bool]:
        """The condition without the leaves ``hit`` matches: (new condition or None, changed)."""
        if isinstance(cond, dict):
            for k in ("all", "any"):
                if isinstance(cond.get(k), list):
                    kept, changed = [], False
                    for c in cond[k]:
                        new, ch = self._prune(c, hit)
                        changed = changed or ch
                        if new is not None:
                            kept.append(new)
                    if not changed:
                        return cond, False
                    return ({**cond, k: kept} if kept else None), True
            if "not" in cond:
                new, ch = self._prune(cond["not"], hit)
                if not ch:
                    return cond, False
                return ({"not": new} if new is not None else None), True
            value = cond.get("value")
            if hit(cond.get("field")) or (isinstance(value, dict) and hit(value.get("field"))):
                return None, True
        return cond, False

    # -- fields -------------------------------------------------------------------------
    def remove_field(self, rt_key: str, field_key: str) -> None:
        """Take field ``field_key`` of ``rt_key`` out, with every use of it."""
        if (rt_key, field_key) in self._seen:
            return
        self._seen.add((rt_key, field_key))
        rt = self._rt(rt_key)
        if rt is None:
            return
        fields = rt.get("fields") or []
        rt["fields"] = [
            f for f in fields if not (isinstance(f, dict) and f.get("key") == field_key)
        ]

        def hit_from(owner_rt: str):
            return lambda p: self._path_hits(owner_rt, p, rt_key, field_key)

        self._record_type_parts(rt, field_key, hit_from)
        self._field_settings(rt, field_key)
        self._dependent_fields(rt_key, field_key, hit_from)
        self._views(rt_key, field_key, hit_from)
        self._forms(rt_key, field_key, hit_from)
        self._workflows(rt_key, field_key, hit_from)
        self._roles(rt_key, field_key, hit_from)

    def _record_type_parts(self, rt: dict, field_key: str, hit_from) -> None:
        i = self._list("record_types").index(rt)
        base = f"record_types[{i}]"
        if rt.get("title") == field_key:
            rest = [
                f.get("key")
                for f in rt.get("fields") or []
                if f.get("type") in ("text", "auto_number", "email", "phone")
            ]
            rest = rest or [f.get("key") for f in rt.get("fields") or []]
            if rest:
                rt["title"] = rest[0]
            else:
                rt.pop("title", None)
            self._note("record_types", rt, "title", "changed", f"{base}.title")
        kept = []
        for j, ix in enumerate(rt.get("indexes") or []):
            cols = ix.get("fields") if isinstance(ix, dict) else ix
            if isinstance(cols, list) and field_key in cols:
                self._note("record_types", rt, "index", "changed", f"{base}.indexes[{j}]")
            else:
                kept.append(ix)
        if "indexes" in rt:
            rt["indexes"] = kept
            if not kept:
                del rt["indexes"]
        kept = []
        hit = hit_from(rt.get("key"))
        for j, v in enumerate(rt.get("validations") or []):
            new, changed = self._prune(v.get("when"), hit)
            if changed or field_key in (v.get("fields") or []):
                self._note("record_types", rt, "validation", "changed", f"{base}.validations[{j}]")
                continue  # a rule with part of its test gone would test something else
            kept.append(v)
        if "validations" in rt:
            rt["validations"] = kept
            if not kept:
                del rt["validations"]
        imp = rt.get("import")
        if isinstance(imp, dict):
            touched = False
            if field_key in (imp.get("match") or []):
                imp["match"] = [m for m in imp["match"] if m != field_key]
                if not imp["match"]:
                    del imp["match"]
                touched = True
            if field_key in (imp.get("aliases") or {}):
                del imp["aliases"][field_key]
                touched = True
            if touched:
                self._note("record_types", rt, "import", "changed", f"{base}.import")
                if not imp:
                    del rt["import"]

    def _field_settings(self, rt: dict, field_key: str) -> None:
        """Settings of sibling fields naming it: a currency_field, an {expr} default."""
        word = re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(field_key)}(?![A-Za-z0-9_])")
        i = self._list("record_types").index(rt)
        for j, f in enumerate(rt.get("fields") or []):
            if not isinstance(f, dict):
                continue
            default = f.get("default")
            path = f"record_types[{i}].fields[{j}]"
            if f.get("currency_field") == field_key:
                del f["currency_field"]
                self._note("record_types", rt, "currency_field", "changed",
                           f"{path}.currency_field", holder_type=str(f.get("type")),
                           record_type=str(rt.get("key")))  # fmt: skip
            if isinstance(default, dict) and word.search(str(default.get("expr", ""))):
                del f["default"]
                self._note("record_types", rt, "default", "changed", f"{path}.default",
                           holder_type=str(f.get("type")),
                           record_type=str(rt.get("key")))  # fmt: skip

    def _dependent_fields(self, rt_key: str, field_key: str, hit_from) -> None:
        """Formulas, lookups and rollups computed from the field go too (and their uses)."""
        word = re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(field_key)}(?![A-Za-z0-9_])")
        doomed: list[tuple[dict, dict]] = []
        for rt in self._list("record_types"):
            for f in rt.get("fields") or []:
                t = f.get("type")
                if (
                    rt.get("key") == rt_key
                    and t == "formula"
                    and word.search(str(f.get("formula", "")))
                ):
                    doomed.append((rt, f))
                elif t == "lookup":
                    link = next(
                        (x for x in rt.get("fields") or [] if x.get("key") == f.get("link")), None
                    )
                    if (
                        rt.get("key") == rt_key
                        and f.get("link") == field_key
                        or link
                        and link.get("to") == rt_key
                        and f.get("field") == field_key
                    ):
                        doomed.append((rt, f))
                elif (
                    t == "rollup"
                    and f.get("from") == rt_key
                    and field_key in (f.get("via"), f.get("field"))
                ):
                    doomed.append((rt, f))
        for rt, f in doomed:
            i = self._list("record_types").index(rt)
            j = (rt.get("fields") or []).index(f)
            self._note("record_types", rt, "computed_field", "changed",
                       f"record_types[{i}].fields[{j}]", holder_type=str(f.get("type")),
                       record_type=str(rt.get("key")))  # fmt: skip
        for rt, f in doomed:
            self.remove_field(rt.get("key"), f.get("key"))

    def _views(self, rt_key: str, field_key: str, hit_from) -> None:
        for view in list(self._list("views")):
            if view not in self._list("views"):
                continue
            owner = view.get("record_type")
            hit = hit_from(owner)
            i = self._list("views").index(view)
            base = f"views[{i}]"
            kw = {"holder_type": str(view.get("type", "")), "record_type": str(owner or "")}
            doomed = False
            for name, needed in VIEW_FIELD_SETTINGS.items():
                if hit(view.get(name)):
                    if needed:
                        doomed = True
                        self._note("views", view, name, "removed", f"{base}.{name}", **kw)
                    else:
                        del view[name]
                        self._note("views", view, name, "changed", f"{base}.{name}", **kw)
            if view.get("type") == "chart" and view.get("value") and hit(view.get("value")):
                view.pop("value")
                view["aggregate"] = "count"
                self._note("views", view, "value", "changed", f"{base}.value", **kw)
            for name in OPTIONAL_VIEW_SETTINGS - {"value"}:
                if hit(view.get(name)):
                    del view[name]
                    self._note("views", view, name, "changed", f"{base}.{name}", **kw)
            if doomed:
                self.data["views"].remove(view)
                continue
            cols = view.get("columns")
            if isinstance(cols, list):
                for j, c in enumerate(cols):
                    if hit(c if isinstance(c, str) else (c or {}).get("field")):
                        self._note("views", view, "column", "changed", f"{base}.columns[{j}]", **kw)
                view["columns"] = [
                    c for c in cols if not hit(c if isinstance(c, str) else (c or {}).get("field"))
                ]
                if not view["columns"]:
                    del view["columns"]
            sort = view.get("sort")
            if isinstance(sort, list):
                for j, s in enumerate(sort):
                    if hit((s or {}).get("field")):
                        self._note("views", view, "sort", "changed", f"{base}.sort[{j}]", **kw)
                view["sort"] = [s for s in sort if not hit((s or {}).get("field"))]
                if not view["sort"]:
                    del view["sort"]
            if "filter" in view:
                new, changed = self._prune(view["filter"], hit)
                if changed:
                    self._note("views", view, "filter", "changed", f"{base}.filter", **kw)
                    if new is None:
                        del view["filter"]
                    else:
                        view["filter"] = new

    def _forms(self, rt_key: str, field_key: str, hit_from) -> None:
        for form in self._list("forms"):
            owner = form.get("record_type")
            hit = hit_from(owner)
            i = self._list("forms").index(form)
            base = f"forms[{i}]"
            kw = {"record_type": str(owner or "")}
            for k, sec in enumerate(form.get("sections") or []):
                fl = sec.get("fields") if isinstance(sec, dict) else None
                if isinstance(fl, list) and any(hit(x) for x in fl):
                    self._note("forms", form, "section", "changed", f"{base}.sections[{k}]", **kw)
                    sec["fields"] = [x for x in fl if not hit(x)]
            vw = form.get("visible_when")
            if isinstance(vw, dict):
                for key in list(vw):
                    if owner == rt_key and key == field_key:
                        del vw[key]
                        self._note(
                            "forms", form, "rule", "changed", f"{base}.visible_when.{key}", **kw
                        )
                        continue
                    new, changed = self._prune(vw[key], hit)
                    if changed:
                        self._note(
                            "forms", form, "rule", "changed", f"{base}.visible_when.{key}", **kw
                        )
                        if new is None:
                            del vw[key]  # the field then always shows, the safe way round
                        else:
                            vw[key] = new
                if not vw:
                    del form["visible_when"]

    def _workflows(self, rt_key: str, field_key: str, hit_from) -> None:
        mention = re.compile(rf"record\.{re.escape(field_key)}(?![A-Za-z0-9_])")
        for wf in self._list("workflows"):
            owner = wf.get("record_type")
            hit = hit_from(owner)
            i = self._list("workflows").index(wf)
            base = f"workflows[{i}]"
            kw = {"record_type": str(owner or "")}
            trig = wf.get("trigger") or {}
            if owner == rt_key and (
                trig.get("field") == field_key or field_key in (trig.get("fields") or [])
            ):
                if trig.get("on") == "date" or trig.get("fields") == [field_key]:
                    self._note("workflows", wf, "trigger", "removed", f"{base}.trigger", **kw)
                    self.data["workflows"].remove(wf)
                    continue
                trig["fields"] = [x for x in trig["fields"] if x != field_key]
                self._note("workflows", wf, "trigger", "changed", f"{base}.trigger", **kw)
            if "when" in wf:
                new, changed = self._prune(wf["when"], hit)
                if changed:
                    self._note("workflows", wf, "condition", "changed", f"{base}.when", **kw)
                    if new is None:
                        del wf["when"]
                    else:
                        wf["when"] = new
            wf["actions"] = self._steps(
                wf,
                wf.get("actions") or [],
                f"{base}.actions",
                owner,
                rt_key,
                field_key,
                hit,
                mention,
            )
            if not wf["actions"]:
                self._note("workflows", wf, "step", "removed", f"{base}.actions", **kw)
                self.data["workflows"].remove(wf)

    def _steps(self, wf, steps, path, owner, rt_key, field_key, hit, mention) -> list:
        kept = []
        kw = {"record_type": str(owner or "")}
        for j, step in enumerate(steps):
            if not isinstance(step, dict):
                kept.append(step)
                continue
            p = f"{path}[{j}]"
            target = step.get("record_type") or owner
            values = step.get("values")
            drop = False
            if step.get("do") == "if":
                new, changed = self._prune(step.get("condition"), hit)
                if changed:
                    drop = True
                else:
                    step["then"] = self._steps(
                        wf,
                        step.get("then") or [],
                        p + ".then",
                        owner,
                        rt_key,
                        field_key,
                        hit,
                        mention,
                    )
                    if "else" in step:
                        step["else"] = self._steps(
                            wf, step["else"], p + ".else", owner, rt_key, field_key, hit, mention
                        )
            if isinstance(values, dict) and target == rt_key and field_key in values:
                del values[field_key]
                if not values:
                    drop = True
            if step.get("field") == field_key and target == rt_key:
                drop = True
            if (
                isinstance(step.get("fields"), dict)
                and target == rt_key
                and field_key in step["fields"]
            ):
                drop = True
            if owner == rt_key and _mentions(step, mention):
                drop = True
            if drop:
                self._note("workflows", wf, "step", "changed", p, **kw)
            else:
                kept.append(step)
        return kept

    def _roles(self, rt_key: str, field_key: str | None, hit_from) -> None:
        rt = self._rt(rt_key) or {}
        # the owner field (own/team scopes and pools read it) is gone by now: ask the data
        owner = field_key is not None and (rt.get("owner") or "owner") == field_key
        for role in self._list("roles"):
            perms = role.get("permissions")
            if not isinstance(perms, dict):
                continue
            i = self._list("roles").index(role)
            for rt_name, perm in list(perms.items()):
                if field_key is None:
                    if rt_name == rt_key:
                        del perms[rt_name]
                        self._note(
                            "roles",
                            role,
                            "permission",
                            "changed",
                            f"roles[{i}].permissions.{rt_name}",
                        )
                    continue
                if not isinstance(perm, dict):
                    continue
                hit = hit_from(rt_name if rt_name != "*" else None)
                touched = False
                fields = perm.get("fields")
                if rt_name == rt_key and isinstance(fields, dict) and field_key in fields:
                    del fields[field_key]
                    touched = True
                for op in ("create", "read", "update", "delete"):
                    new, changed = self._prune(perm.get(op), hit)
                    if changed:
                        perm[op] = "none"  # a rule with a test taken out would grant more: deny
                        touched = True
                    elif rt_name == rt_key and owner and perm.get(op) in ("own", "team"):
                        perm[op] = "none"  # own/team scopes read the owner field
                        touched = True
                if rt_name == rt_key and owner and "pool" in perm:
                    del perm["pool"]
                    touched = True
                if touched:
                    self._note(
                        "roles", role, "permission", "changed", f"roles[{i}].permissions.{rt_name}"
                    )

    # -- record types -------------------------------------------------------------------
    def remove_record_type(self, rt_key: str) -> None:
        """Take record type ``rt_key`` out with its views, forms, workflows and links to it."""
        rt = self._rt(rt_key)
        if rt is None:
            return
        for fkey in [f.get("key") for f in rt.get("fields") or []]:
            self._seen.add((rt_key, fkey))  # its own fields go with it, no separate report
        for other, f in self._link_fields_to(rt_key):
            if other is rt:
                continue
            i = self._list("record_types").index(other)
            targets = f.get("to")
            if isinstance(targets, list) and len(targets) > 1:
                # a polymorphic link keeps its other targets (one left: a plain link)
                rest = [x for x in targets if x != rt_key]
                f["to"] = rest if len(rest) > 1 else rest[0]
                j = (other.get("fields") or []).index(f)
                self._note("record_types", other, "link_target", "changed",
                           f"record_types[{i}].fields[{j}].to", holder_type=str(f.get("type")),
                           record_type=str(other.get("key")))  # fmt: skip
                continue
            j = (other.get("fields") or []).index(f)
            self._note("record_types", other, "link_field", "changed",
                       f"record_types[{i}].fields[{j}]", holder_type=str(f.get("type")),
                       record_type=str(other.get("key")))  # fmt: skip
            self.remove_field(other.get("key"), f.get("key"))
        for other in self._list("record_types"):
            for j, f in enumerate(other.get("fields") or []):
                if other is not rt and f.get("type") == "rollup" and f.get("from") == rt_key:
                    i = self._list("record_types").index(other)
                    self._note("record_types", other, "computed_field", "changed",
                               f"record_types[{i}].fields[{j}]", holder_type="rollup",
                               record_type=str(other.get("key")))  # fmt: skip
                    self.remove_field(other.get("key"), f.get("key"))
        for area in ("views", "forms", "workflows"):
            for item in list(self._list(area)):
                if item.get("record_type") == rt_key:
                    kw = {"holder_type": str(item.get("type", "")) if area == "views" else ""}
                    i = self._list(area).index(item)
                    self._note(
                        area,
                        item,
                        "record_type",
                        "removed",
                        f"{area}[{i}]",
                        record_type=rt_key,
                        **kw,
                    )
                    self.data[area].remove(item)
        for wf in self._list("workflows"):
            kept = []
            for j, step in enumerate(wf.get("actions") or []):
                if isinstance(step, dict) and step.get("record_type") == rt_key:
                    i = self._list("workflows").index(wf)
                    self._note("workflows", wf, "step", "changed", f"workflows[{i}].actions[{j}]")
                else:
                    kept.append(step)
            wf["actions"] = kept
        for wf in list(self._list("workflows")):
            if not wf.get("actions"):
                self.data["workflows"].remove(wf)
        self._roles(rt_key, None, None)
        self.data["record_types"].remove(rt)

    # -- dashboards ---------------------------------------------------------------------
    def orphaned_widgets(self) -> None:
        """Take out dashboard tiles whose view went; a dashboard left empty goes too."""
        for _ in range(3):  # a removed dashboard may itself be a tile of another
            keys = {v.get("key") for v in self._list("views")}
            gone = False
            for view in list(self._list("views")):
                widgets = view.get("widgets")
                if view.get("type") != "dashboard" or not isinstance(widgets, list):
                    continue
                i = self._list("views").index(view)
                kept = [w for w in widgets if not isinstance(w, dict) or w.get("view") in keys]
                if len(kept) == len(widgets):
                    continue
                view["widgets"] = kept
                effect = "changed" if kept else "removed"
                self._note("views", view, "widget", effect, f"views[{i}].widgets",
                           holder_type="dashboard")  # fmt: skip
                if not kept:
                    self.data["views"].remove(view)
                    gone = True
            if not gone:
                break
        if self.data.get("home") not in {v.get("key") for v in self._list("views")}:
            self.data.pop("home", None)

    def orphaned_summaries(self) -> None:
        """Take removed fields out of record types' key numbers (``summary:``)."""
        for i, rt in enumerate(self._list("record_types")):
            summary = rt.get("summary")
            if not isinstance(summary, list):
                continue
            keys = {f.get("key") for f in rt.get("fields") or [] if isinstance(f, dict)}
            kept = [k for k in summary if k in keys]
            if len(kept) != len(summary):
                path = f"record_types[{i}].summary"
                self._note("record_types", rt, "summary", "changed", path,
                           record_type=str(rt.get("key")))  # fmt: skip
                if kept:
                    rt["summary"] = kept
                else:
                    rt.pop("summary")


def _mentions(step: Any, pattern: re.Pattern) -> bool:
    """Whether any text of a step (its templates) mentions ``record.<field>``."""
    if isinstance(step, str):
        return bool(pattern.search(step))
    if isinstance(step, dict):
        return any(_mentions(v, pattern) for k, v in step.items() if k not in ("then", "else"))
    if isinstance(step, list):
        return any(_mentions(v, pattern) for v in step)
    return False


def remove_field(data: dict[str, Any], rt_key: str, field_key: str) -> tuple[dict, list[Usage]]:
    """A copy of ``data`` without the field and its uses, and the uses it had."""
    r = _Remover(data)
    r.remove_field(rt_key, field_key)
    r.orphaned_widgets()
    r.orphaned_summaries()
    return r.data, _renumber(data, r.usages)


def remove_record_type(data: dict[str, Any], rt_key: str) -> tuple[dict, list[Usage]]:
    """A copy of ``data`` without the record type and its uses, and the uses it had."""
    r = _Remover(data)
    r.remove_record_type(rt_key)
    r.orphaned_widgets()
    r.orphaned_summaries()
    return r.data, _renumber(data, r.usages)


def field_usages(data: dict[str, Any], rt_key: str, field_key: str) -> list[Usage]:
    """Everywhere field ``field_key`` of ``rt_key`` is used (nothing is changed)."""
    return remove_field(data, rt_key, field_key)[1]


def record_type_usages(data: dict[str, Any], rt_key: str) -> list[Usage]:
    """Everywhere record type ``rt_key`` is used (nothing is changed)."""
    return remove_record_type(data, rt_key)[1]


def _renumber(data: dict[str, Any], usages: list[Usage]) -> list[Usage]:
    """Indexes as in the original data (holders removed earlier shift later ones)."""
    out = []
    for u in usages:
        items = data.get(u.area) or []
        index = next(
            (i for i, x in enumerate(items) if isinstance(x, dict) and x.get("key") == u.key),
            u.index,
        )
        path = re.sub(rf"^{u.area}\[\d+\]", f"{u.area}[{index}]", u.path)
        out.append(Usage(**{**u.as_dict(), "index": index, "path": path}))
    return out
