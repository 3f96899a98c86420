"""The engine objects one application instance works with, passed around explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tessera import db
from tessera.query.listing import Queries
from tessera.records.service import Records
from tessera.storage import events  # noqa: F401  (declares the log tables)
from tessera.storage.registry import Registry
from tessera.storage.system import init_db


@dataclass
class Tessera:
    """Database engine + registry of installed apps (and, later, queues)."""

    engine: sa.Engine
    registry: Registry
    instance_path: Path
    config: dict[str, Any]
    records: Records = field(init=False)
    queries: Queries = field(init=False)

    def __post_init__(self) -> None:
        self.records = Records(self.registry)
        self.queries = Queries(self.registry, self.records)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Tessera:
        """Connect to ``DATABASE_URL``, create system tables, load installed apps."""
        engine = db.create_engine(config["DATABASE_URL"])
        init_db(engine)
        registry = Registry(engine)
        registry.reload()
        return cls(engine, registry, Path(config["TESSERA_INSTANCE"]), dict(config))
