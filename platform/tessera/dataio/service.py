"""Import jobs: create, run (in a worker or a thread), progress, cancel, undo, mappings.

A job row in ``import_jobs`` carries the options, the progress, the counts and the
report, so the browser polls it and the CLI prints it. Running:

- with ``REDIS_URL`` the job is an RQ job (``tessera.dataio.jobs.run_import``) on the
  automation queue, picked up by ``flask --app app worker`` processes; the upload must
  then live on storage every worker sees (``IMPORT_DIR``);
- embedded (no Redis) it runs in a daemon thread of the web process, so an upload
  never blocks a request and no worker thread needs to be running;
- the CLI runs it inline.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tessera.dataio.importer import Cancelled, Importer, ImportOptions, Result
from tessera.dataio.readers import DEFAULT_MAX_BYTES, FileProblem
from tessera.dataio.tables import import_jobs, import_mappings
from tessera.dataio.undo import undo_import
from tessera.errors import NotFound, TesseraError
from tessera.records.actor import Actor

log = logging.getLogger("tessera.dataio")
RUNNING = ("checking", "running")
#: a running job silent this long has lost its process: while a job runs, a heartbeat
#: thread renews its ``updated_at`` every quarter of it (IMPORT_STALE_SECONDS overrides)
STALE_SECONDS = 300
#: why a stale job failed, in words (shown on the job page and by the CLI)
STALE_ERROR = (
    "the import stopped without finishing (the process running it ended: a worker "
    "restart or crash); what it had written was undone — start it again"
)


def _now() -> datetime:
    return datetime.now(UTC)


def import_dir(t: Any) -> Path:
    """Where uploads wait for their import (``IMPORT_DIR``, default instance/imports)."""
    path = Path(t.config.get("IMPORT_DIR") or (t.instance_path / "imports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes(t: Any) -> int:
    """The size limit of an import file (``IMPORT_MAX_BYTES``, default 200 MB)."""
    return int(t.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def keep_upload(t: Any, source, file_name: str) -> Path:
    """Copy an uploaded stream (or path) into the import directory, streamed; its path."""
    suffix = Path(file_name).suffix.lower()[:10]
    target = import_dir(t) / f"{uuid.uuid4().hex}{suffix}"
    limit = max_bytes(t)
    with target.open("wb") as out:
        if isinstance(source, str | Path):
            with open(source, "rb") as fh:
                shutil.copyfileobj(fh, out, 1024 * 1024)
        else:
            _copy_limited(source, out, limit, target)
    return target


def _copy_limited(stream, out, limit: int, target: Path) -> None:
    written = 0
    while chunk := stream.read(1024 * 1024):
        written += len(chunk)
        if written > limit:
            out.close()
            target.unlink(missing_ok=True)
            raise FileProblem(
                f"the file is over the {limit // 1024 // 1024} MB import limit; split it "
                "or ask an admin to raise IMPORT_MAX_BYTES"
            )
        out.write(chunk)


def create_job(
    t: Any,
    app_id: str,
    rt_key: str,
    path: Path,
    file_name: str,
    options: ImportOptions,
    user_id: int | None,
) -> int:
    """A new pending import job; its id."""
    t.records.resolve(app_id, rt_key)
    with t.engine.begin() as conn:
        return conn.execute(
            import_jobs.insert().values(
                app_id=app_id, record_type=rt_key, file_name=file_name, file_path=str(path),
                options=options.to_json(), created_by=user_id, status="pending",
                counts={}, report=[],
            )
        ).inserted_primary_key[0]  # fmt: skip


def get_job(t: Any, job_id: int) -> dict[str, Any]:
    """The job row as a dict; NotFound when there is none."""
    with t.engine.connect() as conn:
        row = conn.execute(sa.select(import_jobs).where(import_jobs.c.id == job_id)).mappings()
        job = row.first()
    if job is None:
        raise NotFound(f"import #{job_id} does not exist")
    return dict(job)


def update_job(t: Any, job_id: int, **values: Any) -> None:
    """Set columns of a job row (and its heartbeat)."""
    values.setdefault("updated_at", _now())
    with t.engine.begin() as conn:
        conn.execute(import_jobs.update().where(import_jobs.c.id == job_id).values(**values))


def stale_seconds(t: Any) -> float:
    """How long a running job may stay silent before it counts as lost."""
    value = t.config.get("IMPORT_STALE_SECONDS") if t is not None else None
    return float(STALE_SECONDS if value is None else value)


def is_stale(job: dict[str, Any], t: Any = None) -> bool:
    """A running job whose process has not beaten for ``stale_seconds`` (it was lost)."""
    seen = job.get("updated_at")
    if job["status"] not in RUNNING or seen is None:
        return False
    seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
    return (_now() - seen).total_seconds() > stale_seconds(t)


def reap_stale(t: Any, app_id: str | None = None, job_id: int | None = None) -> list[int]:
    """Fail the running jobs whose process is gone and undo what they wrote; their ids.

    A job writes batch by batch (one transaction per batch), so a process that died
    mid-job leaves the batches it finished: they are read back from the audit log (the
    import's ref) and undone, as a failed import undoes itself. The job is claimed with a
    conditional update first, so two processes looking at once never both undo it.
    Called wherever jobs are looked at (the job page and its polling, the job list,
    cancel), so a lost job ends by itself, not only by Cancel.
    """
    cutoff = _now() - timedelta(seconds=stale_seconds(t))
    where = [import_jobs.c.status.in_(RUNNING), import_jobs.c.updated_at < cutoff]
    if app_id is not None:
        where.append(import_jobs.c.app_id == app_id)
    if job_id is not None:
        where.append(import_jobs.c.id == job_id)
    with t.engine.connect() as conn:
        found = conn.execute(sa.select(import_jobs.c.id, import_jobs.c.status,
                                       import_jobs.c.updated_at).where(*where)).all()  # fmt: skip
    reaped = []
    for jid, status, seen in found:
        with t.engine.begin() as conn:  # claim: only if nobody beat or reaped it since
            claimed = conn.execute(
                import_jobs.update()
                .where(import_jobs.c.id == jid, import_jobs.c.status == status,
                       import_jobs.c.updated_at == seen)
                .values(status="failed", error=STALE_ERROR, finished_at=_now(),
                        updated_at=_now())
            ).rowcount  # fmt: skip
        if not claimed:
            continue
        job = get_job(t, jid)
        if status == "running":  # a dry run ("checking") wrote nothing
            actor = Actor(user_id=job["created_by"], kind="import", ref=str(jid))
            try:
                undo_import(t, job["app_id"], str(jid), actor, force=True)
            except Exception as exc:  # noqa: BLE001 - the job must still say what happened
                log.exception("import #%s: undoing the lost job failed", jid)
                update_job(t, jid, error=f"{STALE_ERROR}. Undoing it failed too: {exc}")
        reaped.append(jid)
    return reaped


@contextlib.contextmanager
def heartbeat(t: Any, job_id: int) -> Iterator[None]:
    """While the block runs, renew the job's ``updated_at`` every quarter stale time.

    A batch may take long (a slow database, an undo); the beat, not the progress,
    tells a live job from one whose process died.
    """
    stop = threading.Event()
    interval = max(stale_seconds(t) / 4, 0.05)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with t.engine.begin() as conn:
                    conn.execute(
                        import_jobs.update()
                        .where(import_jobs.c.id == job_id, import_jobs.c.status.in_(RUNNING))
                        .values(updated_at=_now())
                    )
            except Exception as exc:  # noqa: BLE001 - keep beating through an outage
                log.warning("import #%s heartbeat failed (%s); retrying", job_id, exc)

    thread = threading.Thread(target=beat, name=f"tessera-import-beat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def update_options(t: Any, job_id: int, options: ImportOptions) -> None:
    """Replace a job's options (the wizard's mapping step)."""
    update_job(t, job_id, options=options.to_json())


def start(t: Any, job_id: int, mode: str) -> None:
    """Run the job's ``check`` (dry run) or ``run`` (import) in the background."""
    update_job(t, job_id, status="checking" if mode == "check" else "running", processed=0,
               cancel=False, error=None, fraction=None)  # fmt: skip
    if t.automation.embedded:
        thread = threading.Thread(
            target=execute, args=(t, job_id, mode), name=f"tessera-import-{job_id}", daemon=True
        )
        thread.start()
    else:
        t.automation.queue.enqueue(
            "tessera.dataio.jobs.run_import", job_id, mode, job_timeout=6 * 3600, result_ttl=0
        )


