"""Three-way merge of template data: base (the author's installed version), local (the
customised installed version) and theirs (the author's new version).

Record types, fields and options are matched by their stable ids (see ``identity``),
so a rename on one side and a relabel on the other both apply; views, forms, workflows
and roles are matched by key. Every item merges property by property (``label``,
``required``, ``columns``...): a property changed on one side only takes that side; one
changed on both sides to different values is a :class:`Conflict`, decided by a choice
(``mine`` keeps the local value, ``theirs`` takes the author's). Deleting an item that
the other side changed is a conflict too. Items both sides added with the same key are
one item. An option the author removed while local records still hold it (and that the
author maps nowhere) is a conflict: keep it, or take the removal (then the upgrade
refuses while records hold the value, unless purged).

The result is plain template data for the installed app, with ``renamed_from`` set
wherever a name differs from the local (installed) one, so the ordinary migration plan
renames columns instead of dropping them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.merge import identity, references
from tessera.meta.compile import humanize

CHOICES = ("mine", "theirs")
#: lists of items matched by key (no stable ids)
KEYED = ("views", "forms", "workflows", "roles")
FIXED = ("id", "version")


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()
DELETED = "(deleted)"


@dataclass
class Conflict:
    """One property (or item) both sides changed differently."""

    path: str  # e.g. record_types.deal.fields.amount.label
    base: Any
    mine: Any
    theirs: Any
    note: str = ""
    choice: str | None = None  # "mine" | "theirs"; None: not decided yet
    kind: str = "changed"  # changed | deleted_here | deleted_upstream | held
    held: int = 0  # kind "held": records holding the option

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON and templates)."""
        return {
            "path": self.path,
            "base": _show(self.base),
            "mine": _show(self.mine),
            "theirs": _show(self.theirs),
            "note": self.note,
            "choice": self.choice,
        }


def _show(value: Any) -> Any:
    return "(absent)" if value is MISSING else value


@dataclass
class Node:
    """One item: its key, plain properties and child lists (by id, in order)."""

    key: str
    props: dict[str, Any]
    children: dict[str, dict[str, Node]] = field(default_factory=dict)
    renamed: list[str] = field(default_factory=list)  # an option's renamed_from values
    local_key: str | None = None  # the item's name in the installed (local) version

    def plain(self) -> Any:
        """Properties and children (by id), for comparing two versions of an item."""
        kids = {g: [(i, n.plain()) for i, n in m.items()] for g, m in self.children.items()}
        return (self.props, kids)


@dataclass
class MergeResult:
    """The merged template data, its ids, and every conflict met (decided or not)."""

    data: dict[str, Any]
    ids: dict[str, str]
    conflicts: list[Conflict]

    @property
    def undecided(self) -> list[Conflict]:
        """Conflicts without a choice: the result cannot be applied yet."""
        return [c for c in self.conflicts if c.choice is None]


# ---------------------------------------------------------------- data -> nodes


def _props(item: Mapping[str, Any], drop: tuple[str, ...], name: str = "key") -> dict[str, Any]:
    """The item's properties; a label that is only its key humanised counts as absent
    (the compiler fills it in), so renaming the key does not look like a relabel."""
    out = {k: copy.deepcopy(v) for k, v in item.items() if k not in drop}
    if isinstance(item.get(name), str) and out.get("label") == {"en": humanize(item[name])}:
        del out["label"]
    return out


def _option_node(opt: Mapping[str, Any]) -> Node:
    renamed = opt.get("renamed_from")
    renamed = [renamed] if isinstance(renamed, str) else list(renamed or [])
    return Node(str(opt["value"]), _props(opt, ("renamed_from",), "value"), renamed=renamed)


def _field_node(rt: str, f: Mapping[str, Any], ids: Mapping[str, str]) -> Node:
    node = Node(f["key"], _props(f, ("renamed_from", "options")))
    if isinstance(f.get("options"), list):
        node.children["options"] = {
            ids.get(identity.option_name(rt, f["key"], o["value"]))
            or f"value:{o['value']}": _option_node(o)
            for o in f["options"]
        }
    return node


def _rt_node(rt: Mapping[str, Any], ids: Mapping[str, str]) -> Node:
    node = Node(rt["key"], _props(rt, ("renamed_from", "fields")))
    node.children["fields"] = {
        ids.get(identity.field_name(rt["key"], f["key"])) or f"key:{f['key']}": _field_node(
            rt["key"], f, ids
        )
        for f in rt.get("fields", [])
    }
    return node


def to_node(data: Mapping[str, Any], ids: Mapping[str, str]) -> Node:
    """Template data (dump_app shape) as a tree of nodes keyed by id."""
    drop = (*FIXED, "record_types", *KEYED)
    root = Node(str(data.get("id")), _props(data, drop))
    root.children["record_types"] = {
        ids.get(identity.rt_name(rt["key"])) or f"key:{rt['key']}": _rt_node(rt, ids)
        for rt in data.get("record_types", [])
    }
    for group in KEYED:
        root.children[group] = {
            f"{group}:{item['key']}": Node(item["key"], _props(item, ()))
            for item in data.get(group, [])
        }
    return root


