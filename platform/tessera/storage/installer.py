"""Install, upgrade, export and list apps: the service behind ``flask template ...``.

Each install or upgrade runs in ONE transaction (DDL included: PostgreSQL's DDL is
transactional, and ``tessera.db.create_engine`` makes SQLite's so): when anything fails
the previous version stays installed with its data untouched, and a ``failed`` row is
written to ``schema_history`` afterwards in a transaction of its own.

The stored source of a version is the template *data* (``App.source['data']``, else
``tessera.meta.dump_app(app)``); :func:`installed_app` compiles it again with
``tessera.meta.app_from_data``, so what runs is always what :func:`export` returns.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tessera.errors import InstallError, UnknownApp
from tessera.merge import identity
from tessera.meta.compile import compile_app
from tessera.meta.model import App, thaw
from tessera.storage import migrate, system

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$")


def version_key(version: str) -> tuple:
    """Sort key for a semantic version ("1.10.0" > "1.9.2"; "1.0.0-rc1" < "1.0.0")."""
    m = _VERSION.match(str(version).strip())
    if not m:
        raise InstallError(f"version {version!r} is not a semantic version like 1.2.0")
    major, minor, patch, pre = m.groups()
    nums = (int(major), int(minor or 0), int(patch or 0))
    if pre is None:
        return (*nums, 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*nums, 0, parts)


def _source_data(app: App) -> dict[str, Any]:
    data = (app.source or {}).get("data")
    if data is None:
        from tessera.meta import dump_app

        data = dump_app(app)
    # YAML may hold dates; JSON columns take them as ISO strings
    return json.loads(json.dumps(thaw(data), default=str))


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- reading


def list_apps(engine: sa.Engine) -> list[dict[str, Any]]:
    """Installed apps (id, version, label, installed_at, updated_at), by id."""
    t = system.apps
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(t.c.id))]


def current_row(conn: sa.Connection, app_id: str) -> dict[str, Any]:
    """The stored row of the installed version: source, ids, upstream, upstream_ids..."""
    a, v = system.apps, system.app_versions
    version = conn.execute(sa.select(a.c.version).where(a.c.id == app_id)).scalar()
    if version is None:
        raise UnknownApp(f"app {app_id!r} is not installed; install it first")
    q = (
        sa.select(v)
        .where(v.c.app_id == app_id, v.c.version == version)
        .order_by(v.c.id.desc())
        .limit(1)
    )
    return dict(conn.execute(q).one()._mapping)


def _current_source(conn: sa.Connection, app_id: str) -> dict[str, Any]:
    return current_row(conn, app_id)["source"]


def load_installed(conn: sa.Connection, app_id: str) -> App:
    """The installed version of ``app_id``, read on an open connection.

    The stored source passed validation when it was installed, so it is compiled
    without validating it again, and the compiled App is cached by the source's hash:
    a process that reloads its registry (every start, every schema change seen) pays
    only for apps whose source changed.
    """
    source = _current_source(conn, app_id)
    digest = hashlib.sha256(
        json.dumps(source, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    key = (app_id, digest)
    app = _COMPILED.get(key)
    if app is None:
        app = compile_app(copy.deepcopy(source), f"<installed app {app_id}>")
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = app
    return app


#: compiled Apps by (app id, source hash); Apps are immutable, so sharing them is safe
_COMPILED: dict[tuple[str, str], App] = {}
_COMPILED_MAX = 256


def installed_app(engine: sa.Engine, app_id: str) -> App:
    """The installed version of ``app_id``, compiled from its stored source."""
    with engine.connect() as conn:
        return load_installed(conn, app_id)


def export(engine: sa.Engine, app_id: str) -> dict[str, Any]:
    """The template data of the installed version of ``app_id``."""
    with engine.connect() as conn:
        return _current_source(conn, app_id)


def _is_installed(conn: sa.Connection, app_id: str, lock: bool = False) -> bool:
    a = system.apps
    q = sa.select(a.c.id).where(a.c.id == app_id)
    if lock:  # PostgreSQL: a concurrent upgrade of the same app waits for this one
        q = q.with_for_update()
    return conn.execute(q).first() is not None


# ---------------------------------------------------------------- writing


def install(
    engine: sa.Engine, app: App, source_text: str | None, user: int | None = None
) -> migrate.Plan:
    """Install an app that is not installed yet: create its tables, record its source."""
    lineage: dict[str, Any] = {}

    def prepare(conn: sa.Connection) -> migrate.Plan:
        if _is_installed(conn, app.id):
            raise InstallError(
                f"app {app.id!r} is already installed; use upgrade to install a new version"
            )
        version_key(app.version)
        lineage["ids"] = identity.carry(None, None, app)
        return migrate.plan(None, app)

    return _run(engine, app, source_text, user, prepare, lineage=lineage)


def upgrade(
    engine: sa.Engine,
    new_app: App,
    source_text: str | None,
    dry_run: bool = False,
    purge: bool = False,
    user: int | None = None,
    *,
    local_edit: bool = False,
    merged: Mapping[str, Any] | None = None,
) -> migrate.Plan:
    """Upgrade an installed app to ``new_app`` (a higher version); returns the plan.

    ``dry_run`` runs every check and step, then rolls back. Removed fields and record
    types are archived unless ``purge`` is True. ``local_edit`` marks a customisation
    (the builder): the author's version it derives from is kept for a later three-way
    merge. ``merged`` (ids, upstream, upstream_ids) records a merge's result.
    """
    lineage: dict[str, Any] = {}

    def prepare(conn: sa.Connection) -> migrate.Plan:
        if not _is_installed(conn, new_app.id, lock=True):
            raise UnknownApp(f"app {new_app.id!r} is not installed; use install")
        old = load_installed(conn, new_app.id)
        lineage.update(_lineage(current_row(conn, new_app.id), old, new_app, local_edit, merged))
        if version_key(new_app.version) <= version_key(old.version):
            raise InstallError(
                f"app {new_app.id!r} {new_app.version} is not newer than the installed "
                f"{old.version}; raise the template's version"
            )
        p = migrate.plan(old, new_app, purge=purge)
        if p.data_loss and not purge:
            lost = "; ".join(s.description for s in p.data_loss)
            raise InstallError(f"upgrade would lose data ({lost}); confirm with purge")
        return p

    return _run(engine, new_app, source_text, user, prepare, dry_run=dry_run, lineage=lineage)


def _lineage(row: Mapping, old: App, new: App, local_edit: bool, merged: Mapping | None) -> dict:
    """The ids of the new version, and the author's version it derives from."""
    old_ids = row.get("ids") or identity.carry(None, None, old)
    if merged is not None:
        return dict(merged)
    out = {"ids": identity.carry(old, old_ids, new), "upstream": None, "upstream_ids": None}
    if local_edit:
        out["upstream"] = row.get("upstream") or row["source"]
        out["upstream_ids"] = row.get("upstream_ids") or old_ids
    return out


