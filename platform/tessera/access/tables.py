"""System tables of access control: teams, memberships, role assignments, shares, security log.

Declared on the system :data:`~tessera.storage.system.metadata`, so ``init_db`` creates
them with the rest (``tessera.runtime`` imports this module first).
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.storage.system import metadata

_now = sa.func.current_timestamp()

#: a team: a manager, an optional parent team (sub-teams); users join through team_members
teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(150), nullable=False, unique=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="SET NULL")),
    sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column(
        "team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_team_members_user", "user_id", "team_id"),
)

#: roles a user holds per app; the role keys are declared in the app's template (`roles:`)
user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("app_id", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(100), primary_key=True),
)

#: a record shared with one user or one team, for reading or editing
record_shares = sa.Table(
    "record_shares",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("record_type", sa.String(100), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE")),
    sa.Column("level", sa.String(10), nullable=False),  # read | edit
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Index("ix_record_shares_record", "app_id", "record_type", "record_id"),
    sa.Index("ix_record_shares_user", "user_id", "app_id", "record_type"),
    sa.Index("ix_record_shares_team", "team_id", "app_id", "record_type"),
)

#: security-relevant events that are not record changes: sign-ins, failed sign-ins,
#: lockouts, role/team/permission changes, token creation and revocation, deactivation
security_log = sa.Table(
    "security_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("action", sa.String(50), nullable=False),  # e.g. login, login_failed, role_grant
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),  # who did it
    sa.Column("subject", sa.String(200)),  # what it was done to: a username, token id, team...
    sa.Column("app_id", sa.String(100)),
    sa.Column("ip", sa.String(64)),
    sa.Column("detail", sa.JSON),
    sa.Index("ix_security_log_at", "at"),
)
