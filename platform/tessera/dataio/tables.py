"""System tables of data in/out: import jobs and remembered column mappings.

Declared on the system :data:`~tessera.storage.system.metadata`, so ``init_db`` creates
them with the rest (``tessera.runtime`` imports this module).
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.storage.system import metadata

_now = sa.func.current_timestamp()

#: one import (dry run or real): options, progress, counts and the per-row report
import_jobs = sa.Table(
    "import_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("record_type", sa.String(100), nullable=False),
    # pending | checking | checked | running | done | failed | cancelled | undone
    sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
    sa.Column("file_name", sa.String(255)),
    sa.Column("file_path", sa.String(1000)),  # the upload, kept until the import is done
    sa.Column("options", sa.JSON, nullable=False),  # mapping, match, on_match, ...
    sa.Column("total_rows", sa.Integer),  # rows read so far by the last pass
    sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("counts", sa.JSON),  # {created, updated, skipped, refused, linked_created}
    sa.Column("report", sa.JSON),  # [{row, column, field, value, message}] (capped)
    sa.Column("error", sa.Text),  # why the job as a whole failed
    sa.Column("cancel", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

#: the column mapping last used per record type (suggested first next time)
import_mappings = sa.Table(
    "import_mappings",
    metadata,
    sa.Column("app_id", sa.String(100), primary_key=True),
    sa.Column("record_type", sa.String(100), primary_key=True),
    sa.Column("mapping", sa.JSON, nullable=False),  # {column header: field key}
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)
