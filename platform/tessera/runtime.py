"""The engine objects one application instance works with, passed around explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tessera import db
from tessera import prefs as _prefs  # noqa: F401  (declares saved views and drafts)
from tessera.access import tables as _access_tables  # noqa: F401  (declares its tables)
from tessera.automation import checks as _checks  # noqa: F401  (registers template checks)
from tessera.automation import tables as _automation_tables  # noqa: F401  (declares its tables)
from tessera.automation.service import Automation
from tessera.dataio import checks as _dataio_checks  # noqa: F401  (registers template checks)
from tessera.dataio import tables as _dataio_tables  # noqa: F401  (declares its tables)
from tessera.query.listing import Queries
from tessera.records.service import Records
from tessera.storage import events  # noqa: F401  (declares the log tables)
from tessera.storage.registry import Registry
from tessera.storage.system import init_db
from tessera.tokens import TokenCache


@dataclass
class Tessera:
    """Database engine + registry of installed apps (and, later, queues)."""

    engine: sa.Engine
    registry: Registry
    instance_path: Path
    config: dict[str, Any]
    records: Records = field(init=False)
    queries: Queries = field(init=False)
    token_cache: TokenCache = field(init=False)
    automation: Automation = field(init=False)

    def __post_init__(self) -> None:
        self.records = Records(self.registry)
        self.queries = Queries(self.registry, self.records)
        self.token_cache = TokenCache(float(self.config.get("API_TOKEN_CACHE_SECONDS", 5)))
        self.automation = Automation(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Tessera:
        """Connect to ``DATABASE_URL``, create system tables, load installed apps."""
        engine = db.create_engine(config["DATABASE_URL"])
        init_db(engine)
        registry = Registry(engine)  # loads the installed apps once
        return cls(engine, registry, Path(config["TESSERA_INSTANCE"]), dict(config))
