"""Upgrade matrix: every kind of change x rows present, asserting no stored value is lost.

Each case edits the template data of a small sales app, upgrades an installed copy that
holds rows, and compares every row before and after (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from tessera.errors import InstallError
from tessera.meta import app_from_data
from tessera.storage import installer, migrate

BASE: dict[str, Any] = {
    "id": "sales",
    "version": "1.0.0",
    "label": {"en": "Sales", "zh-CN": "销售"},
    "record_types": [
        {
            "key": "deal",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "amount", "type": "number"},
                {"key": "code", "type": "text"},
                {
                    "key": "stage",
                    "type": "select",
                    "options": [{"value": "new"}, {"value": "won"}, {"value": "lost"}],
                },
                {
                    "key": "tags",
                    "type": "multi_select",
                    "options": [{"value": "hot"}, {"value": "cold"}, {"value": "vip"}],
                },
            ],
        }
    ],
}
ROWS = [
    {"name": "A", "amount": 10, "code": "7", "stage": "won", "tags": ["hot", "vip"]},
    {"name": "B", "amount": 20, "code": "8", "stage": "lost", "tags": ["cold"]},
    {"name": "C", "amount": None, "code": None, "stage": "new", "tags": None},
]
COLS = ("name", "amount", "code", "stage", "tags")


def _deal(data: dict) -> dict:
    return data["record_types"][0]


def _f(data: dict, key: str) -> dict:
    return next(f for f in _deal(data)["fields"] if f["key"] == key)


def _table(*names: str) -> sa.TableClause:
    return sa.table(
        "rt_sales_deal",
        *(sa.column(n, sa.JSON() if n in ("tags", "labels") else None) for n in names),
    )


def _install(eng: sa.Engine) -> None:
    installer.install(eng, app_from_data(copy.deepcopy(BASE)), None)
    with eng.begin() as conn:
        conn.execute(sa.insert(_table(*COLS)), ROWS)


def _read(eng: sa.Engine, *names: str) -> list[tuple]:
    t = _table("id", *names)
    with eng.connect() as conn:
        rows = conn.execute(sa.select(*(t.c[n] for n in names)).order_by(t.c.id)).all()
    return [
        tuple(
            float(v) if isinstance(v, Decimal | int) and n != "id" else v
            for n, v in zip(names, r, strict=True)
        )
        for r in rows
    ]


def _upgrade(eng: sa.Engine, edit: Callable[[dict], None], purge: bool = False):
    data = copy.deepcopy(BASE)
    data["version"] = "1.1.0"
    edit(data)
    return installer.upgrade(eng, app_from_data(data), None, purge=purge)


# ------------------------------------------------------------ edits and what rows hold after


def add_with_default(d):
    _deal(d)["fields"].append({"key": "region", "type": "text", "default": "north"})


def remove_field(d):
    _deal(d)["fields"].remove(_f(d, "code"))


def rename_field(d):
    _f(d, "code").update(key="ref", renamed_from="code")


def retype(d):
    _f(d, "code").update(type="number")


def relabel(d):
    _f(d, "amount")["label"] = {"en": "Value", "zh-CN": "金额"}
    _f(d, "stage")["options"][1]["label"] = {"en": "Closed won", "zh-CN": "赢单"}


def index_change(d):
    _deal(d)["indexes"] = [["stage", "amount"]]


def option_renamed(d):
    _f(d, "stage")["options"][1] = {"value": "closed_won", "renamed_from": "won"}
    _f(d, "tags")["options"][0] = {"value": "warm", "renamed_from": "hot"}


def option_merged(d):
    # "lost" is removed and mapped onto "new"; multi_select "cold" onto "vip"
    _f(d, "stage")["options"] = [{"value": "new", "renamed_from": "lost"}, {"value": "won"}]
    _f(d, "tags")["options"] = [{"value": "hot"}, {"value": "vip", "renamed_from": ["cold"]}]


def option_removed_unused(d):
    _f(d, "stage")["options"].append({"value": "parked"})
    _f(d, "tags")["options"].pop(2)  # "vip" is held by row A: keep it below
    _f(d, "tags")["options"].append({"value": "vip"})


KEEP = [tuple(r[c] if c != "amount" or r[c] is None else float(r[c]) for c in COLS) for r in ROWS]


def _with(col: str, values: list) -> list[tuple]:
    i = COLS.index(col)
    return [(*r[:i], v, *r[i + 1 :]) for r, v in zip(KEEP, values, strict=True)]


CASES = {
    "add field with default": (add_with_default, [*COLS, "region"], [(*r, "north") for r in KEEP]),
    "remove field (archived)": (remove_field, ["name", "amount", "stage", "tags"], None),
    "rename field": (rename_field, ["name", "amount", "ref", "stage", "tags"], KEEP),
    "retype text to number": (retype, COLS, _with("code", [7.0, 8.0, None])),
    "relabel": (relabel, COLS, KEEP),
    "index change": (index_change, COLS, KEEP),
    "option renamed": (
        option_renamed,
        COLS,
        [
            ("A", 10.0, "7", "closed_won", ["warm", "vip"]),
            ("B", 20.0, "8", "lost", ["cold"]),
            ("C", None, None, "new", None),
        ],
    ),
    "option removed with mapping": (
        option_merged,
        COLS,
        [
            ("A", 10.0, "7", "won", ["hot", "vip"]),
            ("B", 20.0, "8", "new", ["vip"]),
            ("C", None, None, "new", None),
        ],
    ),
    "option order and unused option": (option_removed_unused, COLS, KEEP),
}


@pytest.mark.parametrize("case", list(CASES))
def test_upgrade_keeps_every_value(eng, case):
    edit, cols, expected = CASES[case]
    _install(eng)
    plan = _upgrade(eng, edit)
    if expected is None:  # removed: the archived column still holds every value
        archived = next(
            c["name"]
            for c in sa.inspect(eng).get_columns("rt_sales_deal")
            if c["name"].startswith("_archived")
        )
        assert [r[0] for r in _read(eng, archived)] == ["7", "8", None]
        expected = [(r[0], r[1], r[3], r[4]) for r in KEEP]
    assert _read(eng, *cols) == expected
    assert plan.data_loss == []


def test_added_default_is_said_in_the_plan(eng):
    _install(eng)
    plan = _upgrade(eng, add_with_default)
    assert (
        "add field deal.region (text); existing records get the default 'north'" in plan.describe()
    )


def test_removed_option_held_by_rows_is_refused_naming_it(eng):
    _install(eng)

    def drop_lost(d):
        _f(d, "stage")["options"].pop(2)

    with pytest.raises(InstallError) as err:
        _upgrade(eng, drop_lost)
    msg = str(err.value)
    assert "deal.stage" in msg and "option 'lost' is held by 1 record(s)" in msg
    assert "renamed_from: lost" in msg
    assert [v["version"] for v in installer.list_apps(eng)] == ["1.0.0"]
    assert _read(eng, *COLS) == KEEP


def test_removed_multi_select_option_held_is_refused(eng):
    _install(eng)

    def drop_vip(d):
        _f(d, "tags")["options"].pop(2)

    with pytest.raises(InstallError, match=r"deal\.tags: option 'vip' is held by 1 record"):
        _upgrade(eng, drop_vip)


def test_removed_option_with_purge_clears_values(eng):
    _install(eng)

    def drop(d):
        _f(d, "stage")["options"].pop(2)
        _f(d, "tags")["options"].pop(1)

    plan = _upgrade(eng, drop, purge=True)
    assert [s.kind for s in plan.data_loss] == ["change_options", "change_options"]
    assert _read(eng, "stage", "tags") == [("won", ["hot", "vip"]), (None, None), ("new", None)]


def test_plan_of_option_changes_names_the_mapping():
    old = app_from_data(copy.deepcopy(BASE))
    data = copy.deepcopy(BASE)
    option_renamed(data)
    p = migrate.plan(old, app_from_data(data))
    assert "map options of deal.stage: 'won' -> 'closed_won'" in p.describe()


def test_defaults_of_other_types_fill_existing_rows(eng):
    _install(eng)

    def add(d):
        _deal(d)["fields"] += [
            {"key": "flagged", "type": "boolean", "default": True},
            {
                "key": "labels",
                "type": "multi_select",
                "options": [{"value": "x"}, {"value": "y"}],
                "default": ["y"],
            },
            {"key": "score", "type": "number", "default": 5, "required": True},
            {"key": "due", "type": "date"},
        ]

    plan = _upgrade(eng, add)
    assert "existing records get the default" not in next(s for s in plan.describe() if "due" in s)
    t = _table("id", "flagged", "labels", "score", "due")
    with eng.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.flagged, t.c.labels, t.c.score, t.c.due).order_by(t.c.id)
        ).all()
    assert [(bool(f), labels, int(s), d) for f, labels, s, d in rows] == [
        (True, ["y"], 5, None)
    ] * 3
