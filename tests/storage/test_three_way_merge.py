"""Three-way merge: the author's installed version (base), the builder-customised installed
version (local) and the author's new version (theirs), applied with the data kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tessera.merge import service
from tessera.meta import app_from_data
from tessera.storage import installer

BASE: dict[str, Any] = {
    "id": "crmx",
    "version": "1.0.0",
    "label": {"en": "Sales", "zh-CN": "销售"},
    "record_types": [
        {
            "key": "deal",
            "label": {"en": "Deal", "zh-CN": "商机"},
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "amount", "type": "number", "label": {"en": "Amount", "zh-CN": "金额"}},
                {"key": "code", "type": "text"},
                {
                    "key": "stage",
                    "type": "select",
                    "options": [{"value": "new"}, {"value": "won"}, {"value": "lost"}],
                },
            ],
        }
    ],
    "views": [{"key": "deals", "type": "table", "record_type": "deal", "columns": ["name"]}],
}


def _f(data: dict, key: str) -> dict:
    return next(f for f in data["record_types"][0]["fields"] if f["key"] == key)


def _version(version: str, edit=None) -> dict:
    data = copy.deepcopy(BASE)
    data["version"] = version
    if edit:
        edit(data)
    return data


def _setup(eng, local_edit) -> None:
    """Install 1.0.0 with rows, then customise it as the builder does (1.0.1)."""
    installer.install(eng, app_from_data(copy.deepcopy(BASE)), None)
    rows = [
        {"name": "A", "amount": 10, "code": "x1", "stage": "won"},
        {"name": "B", "amount": 20, "code": "x2", "stage": "lost"},
    ]
    with eng.begin() as conn:
        conn.execute(sa.insert(sa.table("rt_crmx_deal", *map(sa.column, rows[0]))), rows)
    local = app_from_data(_version("1.0.1", local_edit))
    installer.upgrade(eng, local, None, local_edit=True)


def _rows(eng, *cols) -> list[tuple]:
    with eng.connect() as conn:
        q = sa.select(*map(sa.column, cols)).select_from(sa.table("rt_crmx_deal"))
        return [tuple(r) for r in conn.execute(q.order_by(sa.column("id")))]


def _installed(eng) -> dict:
    return installer.export(eng, "crmx")


def _fields(data: dict) -> list[str]:
    return [f["key"] for f in data["record_types"][0]["fields"]]


def test_clean_merge_applies_both_sides_and_keeps_data(eng):
    def mine(d):
        d["record_types"][0]["fields"].append({"key": "region", "type": "text"})
        _f(d, "amount")["label"] = {"en": "Value", "zh-CN": "价值"}
        d["views"][0]["columns"] = ["name", "region"]

    def theirs(d):
        d["record_types"][0]["fields"].insert(2, {"key": "score", "type": "number"})
        _f(d, "code")["label"] = {"en": "Reference", "zh-CN": "编号"}
        d["views"].append({"key": "won", "type": "table", "record_type": "deal"})

    _setup(eng, mine)
    assert service.is_customised(eng, "crmx")
    out = service.merge_upgrade(eng, app_from_data(_version("1.1.0", theirs)))
    assert out.conflicts == [] and out.applied, (out.problems, out.error)
    data = _installed(eng)
    assert data["version"] == "1.1.0"
    assert _fields(data) == ["name", "amount", "score", "code", "stage", "region"]
    assert _f(data, "amount")["label"] == {"en": "Value", "zh-CN": "价值"}
    assert _f(data, "code")["label"] == {"en": "Reference", "zh-CN": "编号"}
    assert [v["key"] for v in data["views"]] == ["deals", "won"]
    assert data["views"][0]["columns"] == ["name", "region"]
    assert _rows(eng, "name", "code", "stage") == [("A", "x1", "won"), ("B", "x2", "lost")]
    # the merged result exports as YAML that installs as is
    assert yaml.safe_load(out.yaml)["record_types"][0]["fields"][2]["key"] == "score"


@pytest.mark.parametrize("choice", ["mine", "theirs", None])
def test_conflict_lists_property_and_applies_the_choice(eng, choice):
    _setup(eng, lambda d: _f(d, "amount").update(label={"en": "Mine"}))
    theirs = app_from_data(
        _version(
            "1.1.0",
            lambda d: _f(d, "amount").update(required=True, label={"en": "Theirs"}, default=0),
        )
    )
    path = "record_types.deal.fields.amount.label"
    choices = {path: choice} if choice else {}
    out = service.merge_upgrade(eng, theirs, choices=choices)
    [conflict] = out.conflicts
    assert conflict.path == path
    assert (conflict.mine, conflict.theirs) == ({"en": "Mine"}, {"en": "Theirs"})
    assert conflict.base == {"en": "Amount", "zh-CN": "金额"}
    if choice is None:
        assert out.plan is None and not out.applied
        assert _installed(eng)["version"] == "1.0.1"
        return
    assert out.applied
    amount = _f(_installed(eng), "amount")
    assert amount["label"] == ({"en": "Mine"} if choice == "mine" else {"en": "Theirs"})
    assert amount["required"] is True  # theirs' other change applies either way


def test_rename_here_and_relabel_upstream(eng):
    _setup(eng, lambda d: _f(d, "code").update(key="ref", renamed_from="code"))
    theirs = app_from_data(
        _version("1.1.0", lambda d: _f(d, "code").update(label={"en": "Code no."}))
    )
    out = service.merge_upgrade(eng, theirs)
    assert out.conflicts == [] and out.applied
    ref = _f(_installed(eng), "ref")
    assert ref["label"] == {"en": "Code no."}
    assert _rows(eng, "ref") == [("x1",), ("x2",)]


def test_rename_upstream_and_relabel_here(eng):
    _setup(eng, lambda d: _f(d, "code").update(label={"en": "My code"}))
    theirs = app_from_data(
        _version("1.1.0", lambda d: _f(d, "code").update(key="reference", renamed_from="code"))
    )
    out = service.merge_upgrade(eng, theirs)
    assert out.conflicts == [] and out.applied, (out.problems, out.error)
    data = _installed(eng)
    assert "code" not in _fields(data)
    assert _f(data, "reference")["label"] == {"en": "My code"}
    assert _rows(eng, "reference") == [("x1",), ("x2",)]
    # the next author release merges against 1.1.0: the rename is not seen again
    later = app_from_data(
        _version(
            "1.2.0",
            lambda d: (_f(d, "code").update(key="reference"), _f(d, "name").update(unique=True)),
        )
    )
    again = service.merge_upgrade(eng, later)
    assert again.conflicts == [] and again.applied, (again.problems, again.error)
    assert _f(_installed(eng), "reference")["label"] == {"en": "My code"}


@pytest.mark.parametrize("choice", ["mine", "theirs"])
def test_option_removed_upstream_but_held_here(eng, choice):
    _setup(eng, lambda d: _f(d, "name").update(label={"en": "Deal name"}))

    def drop_lost(d):
        _f(d, "stage")["options"].pop(2)

    out = service.merge_upgrade(eng, app_from_data(_version("1.1.0", drop_lost)), default=choice)
    [conflict] = out.conflicts
    assert conflict.path == "record_types.deal.fields.stage.options.lost"
    assert conflict.note == "removed upstream, but 1 record(s) here hold it"
    if choice == "mine":
        assert out.applied
        values = [o["value"] for o in _f(_installed(eng), "stage")["options"]]
        assert values == ["new", "won", "lost"]
    else:  # taking the removal: the upgrade refuses while a record holds the value
        assert not out.applied and "option 'lost' is held by 1 record(s)" in out.error
        assert _installed(eng)["version"] == "1.0.1"
    assert _rows(eng, "stage") == [("won",), ("lost",)]


def test_option_removed_upstream_with_mapping_is_no_conflict(eng):
    _setup(eng, lambda d: _f(d, "name").update(label={"en": "Deal name"}))

    def merge_lost(d):
        _f(d, "stage")["options"] = [{"value": "new", "renamed_from": "lost"}, {"value": "won"}]

    out = service.merge_upgrade(eng, app_from_data(_version("1.1.0", merge_lost)))
    assert out.conflicts == [] and out.applied, (out.problems, out.error)
    assert _rows(eng, "stage") == [("won",), ("new",)]


def test_field_added_on_both_sides_with_the_same_key(eng):
    region = {"key": "region", "type": "text"}
    _setup(eng, lambda d: d["record_types"][0]["fields"].append(dict(region)))
    same = app_from_data(
        _version("1.1.0", lambda d: d["record_types"][0]["fields"].append(dict(region)))
    )
    result = service.merge(eng, same)[0]
    assert result.conflicts == [] and _fields(result.data).count("region") == 1

    other = {"key": "region", "type": "select", "options": [{"value": "north"}]}
    differ = app_from_data(
        _version("1.1.0", lambda d: d["record_types"][0]["fields"].append(other))
    )
    result = service.merge(eng, differ, default="mine")[0]
    assert [c.path for c in result.conflicts] == ["record_types.deal.fields.region.type"]
    assert _f(result.data, "region")["type"] == "text"


def test_deleted_here_changed_upstream_is_a_conflict(eng):
    _setup(eng, lambda d: d["record_types"][0]["fields"].remove(_f(d, "code")))
    theirs = app_from_data(
        _version("1.1.0", lambda d: _f(d, "code").update(label={"en": "Code number"}))
    )
    result = service.merge(eng, theirs)[0]
    [c] = result.conflicts
    assert (c.path, c.note) == ("record_types.deal.fields.code", "deleted here, changed upstream")
    assert "code" not in _fields(result.data)
    kept = service.merge(eng, theirs, default="theirs")[0]
    assert "code" in _fields(kept.data)


def test_uncustomised_app_is_not_merged(eng):
    installer.install(eng, app_from_data(copy.deepcopy(BASE)), None)
    assert not service.is_customised(eng, "crmx")


def test_references_follow_a_rename_made_on_the_other_side(eng):
    def mine(d):
        _f(d, "code").update(key="ref", renamed_from="code")

    def theirs(d):
        d["views"][0]["columns"] = ["name", "code"]
        d["views"][0]["filter"] = {"field": "code", "op": "is_not_empty"}
        d["record_types"][0]["indexes"] = [["code"]]

    _setup(eng, mine)
    out = service.merge_upgrade(eng, app_from_data(_version("1.1.0", theirs)))
    assert out.conflicts == [] and out.applied, (out.problems, out.error)
    data = _installed(eng)
    assert data["views"][0]["columns"] == ["name", "ref"]
    assert data["views"][0]["filter"] == {"field": "ref", "op": "is_not_empty"}
    assert data["record_types"][0]["indexes"] == [["ref"]]
