"""Running workflows: match an event, record a run, check ``when``, run each step once.

A run is keyed by (trigger occurrence, workflow, record); each step by (run, step path),
so a duplicated or retried job finds the run and skips every step already done (see
:mod:`tessera.automation.actions` for what "once" means per kind of effect). A lease on
the run row keeps two workers from executing the same run at the same time: a heartbeat
renews it every quarter lease while the run executes, every step's transaction renews it
too and fails (rolling the step's effect back) when another executor owns the run, and
a step's "done" mark is never overwritten, so an internal effect and its mark commit
together or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa

from tessera import prefill, timezones
from tessera.automation import actions as registry
from tessera.automation import (
    builtin,  # noqa: F401  (registers the built-in actions)
    tables,
)
from tessera.automation.actions import ActionError, StepContext
from tessera.automation.builtin import truthy
from tessera.automation.render import Moment, RecordView, UserView, render_value
from tessera.automation.timing import parse_duration
from tessera.automation.workflows import (
    event_subject,
    find_workflow,
    fires_on,
    paused,
    workflows_of,
)
from tessera.errors import Conflict, NotFound
from tessera.fields import for_field, polylinks
from tessera.meta.model import App, RecordType, Workflow, thaw
from tessera.query import conditions
from tessera.records.actor import Actor
from tessera.storage.events import audit_log, outbox
from tessera.storage.system import users
from tessera.users import time_zone_of

log = logging.getLogger("tessera.automation")
FINAL = ("done", "skipped", "stopped")
runs, steps = tables.runs, tables.steps


class RunBusy(Exception):
    """Another worker holds the run's lease; try again after ``until``."""

    def __init__(self, run_id: int, until: datetime | None):
        super().__init__(f"run {run_id} is being executed by another worker (lease until {until})")
        self.until = until


class LeaseLost(Exception):
    """This executor no longer owns the run (its lease expired and another took it)."""


class StepDone(Exception):
    """The step was marked done by another executor: this attempt's effect rolls back."""


