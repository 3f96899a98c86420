"""Names of the real database objects that Meta maps to (one place, so they never drift)."""

from __future__ import annotations

import hashlib

SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by", "version")


def table_name(app_id: str, record_type: str) -> str:
    """The table holding records of ``record_type`` in app ``app_id``."""
    return f"rt_{app_id}_{record_type}"


def junction_name(app_id: str, record_type: str, field: str) -> str:
    """The junction table of a ``link_many`` field."""
    return f"rt_{app_id}_{record_type}__{field}"


def index_name(table: str, columns: tuple[str, ...] | list[str]) -> str:
    """Deterministic index name, so upgrades can find and drop it again."""
    name = f"ix_{table}__{'_'.join(columns)}"
    if len(name) <= 60:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"ix_{table[:40]}_{digest}"


def search_index_name(table: str, column: str) -> str:
    """Name of the trigram (search) index on ``table.column``."""
    name = f"tx_{table}__{column}"
    if len(name) <= 60:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"tx_{table[:40]}_{digest}"


def archived_column(field: str, version: str) -> str:
    """Name a removed field's column is renamed to, keeping its data until purged."""
    return f"_archived_{field}_{version.replace('.', '_')}"


def _short(name: str, prefix: str, table: str) -> str:
    # PostgreSQL truncates identifiers at 63 bytes; a digest keeps long names distinct.
    if len(name) <= 60:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{prefix}_{table[:40]}_{digest}"


def unique_index_name(table: str, columns: tuple[str, ...] | list[str]) -> str:
    """Name of the unique index that enforces a ``unique`` field."""
    return _short(f"ux_{table}__{'_'.join(columns)}", "ux", table)


def fk_name(table: str, column: str) -> str:
    """Name of the foreign key constraint on ``table.column``."""
    return _short(f"fk_{table}__{column}", "fk", table)


def archived_table(table: str, version: str) -> str:
    """Name a removed record type's table is renamed to, keeping its rows until purged."""
    return f"_archived_{table}_{version.replace('.', '_')}"