# ---------------------------------------------------------------- merging


InUse = Callable[[str, str, str], int]  # (record type, field, value) -> rows holding it


class _Merger:
    def __init__(self, choices: Mapping[str, str], default: str | None, in_use: InUse | None):
        self.choices, self.default, self.in_use = choices, default, in_use
        self.conflicts: list[Conflict] = []

    def decide(
        self, path: str, base: Any, mine: Any, theirs: Any, note: str = "", **more: Any
    ) -> str:
        choice = self.choices.get(path) or self.default
        self.conflicts.append(Conflict(path, base, mine, theirs, note, choice, **more))
        return choice or "mine"  # undecided: show the local value until chosen

    def props(self, path: str, b: dict, mine: dict, theirs: dict) -> dict:
        out = {}
        for name in [*mine, *(k for k in theirs if k not in mine), *b]:
            if name in out:
                continue
            bv, lv, tv = (d.get(name, MISSING) for d in (b, mine, theirs))
            if lv == tv or tv == bv:
                value = lv
            elif lv == bv:
                value = tv
            else:
                where = f"{path}.{name}" if path else name
                value = lv if self.decide(where, bv, lv, tv) == "mine" else tv
            if value is not MISSING:
                out[name] = value
        return out

    def node(self, path: str, b, mine, theirs, where: tuple = (), mapped: frozenset = frozenset()):
        """The merged item (None: gone); ``where`` names its parents' local keys."""
        if b is None and (mine is None or theirs is None):
            picked = mine or theirs
            if picked is not None:
                picked.local_key = mine.key if mine else None
            return picked
        if b is not None and (mine is None or theirs is None):
            return self.deleted(path, b, mine, theirs, where, mapped)
        base = b or Node(mine.key, {})
        out = Node(mine.key, self.props(path, base.props, mine.props, theirs.props))
        out.key = out.props.get("key", out.props.get("value", mine.key))
        out.local_key, out.renamed = mine.key, theirs.renamed
        for group in dict.fromkeys([*mine.children, *theirs.children]):
            mapped = frozenset(
                v for n in theirs.children.get(group, {}).values() for v in n.renamed
            )
            out.children[group] = self.children(
                f"{path}.{group}" if path else group,
                base.children.get(group, {}),
                mine.children.get(group, {}),
                theirs.children.get(group, {}),
                (*where, mine.key),
                mapped,
            )
        return out

    def deleted(self, path, b: Node, mine, theirs, where: tuple, mapped: frozenset) -> Node | None:
        """One side deleted the item: gone, unless the other side changed it (a conflict)."""
        kept = mine or theirs
        if kept is None:
            return None
        if kept.plain() == b.plain():
            if mine is not None and self._held(path, mine, where, mapped):
                return mine
            return None
        if mine is None:
            note = "deleted here, changed upstream"
            keep = self.decide(path, b.key, DELETED, theirs.key, note, kind="deleted_here")
            keep = keep == "theirs"
        else:
            note = "changed here, deleted upstream"
            keep = self.decide(path, b.key, mine.key, DELETED, note, kind="deleted_upstream")
            keep = keep == "mine"
        if keep:
            kept.local_key = mine.key if mine else None
            return kept
        return None

    def _held(self, path: str, mine: Node, where: tuple, mapped: frozenset) -> bool:
        """An option removed upstream but held by local records: decide keep or remove."""
        if self.in_use is None or len(where) != 3 or path.split(".")[-2] != "options":
            return False
        _root, rt, fld = where
        if mine.key in mapped:
            return False
        n = self.in_use(rt, fld, mine.key)
        if not n:
            return False
        note = f"removed upstream, but {n} record(s) here hold it"
        if self.decide(path, mine.key, mine.key, DELETED, note, kind="held", held=n) == "mine":
            mine.local_key = mine.key
            return True
        return False

    def children(self, path, bm: dict, lm: dict, tm: dict, where, mapped) -> dict[str, Node]:
        lm = _unify(bm, lm, tm)
        order = _order(lm, tm)
        out: dict[str, Node] = {}
        for item_id in order:
            some = lm.get(item_id) or tm.get(item_id) or bm[item_id]
            node = self.node(
                f"{path}.{some.key}",
                bm.get(item_id),
                lm.get(item_id),
                tm.get(item_id),
                where,
                mapped,
            )
            if node is not None:
                out[item_id] = node
        return out


