"""Sample data: a template folder's ``demo.yaml``, loaded through the records service.

The file maps record types (in creation order) to lists of field values. ``_ref: name``
names a record; ``"@name"`` in a later link field points at it. ``"+3d"`` / ``"-40d"``
in a date or datetime field means that many days from today (datetimes at 09:00 UTC).
Records are written by the records service as an import (validation, audit and outbox
apply); if one is refused, the ones already created are deleted again, so a bad file
leaves no trace but its audit entries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from tessera.demogen import GenerateError, Generator
from tessera.errors import RecordError, TesseraError
from tessera.meta.model import RecordType
from tessera.records.actor import Actor

REF = re.compile(r"^@([A-Za-z0-9_]+)$")
RELATIVE = re.compile(r"^([+-]\d{1,4})d$")
ACTOR = Actor(kind="import", ref="demo")


class DemoError(TesseraError):
    """The demo file is malformed or a record in it was refused."""


def load_demo(
    tessera: Any,
    app_id: str,
    path: Path,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
    scale: float = 1.0,
) -> dict[str, int]:
    """Create the records of ``path`` in app ``app_id``; how many per record type.

    A ``_generate`` section (see :mod:`tessera.demogen`) adds generated records after the
    listed ones; ``progress(record_type, n)`` is told of every batch written.
    """
    app = tessera.registry.app(app_id)
    data = _read(path)
    spec = data.pop("_generate", None)
    if not force and _has_records(tessera, app):
        raise DemoError(f"app {app_id!r} already has records; use --force to add the demo anyway")
    created: list[tuple[str, int]] = []
    counts: dict[str, int] = {}
    try:
        _create_all(tessera, app, data, path, created)
        if spec is not None:
            where = f"{path.name}: _generate"
            gen = Generator(tessera, app_id, spec, ACTOR, where, progress, scale=scale)
            try:
                counts = gen.run()
            except GenerateError as exc:
                _undo_generated(tessera, app_id, gen)
                raise DemoError(str(exc)) from None
    except DemoError:
        for rt_key, record_id in reversed(created):
            tessera.records.delete(app_id, rt_key, record_id, ACTOR)
        raise
    for rt_key, _ in created:
        counts[rt_key] = counts.get(rt_key, 0) + 1
    return counts


def demo_size(path: Path, scale: float = 1.0) -> int:
    """Roughly how many records ``path`` creates (for a progress bar)."""
    data = _read(path)
    spec = data.pop("_generate", None) or {}
    listed = sum(len(v) for v in data.values())
    steps = spec.get("steps") if isinstance(spec, dict) else None
    return listed + sum(round(int(s.get("estimate", s.get("count", 0)) or 0) * scale)
                        for s in steps or () if isinstance(s, dict)
                        and isinstance(s.get("estimate", s.get("count")), int))  # fmt: skip


def _undo_generated(tessera: Any, app_id: str, gen: Generator) -> None:
    """Delete what a failed generation wrote (children first)."""
    for rt_key in reversed(list(gen.rows)):
        for row in reversed(gen.rows[rt_key]):
            if "_id" in row:
                tessera.records.delete(app_id, rt_key, row["_id"], ACTOR)


def _read(path: Path) -> dict[str, list[dict]]:
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DemoError(f"{path}: not valid YAML: {exc}") from None
    listed = {k: v for k, v in data.items() if k != "_generate"} if isinstance(data, dict) else None
    if listed is None or not all(isinstance(v, list) for v in listed.values()):
        raise DemoError(f"{path}: expected a mapping of record type -> list of records")
    return data


def has_records(tessera: Any, app) -> bool:
    """True when any record type of ``app`` holds a record."""
    return _has_records(tessera, app)


def _has_records(tessera: Any, app) -> bool:
    return any(tessera.queries.list(app.id, rt.key, limit=1).rows for rt in app.record_types)


def _create_all(tessera, app, data, path, created) -> None:
    refs: dict[str, int] = {}
    today = datetime.now(UTC).date()
    for rt_key, rows in data.items():
        if not app.has_record_type(rt_key):
            raise DemoError(f"{path.name}: {rt_key}: app {app.id!r} has no such record type")
        rt = app.record_type(rt_key)
        for i, row in enumerate(rows):
            where = f"{path.name}: {rt_key}[{i}]"
            if not isinstance(row, dict):
                raise DemoError(f"{where}: expected a mapping of field values")
            values = {
                k: _value(rt, k, v, refs, today, where) for k, v in row.items() if k != "_ref"
            }
            try:
                record = tessera.records.create(app.id, rt_key, values, ACTOR)
            except RecordError as exc:
                raise DemoError(f"{where}: {exc.message}") from None
            created.append((rt_key, record["id"]))
            if row.get("_ref"):
                refs[str(row["_ref"])] = record["id"]


def _value(rt: RecordType, key: str, value: Any, refs: dict, today: date, where: str) -> Any:
    if isinstance(value, str) and (m := REF.match(value)):
        if m.group(1) not in refs:
            raise DemoError(f"{where}.{key}: {value!r} names no earlier record (_ref)")
        return refs[m.group(1)]
    field = rt.field_map.get(key)
    relative = RELATIVE.match(value) if isinstance(value, str) else None
    if field is None or field.type not in ("date", "datetime") or relative is None:
        return value
    day = today + timedelta(days=int(relative.group(1)))
    if field.type == "date":
        return day.isoformat()
    return datetime.combine(day, time(9, 0), UTC).isoformat()