def execute(t: Any, job_id: int, mode: str) -> Result | None:
    """Run a job now, in this thread: progress, final status and report on its row."""
    job = get_job(t, job_id)
    options = ImportOptions.from_json(job["options"])
    actor = Actor(user_id=job["created_by"], kind="import", ref=str(job_id))
    importer = Importer(
        t, job["app_id"], job["record_type"], job["file_path"], options, actor,
        file_name=job["file_name"], max_bytes=max_bytes(t),
        progress=lambda n, r: _progress(t, job_id, n, r),
        cancelled=lambda: _should_stop(t, job_id),
    )  # fmt: skip
    update_job(t, job_id, status="checking" if mode == "check" else "running")
    try:
        with heartbeat(t, job_id):
            result = importer.check() if mode == "check" else importer.run()
    except Cancelled:
        if get_job(t, job_id)["status"] in RUNNING:  # a reaped job stays failed
            update_job(t, job_id, status="cancelled", finished_at=_now())
        return None
    except TesseraError as exc:
        update_job(t, job_id, status="failed", error=str(exc), finished_at=_now())
        return None
    except Exception as exc:  # noqa: BLE001 — the job row must say it failed
        update_job(t, job_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                   finished_at=_now())  # fmt: skip
        raise
    _finish(t, job_id, mode, result, options, job)
    return result


