"""Access policy: the one place that narrows every query to what a user may see.

Every read path (lists, counts, aggregates, API, views) builds its SELECT through
:func:`scoped_select`, which AND-s in :func:`access_condition`. The rules themselves
are compiled by :mod:`tessera.access.rules`; no query path can bypass them because
none builds its own FROM clause.

``who`` is a :class:`~tessera.access.principal.Principal` (resolve a user id with
:func:`principal`) or None for the system, which reads everything.
"""

from __future__ import annotations

import sqlalchemy as sa

from tessera.access.principal import Principal, cached_principal
from tessera.access.rules import sql_condition
from tessera.meta.model import App, RecordType


def principal(engine_or_conn, who: int | Principal | None) -> Principal | None:
    """``who`` as a Principal: ids are loaded (through the per-process cache, which
    ``access.version`` keeps current), principals and None pass through."""
    if who is None or isinstance(who, Principal):
        return who
    return cached_principal(engine_or_conn, int(who))


def access_condition(
    app: App, rt: RecordType, table: sa.Table, who: Principal | None, operation: str = "read"
):
    """The SQL condition limiting ``table`` to rows ``who`` may read (None: all)."""
    if who is not None and not isinstance(who, Principal):
        raise TypeError(
            f"access_condition needs a Principal or None, got {type(who).__name__}: "
            "resolve user ids with tessera.query.policy.principal(engine, user_id)"
        )
    return sql_condition(app, rt, table, who, operation)


def scoped_select(app: App, rt: RecordType, table: sa.Table, who: Principal | None, *columns):
    """``SELECT columns FROM table`` with the access condition applied."""
    query = sa.select(*(columns or (table,))).select_from(table)
    cond = access_condition(app, rt, table, who)
    return query if cond is None else query.where(cond)
