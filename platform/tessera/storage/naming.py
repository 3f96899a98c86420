"""Names of the real database objects that Meta maps to (one place, so they never drift)."""

from __future__ import annotations

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
    return name if len(name) <= 60 else f"ix_{table[:30]}_{abs(hash(tuple(columns))) % 10**8}"


def archived_column(field: str, version: str) -> str:
    """Name a removed field's column is renamed to, keeping its data until purged."""
    return f"_archived_{field}_{version.replace('.', '_')}"