def _should_stop(t: Any, job_id: int) -> bool:
    """Cancel asked, or the job was declared lost meanwhile (this process was too slow)."""
    job = get_job(t, job_id)
    return bool(job["cancel"]) or job["status"] not in RUNNING


def _progress(t: Any, job_id: int, processed: int, result: Result) -> None:
    fraction = None if result.fraction is None else round(result.fraction, 4)
    update_job(t, job_id, processed=processed, counts=dict(result.counts), fraction=fraction)


def _finish(t, job_id, mode, result: Result, options, job) -> None:
    if mode == "check":
        status = "checked"
    elif result.written and (result.ok or options.skip_invalid):
        status = "done"
    else:
        status = "refused"
    update_job(
        t, job_id, status=status, counts=dict(result.counts), report=result.problems,
        total_rows=result.counts["rows"], processed=result.counts["rows"],
        finished_at=_now() if mode == "run" else None,
    )  # fmt: skip
    if mode == "run" and status == "done":
        remember_mapping(t, job["app_id"], job["record_type"], options.mapping)


def cancel(t: Any, job_id: int) -> None:
    """Ask a running job to stop (what it wrote is undone); a waiting one is cancelled.

    A running job that lost its process (no progress for STALE_SECONDS) is ended here:
    what it wrote is undone and it is marked failed.
    """
    if reap_stale(t, job_id=job_id):
        return
    job = get_job(t, job_id)
    if job["status"] in RUNNING:
        update_job(t, job_id, cancel=True)
    elif job["status"] in ("pending", "checked", "refused"):
        update_job(t, job_id, status="cancelled", finished_at=_now())


def undo(t: Any, job_id: int, user_id: int | None) -> dict:
    """Undo a finished import as a whole (Conflict when a row changed since)."""
    job = get_job(t, job_id)
    if job["status"] != "done":
        raise TesseraError(f"import #{job_id} is {job['status']}: only a finished import is undone")
    actor = Actor(user_id=user_id, kind="import", ref=str(job_id))
    counts = undo_import(t, job["app_id"], str(job_id), actor)
    update_job(t, job_id, status="undone")
    return counts


def remember_mapping(t: Any, app_id: str, rt_key: str, mapping: dict) -> None:
    """Keep the mapping used for ``rt_key`` (suggested first next time)."""
    key = (import_mappings.c.app_id == app_id) & (import_mappings.c.record_type == rt_key)
    with t.engine.begin() as conn:
        conn.execute(import_mappings.delete().where(key))
        values = {"app_id": app_id, "record_type": rt_key, "mapping": mapping}
        conn.execute(import_mappings.insert().values(**values, updated_at=_now()))


def remembered_mapping(t: Any, app_id: str, rt_key: str) -> dict:
    """The mapping last used for ``rt_key`` ({} when none)."""
    key = (import_mappings.c.app_id == app_id) & (import_mappings.c.record_type == rt_key)
    with t.engine.connect() as conn:
        return conn.execute(sa.select(import_mappings.c.mapping).where(key)).scalar() or {}


def recent_jobs(t: Any, app_id: str, limit: int = 20) -> list[dict]:
    """The latest imports of an app, newest first (lost ones failed first)."""
    reap_stale(t, app_id=app_id)
    query = (
        sa.select(import_jobs)
        .where(import_jobs.c.app_id == app_id)
        .order_by(import_jobs.c.id.desc())
        .limit(limit)
    )
    with t.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
