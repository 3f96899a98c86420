"""Uploads under abuse: failed forms leave no file, a daily volume cap, clean names and
types, and files bound to their record."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from web_helpers import csrf

from tessera.fields.files import uploads_dir
from tessera.records.actor import Actor


def _files(tessera):
    root = uploads_dir(tessera.instance_path)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def customer(tessera):
    return tessera.records.create("crm", "customer", {"name": "Acme"}, Actor(user_id=None))


def _ticket(client, customer, data: bytes, name="report.txt", **extra):
    form = {
        "subject": "Broken",
        "customer": str(customer["id"]),
        "_csrf": csrf(client, "/"),
        "attachments": (io.BytesIO(data), name, "text/plain"),
        **extra,
    }
    return client.post(
        "/a/crm/r/ticket/new?form=ticket_form", data=form, content_type="multipart/form-data"
    )


def test_a_422_removes_the_file_it_stored(client, tessera, customer):
    resp = _ticket(client, customer, b"fresh content 1", subject="")  # subject is required
    assert resp.status_code == 422
    assert _files(tessera) == []


def test_a_422_keeps_content_another_record_already_holds(client, tessera, customer):
    assert _ticket(client, customer, b"shared").status_code == 302
    before = _files(tessera)
    assert _ticket(client, customer, b"shared", subject="").status_code == 422
    assert _files(tessera) == before and len(before) == 1


def test_daily_upload_volume_cap(web_app, client, tessera, customer):
    web_app.config["UPLOAD_QUOTA_MB"] = 0.001  # about 1 KB a day
    for _ in range(3):  # failed forms do not use up the volume
        assert _ticket(client, customer, b"c" * 600, subject="").status_code == 422
    assert _ticket(client, customer, b"a" * 600).status_code == 302
    resp = _ticket(client, customer, b"b" * 600)
    assert resp.status_code == 422
    assert "upload limit" in resp.get_data(as_text=True)
    assert len(_files(tessera)) == 1


def test_bidi_and_control_characters_leave_upload_names(client, tessera, customer):
    assert _ticket(client, customer, b"x", name="invoice\u202etxt.exe\u200b\x07").status_code == 302
    (ticket,) = tessera.queries.list("crm", "ticket").rows
    (meta,) = tessera.records.get("crm", "ticket", ticket["id"])["attachments"]
    assert meta["name"] == "invoicetxt.exe"


def test_crlf_in_stored_content_type_cannot_split_download_headers(client, tessera, customer):
    assert _ticket(client, customer, b"y").status_code == 302
    (ticket,) = tessera.queries.list("crm", "ticket").rows
    (meta,) = tessera.records.get("crm", "ticket", ticket["id"])["attachments"]
    resp = client.patch(
        f"/api/v1/crm/ticket/{ticket['id']}",
        json={"attachments": [{**meta, "content_type": "text/html\r\nSet-Cookie: x=1"}]},
    )
    assert resp.status_code == 422
    resp = client.get(f"/a/crm/r/ticket/{ticket['id']}/files/attachments/0")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    # metadata stored before this check existed: the download refuses it cleanly
    bad = [{**meta, "content_type": "text/html\r\nSet-Cookie: x=1"}]
    with tessera.engine.begin() as conn:
        table = sa.table("rt_crm_ticket", sa.column("id"), sa.column("attachments", sa.JSON))
        conn.execute(table.update().where(table.c.id == ticket["id"]).values(attachments=bad))
    resp = client.get(f"/a/crm/r/ticket/{ticket['id']}/files/attachments/0")
    assert resp.status_code == 404 and "x=1" not in str(resp.headers)


def test_file_metadata_cannot_be_copied_onto_another_record(client, tessera, customer):
    assert _ticket(client, customer, b"secret plans").status_code == 302
    (ticket,) = tessera.queries.list("crm", "ticket").rows
    (meta,) = tessera.records.get("crm", "ticket", ticket["id"])["attachments"]
    body = {"subject": "Copy", "customer": customer["id"], "attachments": [meta]}
    resp = client.post("/api/v1/crm/ticket", json=body)
    assert resp.status_code == 400 and "not a file of this record" in resp.get_data(as_text=True)
    other = client.post("/api/v1/crm/ticket", json={"subject": "x", "customer": customer["id"]})
    resp = client.patch(
        f"/api/v1/crm/ticket/{other.get_json()['id']}", json={"attachments": [meta]}
    )
    assert resp.status_code == 400
    resp = client.post("/api/v1/crm/ticket/bulk", json=[body])
    assert resp.status_code == 400
    # the record's own files may be kept (or dropped) through the API
    resp = client.patch(f"/api/v1/crm/ticket/{ticket['id']}", json={"attachments": [meta]})
    assert resp.status_code == 200
