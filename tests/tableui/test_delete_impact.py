"""Deleting a record names what goes with it: counts from the delete's own rules (dry run)."""

from __future__ import annotations

import sqlalchemy as sa
from web_helpers import post


def _count(t, key: str) -> int:
    table = t.registry.table("events", key)
    with t.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def test_impact_counts_cascades_links_rows_and_junctions(tessera, party):
    impact = tessera.records.delete_impact("events", "event", party["event"]["id"])
    assert impact.refused is None
    assert impact.deleted == {"registration": 3, "payment": 1}
    assert impact.cleared == {("note", "event"): 1}
    assert impact.rows == {("event", "agenda"): 2}
    assert impact.links == {("event", "hosts"): 2}
    assert _count(tessera, "registration") == 3  # a dry run: nothing deleted
    tessera.records.delete("events", "event", party["event"]["id"])
    assert _count(tessera, "registration") == 0 and _count(tessera, "payment") == 0


def test_impact_of_a_refused_delete_names_the_blocker(tessera, party):
    reg = party["regs"][1]
    tessera.records.create("events", "invoice", {"number": "INV-7", "registration": reg["id"]})
    impact = tessera.records.delete_impact("events", "event", party["event"]["id"])
    assert impact.refused and "invoice" in impact.refused.lower()
    assert impact.blockers.rt.key == "invoice" and impact.blockers.link.key == "registration"
    assert [b["number"] for b in impact.blockers.rows] == ["INV-7"]
    assert _count(tessera, "registration") == 3


def test_lone_record_has_empty_impact(tessera, party):
    impact = tessera.records.delete_impact("events", "person", party["ann"]["id"])
    assert impact.links == {("event", "hosts"): 1} and not impact.deleted
    impact = tessera.records.delete_impact("events", "note", 1)
    assert impact.empty


def test_confirmation_page_names_what_goes(client, party):
    ev = party["event"]["id"]
    page = client.get(f"/a/events/r/event/{ev}/delete").get_data(as_text=True)
    assert "Registration: 3 records will also be deleted" in page
    assert "Payment: 1 record will also be deleted" in page
    assert "Agenda: 2 rows will be removed" in page
    assert "Event · Hosts: 2 links will be removed" in page
    assert "Note: 1 record will lose its link in Event" in page
    assert 'name="_csrf"' in page
    r = post(client, f"/a/events/r/event/{ev}/delete")
    assert r.status_code == 302
    assert client.get(f"/a/events/r/event/{ev}").status_code == 404


def test_confirmation_page_names_blockers_in_words(client, tessera, party):
    reg = party["regs"][0]["id"]
    tessera.records.create("events", "invoice", {"number": "INV-9", "registration": reg})
    page = client.get(f"/a/events/r/registration/{reg}/delete").get_data(as_text=True)
    assert "cannot be deleted" in page
    assert "Invoice: 1 record links here through Registration" in page and "INV-9" in page
    assert "delete-confirm" not in page  # no confirm button for a refused delete


def test_confirmation_page_in_chinese(client, party):
    ev = party["event"]["id"]
    post(client, "/lang", {"locale": "zh_CN"})
    page = client.get(f"/a/events/r/event/{ev}/delete").get_data(as_text=True)
    assert "报名：还将删除 3 条记录" in page and "议程：将移除 2 行" in page
    assert "此操作无法撤销" in page