def _run(
    engine: sa.Engine,
    app: App,
    source_text: str | None,
    user: int | None,
    prepare: Callable[[sa.Connection], migrate.Plan],
    dry_run: bool = False,
    lineage: Mapping[str, Any] | None = None,
) -> migrate.Plan:
    """Plan and apply in one transaction; record the outcome either way."""
    p = None
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            p = prepare(conn)
            migrate.apply(conn, p)
            if dry_run:
                trans.rollback()
                return p
            _record(conn, app, source_text, user, p, lineage or {})
            trans.commit()
        except Exception as exc:
            if trans.is_active:
                trans.rollback()
            if p is not None and not dry_run:
                _record_failure(engine, p, exc)
            if isinstance(exc, InstallError):
                raise
            raise InstallError(f"installing {app.id} {app.version} failed: {exc}") from exc
    return p


def _record(
    conn: sa.Connection, app: App, text: str | None, user: int | None, p, lineage: Mapping
) -> None:
    now = _now()
    label = thaw(app.label)
    a = system.apps
    if p.from_version is None:
        conn.execute(sa.insert(a).values(id=app.id, version=app.version, label=label))
    else:
        conn.execute(
            sa.update(a)
            .where(a.c.id == app.id)
            .values(version=app.version, label=label, updated_at=now)
        )
    conn.execute(
        sa.insert(system.app_versions).values(
            app_id=app.id,
            version=app.version,
            source=_source_data(app),
            source_text=text,
            installed_by=user,
            ids=lineage.get("ids"),
            upstream=lineage.get("upstream"),
            upstream_ids=lineage.get("upstream_ids"),
        )
    )
    _history(conn, p, "ok", None)
    system.next_sequence_value(conn, "schema.version")  # running processes reload (registry)


def _history(conn: sa.Connection, p: migrate.Plan, outcome: str, error: str | None) -> None:
    conn.execute(
        sa.insert(system.schema_history).values(
            app_id=p.app_id,
            from_version=p.from_version,
            to_version=p.to_version,
            steps=p.as_json(),
            outcome=outcome,
            error=error,
        )
    )


def _record_failure(engine: sa.Engine, p: migrate.Plan, exc: Exception) -> None:
    # best effort: failing to log the failure must not hide the original error
    try:
        with engine.begin() as conn:
            _history(conn, p, "failed", str(exc))
    except sa.exc.SQLAlchemyError:
        pass
