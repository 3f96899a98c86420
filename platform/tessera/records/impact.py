"""What deleting a record would take with it, counted by the delete itself.

``Records.delete_impact`` runs the real delete (the same on_delete walk, guards and
cascade budget) inside a transaction it rolls back, with a ``Tally`` riding along.
So the confirmation page can never disagree with what the delete does: there is
one set of rules, and this module only counts what they touched. Rows the
database removes on its own (a record's table-field rows, link_many junction
entries: ``ON DELETE CASCADE``) are counted just before their record goes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tessera.meta.children import PARENT, tables_of
from tessera.meta.model import App, RecordType


@dataclass
class Blockers:
    """A restrict link that refuses the delete: who links here, and through which field."""

    rt: RecordType  # the record type whose records link here (a table's parent for rows)
    link: Any  # the link field (for table rows: the cell field)
    rows: list[dict]  # up to 6 linking records (or rows)
    table_field: Any = None  # for table rows: the parent's table field


@dataclass
class Tally:
    """Counts gathered during a dry-run delete, keyed by record type and field."""

    deleted: Counter = field(default_factory=Counter)  # rt key -> records deleted
    cleared: Counter = field(default_factory=Counter)  # (rt key, link) -> links set empty
    rows: Counter = field(default_factory=Counter)  # (rt key, table field) -> rows removed
    links: Counter = field(default_factory=Counter)  # (rt key, link_many) -> links removed

    def before_delete(self, conn, registry, app: App, rt: RecordType, record_id: int) -> None:
        """Count ``rt`` #record_id itself and what the database cascades from it."""
        self.deleted[rt.key] += 1
        for f, child in tables_of(rt):
            table = registry.table(app.id, child.key)
            self.rows[(rt.key, f.key)] += _count(conn, table, table.c[PARENT] == record_id)
        for src in app.record_types:
            for f in src.fields:
                if f.type != "link_many":
                    continue
                junction = registry.junction(app.id, src.key, f.key)
                if src.key == rt.key:
                    self.links[(src.key, f.key)] += _count(
                        conn, junction, junction.c.source_id == record_id
                    )
                if f.opt("to") == rt.key:
                    self.links[(src.key, f.key)] += _count(
                        conn, junction, junction.c.target_id == record_id
                    )


def _count(conn: sa.Connection, table: sa.Table, where) -> int:
    return int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(where)) or 0)


@dataclass
class DeleteImpact:
    """The outcome of a dry-run delete: what goes with the record, or why it cannot go."""

    deleted: dict[str, int]  # other records deleted by cascade, by record type
    cleared: dict[tuple[str, str], int]  # links emptied (on_delete: set_null)
    rows: dict[tuple[str, str], int]  # table-field rows removed
    links: dict[tuple[str, str], int]  # link_many entries removed
    refused: str | None = None  # the service's refusal message, when the delete is refused
    blockers: Blockers | None = None  # the restrict link behind a refusal, when one is

    @property
    def empty(self) -> bool:
        """True when the record goes alone."""
        return not (self.deleted or self.cleared or self.rows or self.links)

    @classmethod
    def of(cls, tally: Tally, root: str) -> DeleteImpact:
        """Drop the zero counts and the record being deleted itself."""
        deleted = Counter(tally.deleted)
        deleted[root] -= 1
        return cls(
            deleted={k: n for k, n in deleted.items() if n > 0},
            cleared={k: n for k, n in tally.cleared.items() if n > 0},
            rows={k: n for k, n in tally.rows.items() if n > 0},
            links={k: n for k, n in tally.links.items() if n > 0},
        )
