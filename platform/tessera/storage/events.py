"""System tables of the records layer: audit log, outbox, API tokens.

Declared on the system :data:`~tessera.storage.system.metadata`, so ``init_db``
creates them with the rest.
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.storage.system import metadata

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("record_type", sa.String(100), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),  # create | update | delete
    sa.Column("changes", sa.JSON, nullable=False),  # {field: [old, new]}
    sa.Column("actor_kind", sa.String(20), nullable=False),  # user|api_token|workflow|import|system
    sa.Column("actor_ref", sa.String(100)),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_audit_log_record", "app_id", "record_type", "record_id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("event", sa.String(50), nullable=False),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("record_type", sa.String(100), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Index("ix_outbox_pending", "delivered_at", "id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100)),
    sa.Column("prefix", sa.String(12), nullable=False, index=True),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.current_timestamp(),
    ),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    # space-separated scopes ("read", "read write"); NULL means everything its user may do
    sa.Column("scopes", sa.String(100)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
)