def _rename_references(version: Node, merged: dict[str, Node]) -> None:
    """Rewrite ``version``'s references to record types and fields into merged names."""
    rts: dict[str, str] = {}
    fields: dict[tuple[str, str], str] = {}
    for rt_id, rt in version.children["record_types"].items():
        target = merged.get(rt_id)
        if target is None:
            continue
        rts[rt.key] = target.key
        for f_id, f in rt.children["fields"].items():
            if f_id in target.children["fields"]:
                fields[(rt.key, f.key)] = target.children["fields"][f_id].key
    for rt in version.children["record_types"].values():
        own = {f: new for (r, f), new in fields.items() if r == rt.key}
        rt.props = references.record_type(rt.props, own)
    for group in KEYED:
        for node in version.children[group].values():
            node.props = references.item(group, node.props, (rts, fields))


def _unify(bm: dict, lm: dict, tm: dict) -> dict:
    """Items both sides added with the same key become one (theirs' id)."""
    added = {n.key: i for i, n in tm.items() if i not in bm}
    return {(added.get(n.key, i) if i not in bm and i not in tm else i): n for i, n in lm.items()}


def _order(lm: dict, tm: dict) -> list[str]:
    """Local order, with items only theirs has placed after their predecessor there."""
    order = list(lm)
    previous = None
    for item_id in tm:
        if item_id not in order:
            at = order.index(previous) + 1 if previous in order else len(order)
            order.insert(at, item_id)
        previous = item_id
    return order


# ---------------------------------------------------------------- nodes -> data


def _option_data(node: Node, gone: set[str]) -> dict[str, Any]:
    out = dict(node.props)
    renamed = [node.local_key] if node.local_key and node.local_key != node.key else []
    renamed += [v for v in node.renamed if v in gone and v not in renamed]
    if renamed:
        out["renamed_from"] = renamed[0] if len(renamed) == 1 else renamed
    return out


def _with_rename(out: dict[str, Any], node: Node) -> dict[str, Any]:
    if node.local_key and node.local_key != node.key:
        out["renamed_from"] = node.local_key
    return out


def _field_data(node: Node, local_values: set[str]) -> dict[str, Any]:
    out = dict(node.props)
    options = node.children.get("options")
    if options is not None:
        kept = {n.key for n in options.values()}
        out["options"] = [_option_data(n, local_values - kept) for n in options.values()]
    return _with_rename(out, node)


def to_data(root: Node, app_id: str, version: str, local: Node) -> dict[str, Any]:
    """The merged tree as template data (names relative to the local version)."""
    out: dict[str, Any] = {"id": app_id, "version": version, **root.props}
    rts = []
    for rt_id, rt in root.children["record_types"].items():
        local_rt = local.children["record_types"].get(rt_id)
        fields = []
        for f_id, f in rt.children["fields"].items():
            local_f = local_rt.children["fields"].get(f_id) if local_rt else None
            values = (
                {n.key for n in (local_f.children.get("options") or {}).values()}
                if local_f
                else set()
            )
            fields.append(_field_data(f, values))
        rts.append(_with_rename({**rt.props, "fields": fields}, rt))
    out["record_types"] = rts
    for group in KEYED:
        items = [dict(n.props) for n in root.children[group].values()]
        if items:
            out[group] = items
    return out


def ids_of(root: Node) -> dict[str, str]:
    """The merged result's id map (names of the merged version)."""
    ids: dict[str, str] = {}
    for rt_id, rt in root.children["record_types"].items():
        ids[identity.rt_name(rt.key)] = _real(rt_id)
        for f_id, f in rt.children["fields"].items():
            ids[identity.field_name(rt.key, f.key)] = _real(f_id)
            for o_id, o in (f.children.get("options") or {}).items():
                ids[identity.option_name(rt.key, f.key, o.key)] = _real(o_id)
    return ids


def _real(item_id: str) -> str:
    """Items that had no id (an older stored version) get one now."""
    return identity.new_id() if ":" in item_id else item_id


def merge(
    base: tuple[Mapping[str, Any], Mapping[str, str]],
    local: tuple[Mapping[str, Any], Mapping[str, str]],
    theirs: tuple[Mapping[str, Any], Mapping[str, str]],
    *,
    version: str,
    choices: Mapping[str, str] | None = None,
    default: str | None = None,
    in_use: InUse | None = None,
) -> MergeResult:
    """Merge three (template data, ids) versions; ``choices`` decide conflicts by path.

    ``default`` ("mine" or "theirs") decides every conflict ``choices`` does not name;
    without it such conflicts stay undecided (the local value shows in ``data``).
    """
    b, mine, t = (to_node(d, ids) for d, ids in (base, local, theirs))
    # first learn the merged names, then say every reference in them on all three sides
    keys = _Merger(choices or {}, default, None).node("", *copy.deepcopy((b, mine, t)))
    for side in (b, mine, t):
        _rename_references(side, keys.children["record_types"])
    m = _Merger(choices or {}, default, in_use)
    root = m.node("", b, mine, t)
    data = to_data(root, str(local[0]["id"]), version, mine)
    return MergeResult(data, ids_of(root), m.conflicts)
