"""Per-user state the UI keeps: saved variants of a view, and builder drafts.

A variant stores the view's query-string settings (``sort``, ``q`` and the quick filters
``f.<field>``) as JSON; opening it replays them on the view. A builder draft is an
admin's unapplied template data for one app. Both tables are declared on the system
metadata, so ``init_db`` creates them (runtime.py imports this module first). Kept
outside ``web/`` so the web layer calls a service instead of writing SQL itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tessera.storage.system import metadata

MAX_NAME = 80
PARAM_KEYS = ("sort", "q")
PARAM_PREFIX = "f."

saved_views = sa.Table(
    "saved_views",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("app_id", sa.String(100), nullable=False),
    sa.Column("view_key", sa.String(100), nullable=False),
    sa.Column("name", sa.String(MAX_NAME), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.current_timestamp(),
    ),
    sa.Index("ix_saved_views_owner", "user_id", "app_id", "view_key"),
)


class PrefsError(ValueError):
    """A variant could not be saved; the message says why."""


def view_params(args: Any) -> dict[str, str]:
    """The settings of a view request worth saving (sort, search, quick filters)."""
    out = {}
    for key in args:
        if key in PARAM_KEYS or key.startswith(PARAM_PREFIX):
            value = args.get(key, "")
            if value:
                out[key] = value
    return out


def list_variants(engine: sa.Engine, user_id: int, app_id: str, view_key: str) -> list[dict]:
    """The user's saved variants of one view, oldest first."""
    query = (
        sa.select(saved_views)
        .where(
            saved_views.c.user_id == user_id,
            saved_views.c.app_id == app_id,
            saved_views.c.view_key == view_key,
        )
        .order_by(saved_views.c.id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def get_variant(engine: sa.Engine, user_id: int, variant_id: int) -> dict | None:
    """One of the user's variants (None when missing or someone else's)."""
    query = sa.select(saved_views).where(
        saved_views.c.id == variant_id, saved_views.c.user_id == user_id
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def save_variant(
    engine: sa.Engine, user_id: int, app_id: str, view_key: str, name: str, params: dict
) -> int:
    """Save (or replace, by name) a variant and return its id."""
    name = (name or "").strip()
    if not name:
        raise PrefsError("name: give the saved view a name")
    if len(name) > MAX_NAME:
        raise PrefsError(f"name: at most {MAX_NAME} characters")
    owner = (
        saved_views.c.user_id == user_id,
        saved_views.c.app_id == app_id,
        saved_views.c.view_key == view_key,
        saved_views.c.name == name,
    )
    with engine.begin() as conn:
        existing = conn.execute(sa.select(saved_views.c.id).where(*owner)).scalar()
        if existing:
            conn.execute(
                saved_views.update().where(saved_views.c.id == existing).values(params=params)
            )
            return existing
        values = dict(user_id=user_id, app_id=app_id, view_key=view_key, name=name, params=params)
        return conn.execute(saved_views.insert().values(**values)).inserted_primary_key[0]


def delete_variant(engine: sa.Engine, user_id: int, variant_id: int) -> bool:
    """Delete one of the user's variants; False when there was none."""
    query = saved_views.delete().where(
        saved_views.c.id == variant_id, saved_views.c.user_id == user_id
    )
    with engine.begin() as conn:
        return conn.execute(query).rowcount > 0


# -- builder drafts ---------------------------------------------------------------------
builder_drafts = sa.Table(
    "builder_drafts",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("app_id", sa.String(100), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("base_version", sa.String(50)),  # installed version it started from; None: new app
    sa.Column(
        "updated_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.current_timestamp(),
    ),
)


def load_draft(engine: sa.Engine, user_id: int, app_id: str) -> dict[str, Any] | None:
    """An admin's builder draft of ``app_id`` (data, base_version, updated_at) or None."""
    t = builder_drafts
    q = sa.select(t).where(t.c.user_id == user_id, t.c.app_id == app_id)
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return dict(row._mapping) if row else None


def save_draft(
    engine: sa.Engine, user_id: int, app_id: str, data: dict[str, Any], base_version: str | None
) -> None:
    """Store (replace) an admin's builder draft of ``app_id``."""
    t = builder_drafts
    with engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.user_id == user_id, t.c.app_id == app_id))
        conn.execute(
            sa.insert(t).values(
                user_id=user_id, app_id=app_id, data=data, base_version=base_version
            )
        )


def drop_draft(engine: sa.Engine, user_id: int, app_id: str) -> None:
    """Forget an admin's builder draft of ``app_id``."""
    t = builder_drafts
    with engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.user_id == user_id, t.c.app_id == app_id))


def list_drafts(engine: sa.Engine, user_id: int) -> list[dict[str, Any]]:
    """An admin's drafts: app_id, base_version, updated_at."""
    t = builder_drafts
    q = sa.select(t.c.app_id, t.c.base_version, t.c.updated_at).where(t.c.user_id == user_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(t.c.app_id))]
