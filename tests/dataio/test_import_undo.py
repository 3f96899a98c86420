"""Undoing an import set-based: batches of rows per statement, one "changed since" query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tessera.dataio import mapping, service, undo
from tessera.dataio.importer import ImportOptions
from tessera.errors import Conflict
from tessera.storage.events import audit_log, outbox

N = 1_050


def _csv(write_csv, rows: int = N):
    body = "".join(f"客户{i:05d},1{i:010d}\n" for i in range(rows))
    return write_csv("客户名称,手机\n" + body)


def _job(t, path, **opts):
    app, rt, _ = t.records.resolve("crm", "customer")
    options = ImportOptions(mapping=mapping.suggest(app, rt, ["客户名称", "手机"]), **opts)
    return service.create_job(t, "crm", "customer", path, path.name, options, None)


def _count(t, rt_key: str = "customer") -> int:
    table = t.registry.table("crm", rt_key)
    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture
def statements(crm):
    """Every SQL statement run on the engine while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    sa.event.listen(crm.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(crm.engine, "before_cursor_execute", record)


def test_undo_deletes_in_batches_and_restores_updates(crm, write_csv, monkeypatch, statements):
    old = crm.records.create("crm", "customer", {"name": "旧", "phone": "10000000003"})
    job = _job(crm, _csv(write_csv), match=["phone"], on_match="update")
    counts = service.execute(crm, job, "run").counts
    assert (counts["created"], counts["updated"]) == (N - 1, 1)
    monkeypatch.setattr(undo, "UNDO_BATCH", 500)
    statements.clear()
    assert service.undo(crm, job, None) == {"deleted": N - 1, "restored": 1}
    assert _count(crm) == 1
    assert crm.records.get("crm", "customer", old["id"])["name"] == "旧"
    name = crm.registry.table("crm", "customer").name
    deletes = [s for s in statements if s.lstrip().startswith("DELETE") and name in s.split()[2]]
    assert len(deletes) == 3  # 1,049 rows, 500 per statement: not one per row
    with crm.engine.connect() as conn:
        undone = conn.execute(
            sa.select(audit_log.c.action, sa.func.count())
            .where(audit_log.c.actor_ref == f"{job}:undo")
            .group_by(audit_log.c.action)
        ).all()
        events = conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.event == "record.deleted")
        ).scalar_one()
    assert sorted(undone) == [("delete", N - 1), ("update", 1)]  # every row audited
    assert events == N - 1
    with pytest.raises(service.TesseraError, match="is undone"):
        service.undo(crm, job, None)


def test_changed_since_is_one_query_naming_the_changed_records(crm, write_csv, statements):
    job = _job(crm, _csv(write_csv, 30))
    service.execute(crm, job, "run")
    table = crm.registry.table("crm", "customer")
    with crm.engine.connect() as conn:
        ids = sorted(conn.scalars(sa.select(table.c.id)))
    for rid in ids[:7]:
        crm.records.update("crm", "customer", rid, {"tier": "high"})
    statements.clear()
    with crm.engine.connect() as conn:
        changed = undo.changed_since(conn, "crm", str(job))
    assert changed == [f"customer #{i}" for i in ids[:6]]  # capped, in id order
    assert len([s for s in statements if "audit_log" in s]) == 1
    with pytest.raises(Conflict, match=rf"customer #{ids[0]}, .* and more changed since"):
        service.undo(crm, job, None)
    assert _count(crm) == 30  # refused: nothing undone


def test_records_linking_to_imported_rows_follow_their_on_delete_rule(crm, write_csv):
    job = _job(crm, _csv(write_csv, 20))
    service.execute(crm, job, "run")
    table = crm.registry.table("crm", "customer")
    with crm.engine.connect() as conn:
        first = conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars().first()
    crm.records.create("crm", "contact", {"name": "张三", "customer": first})  # cascade
    assert service.undo(crm, job, None) == {"deleted": 20, "restored": 0}
    assert _count(crm) == 0 and _count(crm, "contact") == 0
