"""System tables of the automation layer: runs, steps (the idempotency keys), messages, plans.

Declared on the system :data:`~tessera.storage.system.metadata`; importing this module
before ``init_db`` runs is enough to create them (the runtime does).
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.storage.system import metadata

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TS = sa.DateTime(timezone=True)

#: one row per (trigger occurrence, workflow, record): the run log
runs = sa.Table(
    "automation_runs",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    # "<trigger key>|<app>|<workflow>|<record id>": a duplicate job finds the same run
    sa.Column("key", sa.String(400), nullable=False, unique=True),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("workflow_key", sa.String(100), nullable=False),
    sa.Column("record_type", sa.String(100)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("trigger", sa.String(50), nullable=False),  # record.updated, schedule, manual...
    sa.Column("event_id", sa.BigInteger),  # outbox id when an event started the run
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    # pending | running | waiting | retrying | done | failed | skipped | stopped
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("condition", sa.Boolean),  # the `when` result; NULL when there is none
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("error", sa.Text),
    sa.Column("failed_step", sa.String(200)),
    sa.Column("context", sa.JSON),  # old values, trigger data: what the run was started with
    sa.Column("vars", sa.JSON),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("started_at", _TS),
    sa.Column("finished_at", _TS),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", _TS),
    sa.Column("resume_at", _TS),
    sa.Index("ix_automation_runs_wf", "app_id", "workflow_key", "id"),
    sa.Index("ix_automation_runs_status", "status", "id"),
    sa.Index("ix_automation_runs_record", "app_id", "record_type", "record_id"),
)

#: one row per action step of a run; ``status = done`` is the idempotency mark of its effect
steps = sa.Table(
    "automation_steps",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("run_id", _ID, sa.ForeignKey("automation_runs.id", ondelete="CASCADE")),
    sa.Column("path", sa.String(200), nullable=False),  # "0", "2.then.1"
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # started | done | failed
    sa.Column("input", sa.JSON),
    sa.Column("output", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("duration_ms", sa.Integer),
    sa.UniqueConstraint("run_id", "path", name="uq_automation_steps_run_path"),
)

notifications = sa.Table(
    "automation_notifications",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("app_id", sa.String(100)),
    sa.Column("record_type", sa.String(100)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("run_id", _ID),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("read_at", _TS),
    sa.Index("ix_automation_notifications_user", "user_id", "read_at", "id"),
)

#: e-mail written locally when no SMTP_HOST is configured (the embedded default)
mail_outbox = sa.Table(
    "automation_mail",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("to", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("run_id", _ID),
    sa.Column("created_at", _TS, nullable=False),
)

#: the former relay high-water mark (kept for existing databases; the relay no longer uses it)
relay_state = sa.Table(
    "automation_relay",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("last_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", _TS),
)

#: named leases across processes: ``relay`` is held by the one process relaying events
locks = sa.Table(
    "automation_locks",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("owner", sa.String(100)),
    sa.Column("until", _TS),
)

#: planned firings of schedule (cron) and date triggers; one ``planned`` row per target
schedules = sa.Table(
    "automation_schedules",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("workflow_key", sa.String(100), nullable=False),
    sa.Column("record_id", sa.BigInteger),  # NULL for cron triggers
    sa.Column("due_at", _TS, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # planned | fired | cancelled
    sa.Column("created_at", _TS, nullable=False),
    sa.Index("ix_automation_schedules_due", "state", "due_at"),
    sa.Index("ix_automation_schedules_target", "app_id", "workflow_key", "record_id", "state"),
)

#: paused workflows (a row with paused = true); absent means running
workflow_state = sa.Table(
    "automation_workflow_state",
    metadata,
    sa.Column("app_id", sa.String(100), primary_key=True),
    sa.Column("workflow_key", sa.String(100), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", _TS),
)

#: recipes installed onto record types: the rendered workflow is kept as data
installed_recipes = sa.Table(
    "automation_recipes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("workflow_key", sa.String(100), nullable=False),
    sa.Column("recipe", sa.String(100), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("workflow", sa.JSON, nullable=False),
    sa.Column("installed_at", _TS, nullable=False),
    sa.UniqueConstraint("app_id", "workflow_key", name="uq_automation_recipes_key"),
)
