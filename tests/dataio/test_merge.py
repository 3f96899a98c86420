"""Duplicate finder and merge: groups, surviving values, links and junctions re-pointed."""

from __future__ import annotations

import pytest
import yaml

from tessera.dataio.dedupe import norm_company, norm_phone
from tessera.dataio.merge import find_duplicates, merge
from tessera.errors import NotFound
from tessera.records.actor import Actor

ALICE = Actor(kind="user", ref="alice")


def test_normalisers():
    assert norm_company("华为技术有限公司") == norm_company("华为技术 股份") == "华为技术"
    assert norm_company("Acme Co., Ltd.") == norm_company("ACME") == "acme"
    assert norm_phone("+86 138-0013-8000") == norm_phone("13800138000") == "13800138000"


def test_find_groups_by_phone_email_and_company_name(crm):
    make = lambda **v: crm.records.create("crm", "customer", v)["id"]  # noqa: E731
    a = make(name="华为技术有限公司", phone="138 0013 8000")
    b = make(name="华为技术", email="hw@x.cn")
    c = make(name="HW", phone="+86 13800138000")
    d = make(name="腾讯", email="HW@X.CN")
    make(name="阿里巴巴")
    groups = find_duplicates(crm, "crm", "customer", None)
    assert len(groups) == 1
    assert groups[0].ids == [a, b, c, d] and groups[0].reasons == {"name", "phone", "email"}


def test_merge_keeps_chosen_values_repoints_links_and_audits(crm):
    keep = crm.records.create("crm", "customer", {"name": "华为", "phone": "13800138000"})
    other = crm.records.create(
        "crm", "customer", {"name": "华为技术有限公司", "email": "hw@x.cn", "tier": "high"}
    )
    fu = crm.records.create("crm", "follow_up", {"subject": "call", "customer": other["id"]})
    merged = merge(crm, "crm", "customer", keep["id"], [other["id"]],
                   {"name": other["id"]}, ALICE)  # fmt: skip
    assert merged["name"] == "华为技术有限公司" and merged["phone"] == "13800138000"
    assert merged["email"] == "hw@x.cn"  # empty on the survivor: taken from the other
    assert merged["tier"] == "normal"  # the survivor's own value is kept unless chosen
    assert crm.records.get("crm", "follow_up", fu["id"])["customer"] == keep["id"]
    with pytest.raises(NotFound):
        crm.records.get("crm", "customer", other["id"])
    history = crm.records.history("crm", "customer", other["id"])
    assert history[-1]["action"] == "delete" and history[-1]["actor_ref"] == f"merge:{keep['id']}"


TEAMS = """
id: teams
version: 1.0.0
label: Teams
record_types:
  - key: person
    title: name
    fields:
      - {key: name, type: text, required: true}
      - {key: email, type: email, unique: true}
  - key: team
    title: name
    fields:
      - {key: name, type: text}
      - {key: members, type: link_many, to: person}
"""


def test_merge_repoints_junction_rows_and_frees_unique_values(crm):
    from tessera.meta import app_from_data
    from tessera.storage import installer

    installer.install(crm.engine, app_from_data(yaml.safe_load(TEAMS)), TEAMS)
    crm.registry.reload()
    r = crm.records
    p1 = r.create("teams", "person", {"name": "Ann"})
    p2 = r.create("teams", "person", {"name": "Ann B", "email": "ann@x.cn"})
    t1 = r.create("teams", "team", {"name": "red", "members": [p1["id"], p2["id"]]})
    t2 = r.create("teams", "team", {"name": "blue", "members": [p2["id"]]})
    merged = merge(crm, "teams", "person", p1["id"], [p2["id"]], {"email": p2["id"]}, ALICE)
    assert merged["email"] == "ann@x.cn"
    assert r.get("teams", "team", t1["id"])["members"] == [p1["id"]]
    assert r.get("teams", "team", t2["id"])["members"] == [p1["id"]]
