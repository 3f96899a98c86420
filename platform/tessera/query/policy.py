"""Access policy: the one place that narrows every query to what a user may see.

Every read path (lists, counts, aggregates, API, views) builds its SELECT through
:func:`scoped_select`, which AND-s in :func:`access_condition`. Today the policy
allows everything; the permissions work fills in rules here, and no query path can
bypass it because none builds its own FROM clause.
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.meta.model import App, RecordType


def access_condition(app: App, rt: RecordType, table: sa.Table, user_id: int | None):
    """The SQL condition limiting ``table`` to rows ``user_id`` may read (None: all)."""
    return None


def scoped_select(app: App, rt: RecordType, table: sa.Table, user_id: int | None, *columns):
    """``SELECT columns FROM table`` with the access condition applied."""
    query = sa.select(*(columns or (table,))).select_from(table)
    cond = access_condition(app, rt, table, user_id)
    return query if cond is None else query.where(cond)