class _Suspend(Exception):
    """A ``wait`` step: stop here and resume the run at ``resume_at``."""

    def __init__(self, resume_at: datetime):
        self.resume_at = resume_at


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Engine:
    """Workflow execution against one Tessera runtime (records, registry, config)."""

    def __init__(self, tessera: Any):
        self.tessera = tessera
        self.config = tessera.config
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._fresh: dict[int, dict] = {}  # runs this engine created already claimed
        self._heartbeat = _Heartbeat(self)

    # -- settings -----------------------------------------------------------------------
    @property
    def max_depth(self) -> int:
        """AUTOMATION_MAX_DEPTH: how many workflow-caused writes may chain (default 5)."""
        return int(self.config.get("AUTOMATION_MAX_DEPTH", 5))

    @property
    def lease(self) -> timedelta:
        """AUTOMATION_LEASE_SECONDS: how long a run's lease lasts unless renewed (default 10).

        A heartbeat renews the leases of the runs this process executes every quarter of
        it, so a long step keeps its run; a dead executor's run is free within a lease.
        """
        return timedelta(seconds=float(self.config.get("AUTOMATION_LEASE_SECONDS", 10)))

    def now(self) -> datetime:
        """The records service's clock (tests may set it)."""
        return self.tessera.records.clock()

    # -- events -------------------------------------------------------------------------
    def handle_event(self, event_id: int) -> list[int]:
        """Create the runs an outbox event asks for and return their ids (not yet executed)."""
        event = self.load_event(event_id)
        return [] if event is None else self.runs_for(event)

    def load_event(self, event_id: int) -> dict[str, Any] | None:
        """Outbox event ``event_id`` as a dict (None, logged, when it is gone)."""
        with self.tessera.engine.connect() as conn:
            event = (
                conn.execute(sa.select(outbox).where(outbox.c.id == event_id)).mappings().first()
            )
        if event is None:
            log.warning("outbox event %s does not exist (purged?); nothing to do", event_id)
        return dict(event) if event is not None else None

    def runs_for(self, event: Mapping[str, Any]) -> list[int]:
        """The runs (created now or before) of every unpaused workflow the event fires."""
        wfs = [w for w in workflows_of(self.tessera, event["app_id"]) if fires_on(w, event)]
        if not wfs:
            return []
        with self.tessera.engine.connect() as conn:
            stopped = paused(conn, event["app_id"])
        ids = [self._event_run(event, w) for w in wfs if w.key not in stopped]
        return [i for i in ids if i is not None]

    def _event_run(self, event: Mapping[str, Any], wf: Workflow) -> int | None:
        payload = event["payload"] or {}
        depth = int(event["depth"] or 0)
        status, error = "pending", None
        if depth >= self.max_depth:
            status = "stopped"
            error = (
                f"depth limit {self.max_depth} reached: this event was caused by a chain of "
                f"{depth} workflow writes; {wf.key} was not run (a loop between workflows?)"
            )
            log.error("workflow %s.%s on event %s: %s", event["app_id"], wf.key, event["id"], error)
        context = {
            "event": event["event"],
            "changes": payload.get("changes", {}),
            "user_id": (payload.get("actor") or {}).get("user_id"),
        }
        record_id, start_vars = event_subject(event)
        return self.ensure_run(
            key=f"evt:{event['id']}|{event['app_id']}|{wf.key}|{event['record_id']}",
            app_id=event["app_id"],
            wf=wf,
            record_id=record_id,
            start_vars=start_vars,
            trigger=event["event"],
            event_id=event["id"],
            depth=depth,
            context=context,
            status=status,
            error=error,
            claim=True,
        )

    def ensure_run(
        self,
        *,
        key: str,
        app_id: str,
        wf: Workflow,
        record_id: int | None,
        trigger: str,
        context: Mapping[str, Any],
        event_id: int | None = None,
        depth: int = 0,
        status: str = "pending",
        error: str | None = None,
        claim: bool = False,
        start_vars: Mapping[str, Any] | None = None,
    ) -> int:
        """The run for ``key``: created if new, the existing one's id otherwise."""
        row = {
            "key": key,
            "app_id": app_id,
            "workflow_key": wf.key,
            "record_type": wf.record_type,
            "record_id": record_id,
            "trigger": trigger,
            "event_id": event_id,
            "depth": depth,
            "status": status,
            "error": error,
            "context": dict(context),
            "vars": dict(start_vars or {}),
            "attempt": 1,
            "created_at": self.now(),
        }
        if status in FINAL:
            row["finished_at"] = row["created_at"]
        elif claim:  # the caller executes it right away: save the claim's round trip
            row |= {"status": "running", "lease_owner": self.owner, "condition": None,
                    "lease_until": row["created_at"] + self.lease, "started_at": row["created_at"],
                    "failed_step": None, "resume_at": None}  # fmt: skip
        with self.tessera.engine.begin() as conn:  # a duplicate delivery finds the run (no error)
            relaxed(conn)
            query = insert_ignore(conn, runs, ["key"]).values(row).returning(runs.c.id)
            run_id = conn.execute(query).scalar()
            if run_id is None:
                return conn.execute(sa.select(runs.c.id).where(runs.c.key == key)).scalar_one()
        if claim and status not in FINAL:
            self._fresh[run_id] = {**row, "id": run_id, "fresh": True}
        return run_id

    # -- runs ---------------------------------------------------------------------------
    def execute_run(self, run_id: int) -> str:
        """Execute (or continue) run ``run_id``; returns its status. Raises when a step fails."""
        run = self._fresh.pop(run_id, None) or self._claim(run_id)
        if run is None:
            return self._status(run_id)
        started = time.perf_counter()
        try:
            with self._heartbeat.running():
                status, closed = self._execute(run, started)
        except _Suspend as wait:
            self._finish(run_id, "waiting", started, resume_at=wait.resume_at)
            return "waiting"
        except LeaseLost:
            raise RunBusy(run_id, None) from None  # its new owner finishes it
        except StepDone:
            self._release(run_id)  # another executor did a step: start over from the log
            raise RunBusy(run_id, None) from None
        except Exception as exc:  # any failure of a step lands in the run log
            self._fail(run_id, exc, started)
            raise
        if not closed:  # else the last step's transaction finished the run already
            self._finish(run_id, status, started)
        return status

    def _release(self, run_id: int) -> None:
        with self.tessera.engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.lease_owner == self.owner)
                .values(status="pending", lease_owner=None, lease_until=None)
            )

    def renew_leases(self) -> int:
        """Extend the lease of every run this engine is executing (the heartbeat)."""
        with self.tessera.engine.begin() as conn:
            relaxed(conn)
            return conn.execute(
                runs.update()
                .where(runs.c.lease_owner == self.owner, runs.c.status == "running")
                .values(lease_until=self.now() + self.lease)
            ).rowcount

    def _status(self, run_id: int) -> str:
        with self.tessera.engine.connect() as conn:
            run = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        if run is None:
            raise NotFound(f"run {run_id} does not exist")
        if run["status"] in FINAL or run["status"] == "failed":
            return run["status"]
        raise RunBusy(run_id, aware(run["lease_until"]))

    def _claim(self, run_id: int) -> dict | None:
        now = self.now()
        new_attempt = sa.case(
            (sa.or_(runs.c.started_at.is_(None), runs.c.status == "waiting"), runs.c.attempt),
            else_=runs.c.attempt + 1,
        )
        with self.tessera.engine.begin() as conn:
            relaxed(conn)
            claimed = conn.execute(
                runs.update()
                .where(
                    runs.c.id == run_id,
                    runs.c.status.not_in([*FINAL, "failed"]),
                    sa.or_(
                        runs.c.lease_until.is_(None),
                        runs.c.lease_until < now,
                        runs.c.lease_owner == self.owner,
                    ),
                )
                .values(
                    status="running",
                    attempt=new_attempt,
                    lease_owner=self.owner,
                    lease_until=now + self.lease,
                    started_at=sa.func.coalesce(runs.c.started_at, now),
                    error=None,
                )
                .returning(*runs.c)
            )
            row = claimed.mappings().first()
            return dict(row) if row is not None else None

    def finish_values(self, status: str, started: float, resume_at=None) -> dict[str, Any]:
        """The run row's columns once it ends (or waits): the lease is given up."""
        values = {
            "status": status,
            "lease_owner": None,
            "lease_until": None,
            "resume_at": resume_at,
        }
        if status != "waiting":
            values |= {"finished_at": self.now(), "duration_ms": _ms(started)}
        return values

    def _finish(self, run_id, status, started, resume_at=None) -> None:
        values = self.finish_values(status, started, resume_at)
        with self.tessera.engine.begin() as conn:
            relaxed(conn)
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.lease_owner == self.owner)
                .values(**values)
            )

    def _fail(self, run_id: int, exc: Exception, started: float) -> None:
        message = _describe(exc)
        log.warning("workflow run %s failed: %s", run_id, message)
        with self.tessera.engine.begin() as conn:
            relaxed(conn)
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.lease_owner == self.owner)
                .values(
                    status="failed",
                    error=message,
                    lease_owner=None,
                    lease_until=None,
                    finished_at=self.now(),
                    duration_ms=_ms(started),
                )
            )

    def mark(
        self,
        run_id: int,
        status: str,
        *,
        retry_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Set a failed run's status (``retrying`` until ``retry_at``, or ``failed``)."""
        values: dict[str, Any] = {"status": status, "lease_until": retry_at, "lease_owner": None}
        if error is not None:
            values["error"] = error
        with self.tessera.engine.begin() as conn:
            conn.execute(
                runs.update().where(runs.c.id == run_id, runs.c.status == "failed").values(values)
            )

    def _execute(self, run: dict, started: float) -> tuple[str, bool]:
        """Run the steps; (status, True when the last step's transaction closed the run)."""
        wf = find_workflow(self.tessera, run["app_id"], run["workflow_key"])
        if wf is None:
            raise ActionError(
                f"workflow {run['workflow_key']!r} no longer exists in {run['app_id']!r}"
            )
        state = RunState(self, run, wf)
        if run["condition"] is None and wf.when:
            ok = state.condition(wf.when)
            with self.tessera.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.id == run["id"]).values(condition=ok))
            if not ok:
                return "skipped", False
        elif run["condition"] is False:
            return "skipped", False
        if state.record is None and wf.record_type and run["record_id"] is not None:
            return "skipped", False  # the record was deleted before the run started
        state.started = started
        state.run_steps(wf.actions, "")
        return "done", state.closed

    # -- test mode ----------------------------------------------------------------------
    def test_run(self, app_id: str, wf_key: str, record_id: int | None) -> dict[str, Any]:
        """Dry run: the condition result and what each action would do; nothing is written."""
        wf = find_workflow(self.tessera, app_id, wf_key)
        if wf is None:
            raise NotFound(f"app {app_id!r} has no workflow {wf_key!r}")
        run = {"id": None, "app_id": app_id, "workflow_key": wf_key, "record_id": record_id,
               "record_type": wf.record_type, "depth": 0, "vars": {}, "context": {}}  # fmt: skip
        state = RunState(self, run, wf, dry_run=True)
        if record_id is not None and state.record is None:
            raise NotFound(f"{wf.record_type} #{record_id} does not exist")
        ok = state.condition(wf.when) if wf.when else None
        state.run_steps(wf.actions, "")
        return {"workflow": wf_key, "record_id": record_id, "condition": ok, "steps": state.preview}


