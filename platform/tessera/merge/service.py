"""Upgrade an installed app that holds local customisations: a three-way merge.

:func:`merge_upgrade` reads the installed (local) version and the author's version it
derives from (base) from ``app_versions``, merges them with the author's new version
(theirs), and, once every conflict has a choice, applies the merged template through
:func:`tessera.storage.installer.upgrade` (one transaction; ``dry_run`` previews the
plan). The new row keeps theirs as its upstream, so the next author release merges
against it. An app without customisations is upgraded the ordinary way by callers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import yaml

from tessera.errors import InstallError, Problem, TemplateError, TesseraError
from tessera.merge import identity, three_way
from tessera.meta import app_from_data, dump_app
from tessera.meta.compile import compile_app
from tessera.meta.model import App, thaw
from tessera.storage import installer, migrate, naming


@dataclass
class Versions:
    """The three versions of a merge as (template data, ids) pairs, normalised."""

    base: tuple[dict[str, Any], dict[str, str]]
    local: tuple[dict[str, Any], dict[str, str]]
    local_app: App
    base_app: App


@dataclass
class Outcome:
    """What a merge upgrade found and did."""

    app_id: str
    version: str
    result: three_way.MergeResult
    plan: migrate.Plan | None = None
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None
    applied: bool = False

    @property
    def conflicts(self) -> list[three_way.Conflict]:
        """Every conflict, decided or not."""
        return self.result.conflicts

    @property
    def yaml(self) -> str:
        """The merged template as YAML."""
        return yaml.safe_dump(self.result.data, allow_unicode=True, sort_keys=False)


def _normal(data: Mapping[str, Any]) -> tuple[dict[str, Any], App]:
    app = compile_app(copy.deepcopy(thaw(data)), "<stored version>")
    return _plain(dump_app(app)), app


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(thaw(data), default=str))


def _strip(data: Any) -> Any:
    """Data without version and renamed_from (they do not make a customisation)."""
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in ("version", "renamed_from")}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def versions(conn: sa.Connection, app_id: str) -> Versions:
    """Base and local of an installed app (base = local when never customised)."""
    row = installer.current_row(conn, app_id)
    local, local_app = _normal(row["source"])
    base, base_app = _normal(row["upstream"] or row["source"])
    local_ids = dict(row["ids"] or {})
    base_ids = dict(row["upstream_ids"] or local_ids) if row["upstream"] else local_ids
    return Versions((base, base_ids), (local, local_ids), local_app, base_app)


def is_customised(engine: sa.Engine, app_id: str) -> bool:
    """True when the installed app differs from the author's version it came from."""
    with engine.connect() as conn:
        v = versions(conn, app_id)
    return _strip(v.base[0]) != _strip(v.local[0])


def _merged_version(theirs: App, v: Versions) -> str:
    key = installer.version_key
    if key(theirs.version) <= key(v.base_app.version):
        raise InstallError(
            f"app {theirs.id!r} {theirs.version} is not newer than the author's installed "
            f"{v.base_app.version}; raise the template's version"
        )
    if key(theirs.version) > key(v.local_app.version):
        return theirs.version
    major, minor, patch = key(v.local_app.version)[:3]
    return f"{major}.{minor}.{patch + 1}"


def _in_use(engine: sa.Engine, app: App) -> three_way.InUse:
    """(record type, field, value) -> rows of the installed app holding the option."""

    def count(rt: str, fld: str, value: str) -> int:
        f = app.record_type(rt).field(fld)
        col = sa.column(fld, sa.JSON() if f.type == "multi_select" else sa.String())
        table = sa.table(naming.table_name(app.id, rt), col)
        with engine.connect() as conn:
            if f.type != "multi_select":
                q = sa.select(sa.func.count()).select_from(table).where(col == value)
                return int(conn.execute(q).scalar())
            rows = conn.execute(sa.select(col).where(col.is_not(None))).scalars()
            return sum(1 for v in rows if isinstance(v, list) and value in v)

    return count


def merge(
    engine: sa.Engine,
    theirs: App,
    *,
    choices: Mapping[str, str] | None = None,
    default: str | None = None,
) -> tuple[three_way.MergeResult, Versions, str, dict[str, str]]:
    """Merge the installed app with the author's new version ``theirs`` (nothing written)."""
    with engine.connect() as conn:
        v = versions(conn, theirs.id)
    version = _merged_version(theirs, v)
    theirs_data = _plain(dump_app(theirs))
    theirs_ids = identity.carry(v.base_app, v.base[1], theirs)
    result = three_way.merge(
        v.base,
        v.local,
        (theirs_data, theirs_ids),
        version=version,
        choices=choices,
        default=default,
        in_use=_in_use(engine, v.local_app),
    )
    return result, v, version, theirs_ids


def merge_upgrade(
    engine: sa.Engine,
    theirs: App,
    *,
    choices: Mapping[str, str] | None = None,
    default: str | None = None,
    dry_run: bool = False,
    purge: bool = False,
    user: int | None = None,
) -> Outcome:
    """Merge, then (every conflict decided, the result valid) plan or apply the upgrade."""
    result, _v, version, theirs_ids = merge(engine, theirs, choices=choices, default=default)
    out = Outcome(theirs.id, version, result)
    if result.undecided:
        return out
    try:
        app = app_from_data(copy.deepcopy(result.data), f"<merge of {theirs.id} {version}>")
    except TemplateError as exc:
        out.problems = exc.problems
        return out
    lineage = {"ids": result.ids, "upstream": _upstream(theirs), "upstream_ids": theirs_ids}
    try:
        out.plan = installer.upgrade(
            engine, app, out.yaml, dry_run=dry_run, purge=purge, user=user, merged=lineage
        )
    except TesseraError as exc:
        out.error = str(exc)
        return out
    out.applied = not dry_run
    return out


def _upstream(theirs: App) -> dict[str, Any]:
    data = (theirs.source or {}).get("data")
    return _plain(data if data is not None else dump_app(theirs))
