"""A job whose process died mid-import ends by itself: failed, in words, nothing left behind."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tessera.dataio import mapping, service
from tessera.dataio.importer import Importer, ImportOptions

ROWS = "客户名称,手机\n" + "".join(f"客户{i},1{i:010d}\n" for i in range(6))


class Died(BaseException):
    """The worker process ended (SIGKILL, OOM): nothing after this point runs."""


def _names(t):
    table = t.registry.table("crm", "customer")
    with t.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(table.c.name)))


def _job(t, path, **opts):
    app, rt, _ = t.records.resolve("crm", "customer")
    options = ImportOptions(mapping=mapping.suggest(app, rt, ["客户名称", "手机"]), **opts)
    return service.create_job(t, "crm", "customer", path, path.name, options, None)


def _die_after_first_batch(monkeypatch):
    """The process dies once a batch is written: no undo, no final status, no more beats."""
    real = service._progress

    def progress(t, job_id, processed, result):
        real(t, job_id, processed, result)
        raise Died

    monkeypatch.setattr(service, "_progress", progress)
    monkeypatch.setattr(Importer, "_undo", lambda self: None)


def test_a_job_whose_process_died_is_failed_and_undone_when_looked_at(crm, write_csv, monkeypatch):
    job = _job(crm, write_csv(ROWS), batch_size=2, skip_invalid=True)
    _die_after_first_batch(monkeypatch)
    with pytest.raises(Died):
        service.execute(crm, job, "run")
    assert len(_names(crm)) == 2  # half-imported for now
    assert service.get_job(crm, job)["status"] == "running"
    assert service.reap_stale(crm) == []  # its last beat is recent: not lost yet
    old = datetime.now(UTC) - timedelta(seconds=service.STALE_SECONDS + 5)
    service.update_job(crm, job, updated_at=old)
    (listed,) = service.recent_jobs(crm, "crm")  # the job list (and the job page) reap
    assert listed["status"] == "failed" and listed["error"] == service.STALE_ERROR
    assert "start it again" in listed["error"] and listed["finished_at"] is not None
    assert _names(crm) == []  # nothing half-imported
    assert service.reap_stale(crm) == []  # once only


def test_a_lost_dry_run_is_failed_without_undo(crm, write_csv, monkeypatch):
    job = _job(crm, write_csv(ROWS), batch_size=2)
    _die_after_first_batch(monkeypatch)
    with pytest.raises(Died):
        service.execute(crm, job, "check")
    service.update_job(crm, job, updated_at=datetime.now(UTC) - timedelta(hours=1))
    assert service.reap_stale(crm, job_id=job) == [job]
    assert service.get_job(crm, job)["status"] == "failed"


def test_a_live_job_keeps_beating_and_is_not_reaped(crm, write_csv):
    crm.config["IMPORT_STALE_SECONDS"] = 4  # beats every second
    job = _job(crm, write_csv(ROWS))
    old = datetime.now(UTC) - timedelta(seconds=60)
    service.update_job(crm, job, status="running", updated_at=old)
    beaten = threading.Event()
    with service.heartbeat(crm, job):
        for _ in range(50):  # bounded wait for the first beat (about a second)
            seen = service.get_job(crm, job)["updated_at"]
            if (seen if seen.tzinfo else seen.replace(tzinfo=UTC)) > old + timedelta(seconds=30):
                beaten.set()
                break
            beaten.wait(0.1)
        assert beaten.is_set()
        assert service.reap_stale(crm) == []
    assert service.get_job(crm, job)["status"] == "running"