class RunState:
    """One execution of a run: its record, old values, variables and the step loop."""

    def __init__(self, engine: Engine, run: Mapping[str, Any], wf: Workflow, dry_run: bool = False):
        self.engine, self.run, self.wf, self.dry_run = engine, run, wf, dry_run
        self.tessera = engine.tessera
        self.app: App = self.tessera.registry.app(run["app_id"])
        self.rt: RecordType | None = (
            self.app.record_type(wf.record_type) if wf.record_type else None
        )
        self.vars: dict[str, Any] = dict(run.get("vars") or {})
        self.preview: list[dict[str, Any]] = []
        self._cache: dict[tuple[str, Any], dict | None] = {}
        context = run.get("context") or {}
        self.changes: dict[str, list] = context.get("changes") or {}
        self.user_id = context.get("user_id")
        self.record = self._load_record()
        self.old = self._old_values()
        self._steps = self._load_steps()
        #: set by Engine._execute: the last top-level step then also finishes the run
        self.started: float | None = None
        self.closed = False  # the run row was finished in the last step's transaction

    def _load_steps(self) -> dict[str, dict]:
        """Steps already recorded for this run (one query, instead of one per step)."""
        if self.dry_run or self.run.get("id") is None or self.run.get("fresh"):
            return {}
        with self.tessera.engine.connect() as conn:
            found = conn.execute(sa.select(steps).where(steps.c.run_id == self.run["id"]))
            return {row["path"]: dict(row) for row in found.mappings()}

    # -- data ---------------------------------------------------------------------------
    def _load_record(self) -> dict | None:
        if self.rt is None or self.run.get("record_id") is None:
            return None
        try:
            return self.tessera.records.get(self.app.id, self.rt.key, self.run["record_id"])
        except NotFound:
            if self.run.get("trigger") == "record.deleted":
                deleted = self._coerce({k: v[0] for k, v in self.changes.items()})
                return {"id": self.run["record_id"], **deleted}
            return None

    def _coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in values.items():
            f = self.rt.field_map.get(key) if self.rt else None
            try:
                out[key] = (
                    for_field(f).coerce(f, value) if f is not None and value is not None else value
                )
            except Exception:  # noqa: BLE001 - an old value the type no longer accepts stays as is
                out[key] = value
        return out

    def _old_values(self) -> dict | None:
        if self.record is None or self.run.get("trigger") == "record.created":
            return None
        before = self._coerce({k: v[0] for k, v in self.changes.items()})
        return {**self.record, **before}

    def linked(self, rt_key: str, record_id: Any) -> dict | None:
        """A linked record (cached for the run)."""
        key = (rt_key, record_id)
        if key not in self._cache:
            try:
                self._cache[key] = self.tessera.records.get(self.app.id, rt_key, int(record_id))
            except (NotFound, TypeError, ValueError):
                self._cache[key] = None
        return self._cache[key]

    def _resolve(self, prefix: str, linked_id: Any) -> dict | None:
        rt = self.rt
        for part in prefix.split("."):
            rt = self.app.record_type(rt.field(part).opt("to"))
        return self.linked(rt.key, linked_id)

    def condition(self, cond: Any) -> bool:
        """Evaluate ``cond`` on the record with its old values (as of the event)."""
        if self.rt is None:
            raise ActionError(f"workflow {self.wf.key} has a condition but no record type")
        after = self._coerce({k: v[1] for k, v in self.changes.items()})
        record = {**(self.record or {}), **after}
        return conditions.evaluate(
            thaw(cond), record, self.rt, self.app, me=self.user_id, now=self.engine.now(),
            resolve=self._resolve, old=self.old, path=f"workflows.{self.wf.key}.when",
        )  # fmt: skip

    def context(self) -> dict[str, Any]:
        """What templates see."""
        return {
            "record": self._view(self.rt, self.record) if self.record else None,
            "old": self.old,
            "user": self._user(self.user_id) if self.user_id else None,
            "vars": self.vars,
            "now": self.engine.now(),
            "run_id": self.run.get("id"),
            "workflow": self.wf.key,
            "form_link": self._form_link,
        }

    def _form_link(self, form_key: str, values: Mapping[str, Any] | None = None) -> str:
        """A link to one of the app's public forms, prefilled with signed ``values``."""
        if not any(f.key == form_key and f.public for f in self.app.forms):
            raise ActionError(f"form_link: the app has no public form {form_key!r}")
        return prefill.link(self.engine.config, self.app.id, form_key, dict(values or {}))

    def _view(self, rt: RecordType, values: Mapping[str, Any]) -> RecordView:
        def follow(key: str, value: Any) -> Any:
            f = rt.field_map.get(key)
            if value is None or f is None:
                return value
            if f.type == "link":
                target = self.app.record_type(f.opt("to"))
                linked = self.linked(target.key, value)
                return self._view(target, linked) if linked else None
            if f.type == "poly_link":  # {{ record.regarding.name }}: the record it is about
                parts = polylinks.split(value)
                if parts is None or not self.app.has_record_type(parts[0]):
                    return None
                linked = self.linked(parts[0], parts[1])
                return self._view(self.app.record_type(parts[0]), linked) if linked else None
            if f.type == "user":
                return self._user(value)
            if f.type == "datetime" and isinstance(value, datetime):
                return Moment.of(value, self._zone(rt, values))
            return value

        return RecordView(values, follow, rt.title)

    def _zone(self, rt: RecordType, values: Mapping[str, Any]) -> tzinfo:
        """Where the record's times are read: its owner's zone, else the app's."""
        owner = values.get("owner") if rt.has_field("owner") else None
        name = None
        if isinstance(owner, int):
            name = time_zone_of(self.tessera.engine, owner)
        config = self.tessera.config
        return timezones.zone(name, config.get("AUTOMATION_TIMEZONE") or config.get("TIME_ZONE"))

    def _user(self, user_id: int) -> UserView:
        def load(uid: int) -> dict | None:
            with self.tessera.engine.connect() as conn:
                row = conn.execute(sa.select(users).where(users.c.id == uid)).mappings().first()
            return dict(row) if row else None

        return UserView(user_id, load)

    # -- steps --------------------------------------------------------------------------
    def run_steps(self, actions: Sequence[Mapping[str, Any]], prefix: str) -> None:
        """Run ``actions`` in order; steps already done are skipped (their outputs reapplied)."""
        for i, action in enumerate(actions):
            path = f"{prefix}{i}"
            do = action["do"]
            if do == "if":
                self._if(action, path)
            elif do == "wait":
                self._wait(action, path)
            else:
                last = not prefix and i == len(actions) - 1
                self._step(action, path, last=last)

    def _done(self, path: str) -> dict | None:
        return self._steps.get(path)

    def _if(self, action: Mapping[str, Any], path: str) -> None:
        step = self._done(path)
        if step and step["status"] == "done":
            branch = step["output"]["branch"]
        else:
            if "test" in action:  # a rendered template instead of a condition on the record
                params = {"test": thaw(action["test"])}
                result = truthy(render_value(params["test"], self.context()))
            else:
                params = {"condition": thaw(action["condition"])}
                result = self.condition(action["condition"])
            branch = "then" if result else "else"
            self._record(path, "if", params, {"branch": branch, "result": result})
        self.run_steps(action.get(branch) or (), f"{path}.{branch}.")

    def _wait(self, action: Mapping[str, Any], path: str) -> None:
        step = self._done(path)
        if step and step["status"] == "done":
            resume_at = datetime.fromisoformat(step["output"]["resume_at"])
        else:
            resume_at = self._resume_at(action)
            self._record(path, "wait", thaw(action), {"resume_at": resume_at.isoformat()})
        if not self.dry_run and resume_at > self.engine.now():
            raise _Suspend(resume_at)

    def _resume_at(self, action: Mapping[str, Any]) -> datetime:
        if "for" in action:
            delta = parse_duration(action["for"])
            if delta is None:
                raise ActionError(f"wait: {action['for']!r} is not a duration like 30m, 2h, 1d")
            return self.engine.now() + delta
        value = render_value(action["until"], self.context())
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return aware(moment)

    def _record(self, path: str, name: str, params: Any, output: Any) -> None:
        if self.dry_run:
            self.preview.append({"path": path, "action": name, "input": params, "output": output})
            return
        with self.tessera.engine.begin() as conn:
            self._write_step(conn, path, name, "done", params, output)

    def _write_step(
        self, conn, path, name, status, params, output, error=None, duration=None
    ) -> None:
        """Insert or update the step's row; a row already ``done`` is never changed.

        Marking done in a transaction that finds the step done (another executor got
        there first) raises StepDone, which rolls back the effect written beside it.
        """
        values = {"action": name, "status": status, "input": _jsonable(params),
                  "output": _jsonable(output), "error": error, "duration_ms": duration}  # fmt: skip
        where = sa.and_(steps.c.run_id == self.run["id"], steps.c.path == path)
        existing = self._steps.get(path)  # we hold the run's lease: nobody else writes its steps
        if existing is None:
            values |= {"run_id": self.run["id"], "path": path, "attempts": 1}
            values["started_at"] = self.engine.now()
            try:
                conn.execute(steps.insert().values(values))
            except sa.exc.IntegrityError:
                raise StepDone(f"run {self.run['id']} step {path} was written meanwhile") from None
        else:
            bump = 1 if status == "started" or existing["status"] == "failed" else 0
            values["attempts"] = existing["attempts"] + bump
            changed = conn.execute(
                steps.update().where(where, steps.c.status != "done").values(values)
            ).rowcount
            if changed != 1:
                raise StepDone(f"run {self.run['id']} step {path} is already done")
        self._steps[path] = {**(existing or {}), **values}
        if name == "set_variable" and status == "done":
            conn.execute(
                runs.update().where(runs.c.id == self.run["id"]).values(vars=_jsonable(self.vars))
            )

    def _step(self, action: Mapping[str, Any], path: str, last: bool = False) -> None:
        name = action["do"]
        impl = registry.get(name)
        step = self._done(path)
        if step and step["status"] == "done":
            self._apply(name, action, step["output"])
            return
        params = self._params(impl, action)
        ctx = self._ctx(path)
        if self.dry_run:
            output = (
                impl.preview(ctx, params)
                if name != "set_variable"
                else {"name": params["name"], "value": params["value"]}
            )
            self._apply(name, action, output)
            self.preview.append({"path": path, "action": name, "input": params, "output": output})
            return
        effect = impl.effect_for(self.engine.config)
        if step and step["status"] == "started" and effect == "record":
            recovered = self._recover(ctx)
            if recovered is not None:
                self._record(path, name, params, recovered)
                self._apply(name, action, recovered)
                return
        self._perform(impl, effect, ctx, action, path, params, last)

    def _params(self, impl, action: Mapping[str, Any]) -> dict[str, Any]:
        """The action's parameters rendered against the run's current context."""
        raw = {k: v for k, v in action.items() if k not in ("do", "label")}
        return {
            k: (thaw(v) if k in impl.raw else render_value(thaw(v), self.context()))
            for k, v in raw.items()
        }

    def _ctx(self, path: str) -> StepContext:
        as_user = getattr(self.wf, "run_as", "system") == "triggering_user"  # else system
        actor = Actor(
            user_id=self.user_id if as_user else None,
            kind="workflow",
            ref=f"{self.run.get('id')}/{path}",
            depth=int(self.run.get("depth") or 0) + 1,
            run_as_user=as_user,
        )
        return StepContext(
            tessera=self.tessera, app=self.app, workflow=self.wf, run_id=self.run.get("id"),
            path=path, record=self.record, old=self.old, vars=self.vars, actor=actor,
            render=lambda v: render_value(v, self.context()), dry_run=self.dry_run,
            config=self.engine.config, event_id=self.run.get("event_id"),
        )  # fmt: skip

    def _perform(self, impl, effect, ctx, action, path, params, last: bool = False) -> None:
        name, started = action["do"], time.perf_counter()
        try:
            if effect in ("local", "control", "record"):
                close = last and self.started is not None and not self.dry_run
                self._atomic(impl, effect, ctx, action, path, params, started, close)
                if effect == "record":
                    self.tessera.records._committed()  # wake the relay: the write is visible
                    if not close:  # later steps see the write
                        self.record = self._load_record() or self.record
                return
            with self.tessera.engine.begin() as conn:
                self._fence(conn)
                self._write_step(conn, path, name, "started", params, None)
            output = impl.run(ctx, params)
            self._apply(name, action, output)
            with self.tessera.engine.begin() as conn:
                relaxed(conn)
                self._fence(conn)
                self._write_step(conn, path, name, "done", params, output, duration=_ms(started))
        except Exception as exc:
            self._mark_failed(path, name, params, exc, started)
            raise

    def _atomic(self, impl, effect, ctx, action, path, params, started, close=False) -> None:
        """The step's effect and its "done" mark commit together (exactly once).

        With ``close`` (the run's last step) the run row is finished in the same
        transaction too, instead of a lease renewal now and a commit of its own after:
        one transaction and one update of the run row for a simple run's bookkeeping.
        That update is the fence then: it matches only while this executor owns the run,
        so an executor that lost its lease rolls its effect back; a rival claiming the
        run meanwhile waits on the row lock and then finds it finished.

        A record write through the records service joins this transaction (``conn=``);
        when ``update_record`` meets a newer version of the record, the record is read
        again and the values re-evaluated (AUTOMATION_CONFLICT_TRIES times).
        """
        name = action["do"]
        tries = max(1, int(self.engine.config.get("AUTOMATION_CONFLICT_TRIES", 20)))
        for attempt in range(tries):
            try:
                with self.tessera.engine.begin() as conn:
                    if effect != "record":
                        relaxed(conn)  # an internal write losing a crash is redone: no loss
                    if not close:  # else the closing update below is the fence
                        self._fence(conn)
                    ctx.conn = conn
                    output = self._local(impl, ctx, params)
                    self._apply(name, action, output)
                    self._write_step(
                        conn, path, name, "done", params, output, duration=_ms(started)
                    )
                    if close:
                        self._fence(conn, self.engine.finish_values("done", self.started))
                        self.closed = True
                return
            except Conflict:
                if effect != "record" or attempt == tries - 1 or self.record is None:
                    raise
                log.info("run %s step %s: record changed meanwhile; re-evaluating",
                         self.run["id"], path)  # fmt: skip
                self.record = self._load_record()
                params = self._params(impl, action)
                ctx = self._ctx(path)

    def _fence(self, conn, values: Mapping[str, Any] | None = None) -> None:
        """Renew the run's lease in this transaction (or write ``values``, e.g. finish the
        run); fail when another executor owns it.

        On PostgreSQL the row lock taken here also keeps a second executor's transaction
        for the same run waiting until this one ends (and then finding it is not owner).
        """
        if values is None:
            values = {"lease_until": self.engine.now() + self.engine.lease}
        owned = conn.execute(
            runs.update()
            .where(runs.c.id == self.run["id"], runs.c.lease_owner == self.engine.owner)
            .values(values)
        ).rowcount
        if owned != 1:
            raise LeaseLost(f"run {self.run['id']}: lease lost to another executor; stopped")

    def _mark_failed(self, path, name, params, exc, started) -> None:
        """Record a failed attempt of a step; never overwrites a committed "done"."""
        try:
            with self.tessera.engine.begin() as conn:
                self._write_step(
                    conn, path, name, "failed", params, None, _describe(exc), _ms(started)
                )
                conn.execute(
                    runs.update().where(runs.c.id == self.run["id"]).values(failed_step=path)
                )
        except Exception:  # noqa: BLE001 - the database may be what failed; the run retries
            log.warning("run %s step %s: could not record the failure", self.run["id"], path)

    @staticmethod
    def _local(impl, ctx: StepContext, params: Mapping[str, Any]) -> dict:
        if impl.name == "set_variable":
            return {"name": params["name"], "value": params["value"]}
        return impl.run(ctx, params)

    def _apply(
        self, name: str, action: Mapping[str, Any], output: Mapping[str, Any] | None
    ) -> None:
        """Re-create a done step's effect on the run's variables."""
        if not output:
            return
        if name == "set_variable":
            self.vars[output["name"]] = output["value"]
        elif name == "create_record" and action.get("as"):
            self.vars[action["as"]] = output.get("record_id")
        elif name == "find_records" and action.get("as"):
            self.vars[action["as"]] = list(output.get("record_ids") or [])
        elif name == "assign" and action.get("as"):
            self.vars[action["as"]] = output.get("user_id")

    def _recover(self, ctx: StepContext) -> dict | None:
        """A record write committed by a worker that died before marking its step done."""
        with self.tessera.engine.connect() as conn:
            row = conn.execute(
                sa.select(audit_log.c.record_type, audit_log.c.record_id)
                .where(audit_log.c.actor_kind == "workflow", audit_log.c.actor_ref == ctx.actor.ref)
                .order_by(audit_log.c.id)
            ).first()
        if row is None:
            return None
        return {"record_type": row.record_type, "record_id": row.record_id, "recovered": True}


