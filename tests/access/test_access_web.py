"""Access pages: navigation shows only what a user reads; explain and shares; the pool page."""

from __future__ import annotations

import re

from access_world import login

from tessera.access import sharing


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_navigation_and_app_page_show_only_readable_types_and_scoped_counts(flask_app, world):
    mkt = login(flask_app.test_client(), "mkt")
    html = mkt.get("/").get_data(as_text=True)
    assert "/a/crm/r/customer" in html and "/a/crm/r/ticket" not in html
    rep = login(flask_app.test_client(), "rep1")
    app_page = rep.get("/a/crm").get_data(as_text=True)
    assert "/a/crm/v/pipeline" in app_page
    nobody = login(flask_app.test_client(), "nobody")
    home = nobody.get("/").get_data(as_text=True)
    assert "/a/crm/r/customer" not in home and "Ask an administrator to assign you a role" in home


def test_admins_see_why_a_user_can_see_a_record_and_share_it(flask_app, t, world):
    admin = login(flask_app.test_client(), "admin")
    page = f"/a/crm/r/customer/{world['c1']}"
    assert 'id="record-access"' in admin.get(page).get_data(as_text=True)
    html = admin.get(f"{page}/access", query_string={"user": world["rep1"]}).get_data(as_text=True)
    assert "role sales_rep: read own (owner)" in html
    r = admin.post(
        f"{page}/access/share",
        data={"with": f"user:{world['rep3']}", "level": "read", "_csrf": _csrf(admin)},
    )
    assert r.status_code == 302
    assert sharing.explain(t, "crm", "customer", world["c1"], world["rep3"])["read"] == [
        "shared with them (read)"
    ]
    rep = login(flask_app.test_client(), "rep1")
    assert rep.get(f"{page}/access").status_code == 403
    assert 'id="record-access"' not in rep.get(page).get_data(as_text=True)


def test_a_rep_claims_from_the_pool_page_and_releases(flask_app, t, world):
    rep = login(flask_app.test_client(), "rep1")
    html = rep.get("/a/crm/pool/customer").get_data(as_text=True)
    assert ">c4<" in html and "You hold 1 of at most 50." in html
    r = rep.post(f"/a/crm/pool/customer/{world['c4']}/claim", data={"_csrf": _csrf(rep)})
    assert r.status_code == 302
    assert t.records.get("crm", "customer", world["c4"])["owner"] == world["rep1"]
    record = rep.get(f"/a/crm/r/customer/{world['c4']}").get_data(as_text=True)
    assert "Release to pool" in record
    r = rep.post(f"/a/crm/pool/customer/{world['c4']}/release", data={"_csrf": _csrf(rep)})
    assert r.status_code == 302
    assert login(flask_app.test_client(), "viewer").get("/a/crm/pool/customer").status_code == 403


def test_read_only_fields_are_left_off_forms_and_a_save_keeps_them(flask_app, t, world):
    rep = login(flask_app.test_client(), "rep1")
    page = f"/a/crm/r/customer/{world['c1']}/edit"
    html = rep.get(page).get_data(as_text=True)
    assert 'name="tier"' not in html and 'name="credit_limit"' not in html
    assert 'name="notes"' in html
    version = t.records.get("crm", "customer", world["c1"])["version"]
    form = {"name": "c1", "notes": "via the form", "version": str(version), "_csrf": _csrf(rep)}
    r = rep.post(page, data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    saved = t.records.get("crm", "customer", world["c1"])
    assert saved["notes"] == "via the form" and str(saved["credit_limit"]).startswith("777123")


def test_a_view_built_on_a_hidden_field_is_refused_not_broken(flask_app):
    import pytest
    from werkzeug.exceptions import Forbidden

    from tessera.meta.model import Field, RecordType, View
    from tessera.web.views import _needs_visible_fields

    rt = RecordType("customer", {"en": "C"}, (Field("name", "text", {"en": "Name"}),))
    board = View("b", "kanban", "customer", {"en": "B"}, group_by="tier")
    with flask_app.test_request_context(), pytest.raises(Forbidden) as refused:
        _needs_visible_fields(rt, board)
    assert "tier" in refused.value.description
    _needs_visible_fields(rt, View("t", "table", "customer", {"en": "T"}))  # nothing needed


def test_attachments_download_only_for_readers(flask_app, world):
    from io import BytesIO

    admin = login(flask_app.test_client(), "admin")
    form = {
        "subject": "Broken", "customer": str(world["c3"]), "priority": "normal",
        "status": "open", "attachments": [(BytesIO(b"secret"), "note.txt")],
        "_csrf": _csrf(admin),
    }  # fmt: skip
    r = admin.post("/a/crm/r/ticket/new", data=form, content_type="multipart/form-data")
    assert r.status_code == 302
    href = r.headers["Location"] + "/files/attachments/0"
    assert login(flask_app.test_client(), "agent").get(href).data == b"secret"
    assert login(flask_app.test_client(), "rep3").get(href).data == b"secret"  # c3 is theirs
    assert login(flask_app.test_client(), "rep1").get(href).status_code == 404
    assert login(flask_app.test_client(), "mkt").get(href).status_code == 403  # no tickets


def test_kanban_drag_and_bulk_edit_obey_the_rules(flask_app, t, world):
    rep = login(flask_app.test_client(), "rep1")
    csrf = _csrf(rep)
    move = {"value": "active", "_csrf": csrf}
    assert rep.post("/a/crm/v/lifecycle/move", data={**move, "id": world["c1"]}).status_code == 302
    rep.post("/a/crm/v/lifecycle/move", data={**move, "id": world["c2"]})  # "no such card"
    stages = {n: t.records.get("crm", "customer", world[n])["stage"] for n in ("c1", "c2")}
    assert stages["c1"] == "active" and stages["c2"] != "active"
    mgr = login(flask_app.test_client(), "mgr")
    ids = [str(world[n]) for n in ("c1", "c2", "c3")]
    form = {"ids": ids, "action": "set", "set": "tier=high", "_csrf": _csrf(mgr)}
    assert mgr.post("/a/crm/v/customers/bulk", data=form).status_code == 302
    tiers = {n: t.records.get("crm", "customer", world[n])["tier"] for n in ("c1", "c2", "c3")}
    assert tiers["c1"] == tiers["c2"] == "high" and tiers["c3"] != "high"
    form = {"ids": ids, "action": "delete", "_csrf": csrf}
    assert rep.post("/a/crm/v/customers/bulk", data=form).status_code == 302
    assert len(t.queries.list("crm", "customer").rows) == 4  # reps delete no customers


def test_the_pool_page_speaks_chinese(flask_app, t, world):
    import sqlalchemy as sa

    from tessera.storage.system import users

    with t.engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.id == world["rep1"]).values(locale="zh-CN"))
    html = login(flask_app.test_client(), "rep1").get("/a/crm/pool/customer").get_data(as_text=True)
    assert "公海池" in html and "领取" in html
