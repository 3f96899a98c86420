"""Stable ids: kept through renames (record type, field, option), fresh for new items."""

from __future__ import annotations

import copy

from tessera.merge import identity, three_way
from tessera.meta import app_from_data

V1 = {
    "id": "s",
    "version": "1.0.0",
    "label": "S",
    "record_types": [
        {
            "key": "deal",
            "fields": [
                {"key": "name", "type": "text"},
                {"key": "stage", "type": "select", "options": [{"value": "a"}, {"value": "b"}]},
            ],
        }
    ],
}


def test_ids_follow_renames_and_new_items_get_fresh_ones():
    old = app_from_data(copy.deepcopy(V1))
    ids = identity.carry(None, None, old)
    assert set(ids) == {"deal", "deal.name", "deal.stage", "deal.stage=a", "deal.stage=b"}
    assert len(set(ids.values())) == 5
    data = copy.deepcopy(V1)
    data["version"] = "1.1.0"
    rt = data["record_types"][0]
    rt.update(key="opportunity", renamed_from="deal")
    rt["fields"][0].update(key="title", renamed_from="name")
    rt["fields"][1]["options"] = [{"value": "aa", "renamed_from": "a"}, {"value": "c"}]
    new = identity.carry(old, ids, app_from_data(data))
    assert new["opportunity"] == ids["deal"]
    assert new["opportunity.title"] == ids["deal.name"]
    assert new["opportunity.stage"] == ids["deal.stage"]
    assert new["opportunity.stage=aa"] == ids["deal.stage=a"]
    assert new["opportunity.stage=c"] not in ids.values()


def test_merge_without_stored_ids_matches_by_name():
    base = copy.deepcopy(V1)
    mine = copy.deepcopy(V1)
    mine["record_types"][0]["fields"].append({"key": "x", "type": "text"})
    theirs = copy.deepcopy(V1)
    theirs["record_types"][0]["fields"][1]["options"].append({"value": "c"})
    result = three_way.merge((base, {}), (mine, {}), (theirs, {}), version="1.1.0")
    fields = result.data["record_types"][0]["fields"]
    assert [f["key"] for f in fields] == ["name", "stage", "x"]
    assert [o["value"] for o in fields[1]["options"]] == ["a", "b", "c"]
    assert result.conflicts == []