class _Heartbeat:
    """A daemon thread renewing the leases of the runs its engine is executing.

    It lives while at least one run executes in this process (and one beat longer).
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.thread: threading.Thread | None = None
        self.active = 0
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Keep the heartbeat going while the block executes a run."""
        with self.lock:
            self.active += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._loop, name="tessera-leases", daemon=True
                )
                self.thread.start()
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1

    def _loop(self) -> None:
        failing = False
        while True:
            time.sleep(max(self.engine.lease.total_seconds() / 4, 0.2))
            with self.lock:
                if self.active <= 0:
                    self.thread = None
                    return
            try:
                self.engine.renew_leases()
                if failing:
                    log.warning("lease heartbeat: database reachable again")
                failing = False
            except Exception as exc:  # noqa: BLE001 - log once per outage, keep beating
                if not failing:
                    log.warning("lease heartbeat: cannot renew run leases (%s); retrying", exc)
                failing = True


def insert_ignore(conn: sa.Connection, table: sa.Table, keys: list[str]):
    """INSERT ... ON CONFLICT (keys) DO NOTHING on PostgreSQL and SQLite."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=keys)


def relaxed(conn: sa.Connection) -> None:
    """Run-log bookkeeping need not wait for the disk (PostgreSQL ``synchronous_commit``).

    Losing such a commit (only a database crash can) means a step or run is done again,
    which the idempotency keys already allow; the "started" mark before a record write,
    which recovery depends on, is never relaxed.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _describe(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return text if isinstance(exc, ActionError) else f"{exc.__class__.__name__}: {text}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
