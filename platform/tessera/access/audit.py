"""The security log (who changed users, teams, roles, tokens; sign-ins) and the global
audit view: record changes (``audit_log``) and security events (``security_log``) read
together, filtered, paginated and exported as CSV.

Actions written here (``security_log.action``): ``user_create``, ``user_update``,
``user_deactivate``, ``user_activate``, ``password_reset``, ``password_change``,
``role_grant``, ``role_revoke``, ``team_create``, ``team_update``, ``team_delete``,
``team_join``, ``team_leave``, ``token_create``, ``token_revoke``. Sign-in events
(``login``, ``login_failed``, ``lockout``, ``unlock``) are written by the sign-in flow.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from tessera.access.tables import security_log
from tessera.storage.events import audit_log

RECORD_ACTIONS = ("create", "update", "delete")
SECURITY_ACTIONS = (
    "login",
    "login_failed",
    "lockout",
    "unlock",
    "user_create",
    "user_update",
    "user_deactivate",
    "user_activate",
    "password_reset",
    "password_change",
    "role_grant",
    "role_revoke",
    "team_create",
    "team_update",
    "team_delete",
    "team_join",
    "team_leave",
    "token_create",
    "token_revoke",
    "share",
    "unshare",
    "pool_claim",
    "pool_release",
)
EXPORT_LIMIT = 100_000
CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")


def log(
    conn: sa.Connection,
    action: str,
    *,
    by: int | None = None,
    subject: str | None = None,
    app_id: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one security event in the caller's transaction (the one writer of the log)."""
    conn.execute(
        security_log.insert().values(
            at=datetime.now(UTC),
            action=action,
            user_id=by,
            subject=(subject or "")[:200] or None,  # the column sizes: a hostile name is cut
            app_id=app_id,
            ip=(ip or "")[:64] or None,
            detail=detail,
        )
    )


@dataclass(frozen=True)
class Filters:
    """What the audit page shows: every field optional."""

    user_id: int | None = None
    app_id: str | None = None
    record_type: str | None = None  # "security" selects only security events
    action: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive

    @classmethod
    def parse(cls, args: Any) -> tuple[Filters, list[str]]:
        """Filters from query arguments, and the problems with the ones that were ignored."""
        problems: list[str] = []
        user = (args.get("user") or "").strip()
        user_id = int(user) if user.isascii() and user.isdigit() else None
        if user and user_id is None:
            problems.append("user")
        since = _date(args.get("since"), problems, "since")
        until = _date(args.get("until"), problems, "until")
        return (
            cls(
                user_id=user_id,
                app_id=(args.get("app") or "").strip() or None,
                record_type=(args.get("type") or "").strip() or None,
                action=(args.get("action") or "").strip() or None,
                since=since,
                until=until,
            ),
            problems,
        )


def _date(value: str | None, problems: list[str], name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(name)
        return None


def _typed_null(type_: Any) -> Any:
    return sa.cast(sa.null(), type_)


def _records_select(f: Filters) -> sa.Select | None:
    if f.record_type == "security" or (f.action and f.action not in RECORD_ACTIONS):
        return None
    a = audit_log.c
    query = sa.select(
        sa.literal("record").label("source"),
        a.id.label("id"),
        a.at.label("at"),
        a.action.label("action"),
        a.user_id.label("user_id"),
        a.app_id.label("app_id"),
        a.record_type.label("record_type"),
        a.record_id.label("record_id"),
        _typed_null(sa.String(200)).label("subject"),
        a.actor_kind.label("actor_kind"),
        a.actor_ref.label("actor_ref"),
        _typed_null(sa.String(64)).label("ip"),
        a.changes.label("detail"),
    )
    conds = _common(f, a)
    if f.record_type:
        conds.append(a.record_type == f.record_type)
    if f.action:
        conds.append(a.action == f.action)
    return query.where(*conds)


def _security_select(f: Filters) -> sa.Select | None:
    if (f.record_type and f.record_type != "security") or f.action in RECORD_ACTIONS:
        return None
    s = security_log.c
    query = sa.select(
        sa.literal("security").label("source"),
        s.id.label("id"),
        s.at.label("at"),
        s.action.label("action"),
        s.user_id.label("user_id"),
        s.app_id.label("app_id"),
        _typed_null(sa.String(100)).label("record_type"),
        _typed_null(sa.BigInteger).label("record_id"),
        s.subject.label("subject"),
        _typed_null(sa.String(20)).label("actor_kind"),
        _typed_null(sa.String(100)).label("actor_ref"),
        s.ip.label("ip"),
        s.detail.label("detail"),
    )
    conds = _common(f, s)
    if f.action:
        conds.append(s.action == f.action)
    return query.where(*conds)


def _common(f: Filters, cols: Any) -> list:
    conds = []
    if f.user_id is not None:
        conds.append(cols.user_id == f.user_id)
    if f.app_id:
        conds.append(cols.app_id == f.app_id)
    if f.since:
        conds.append(cols.at >= datetime.combine(f.since, time(), UTC))
    if f.until:
        conds.append(cols.at < datetime.combine(f.until + timedelta(days=1), time(), UTC))
    return conds


def _union(f: Filters) -> sa.Subquery | None:
    parts = [q for q in (_records_select(f), _security_select(f)) if q is not None]
    if not parts:
        return None
    return (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("entries")


def entries(engine: sa.Engine, f: Filters, *, limit: int = 50, offset: int = 0) -> list[dict]:
    """Matching entries, newest first (``source`` says ``record`` or ``security``)."""
    union = _union(f)
    if union is None:
        return []
    query = (
        sa.select(union)
        .order_by(union.c.at.desc(), union.c.source, union.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def iter_entries(engine: sa.Engine, f: Filters, batch: int = 1000) -> Iterator[dict]:
    """Every matching entry (up to :data:`EXPORT_LIMIT`), newest first, read in batches."""
    for offset in range(0, EXPORT_LIMIT, batch):
        rows = entries(engine, f, limit=batch, offset=offset)
        yield from rows
        if len(rows) < batch:
            return


def apps_and_types(engine: sa.Engine) -> tuple[list[str], list[str]]:
    """App ids and record types that appear in the logs (for the filter pickers)."""
    with engine.connect() as conn:
        apps = {r[0] for r in conn.execute(sa.select(audit_log.c.app_id).distinct())}
        apps |= {
            r[0]
            for r in conn.execute(sa.select(security_log.c.app_id).distinct())
            if r[0] is not None
        }
        types = [r[0] for r in conn.execute(sa.select(audit_log.c.record_type).distinct())]
    return sorted(apps), sorted(types)


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (``'`` before = + - @)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_DANGER) else text


def csv_chunks(rows: Iterable[dict], names: dict[int, str]) -> Iterator[str]:
    """The entries as CSV text (UTF-8 BOM first, so spreadsheet apps read Chinese right)."""
    import json

    header = ["at", "source", "action", "user", "app", "record_type", "record_id"]
    header += ["subject", "via", "ip", "detail"]
    yield "\ufeff" + _csv_line(header)
    for r in rows:
        at = r["at"]
        yield _csv_line(
            [
                at.isoformat(timespec="seconds") if at else "",
                r["source"],
                r["action"],
                names.get(r["user_id"], r["user_id"]) if r["user_id"] else "",
                r["app_id"],
                r["record_type"],
                r["record_id"],
                r["subject"],
                via(r["actor_kind"], r["actor_ref"]) if r["source"] == "record" else "",
                r["ip"],
                json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else "",
            ]
        )


def _csv_line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(c) for c in cells])
    return out.getvalue()


def via(kind: str | None, ref: str | None) -> str:
    """Through which door a record change came: ui, api, workflow, import, public_form, system."""
    ref = ref or ""
    if ref.startswith("public-form:"):
        return "public_form"
    return {"user": "ui", "api_token": "api"}.get(kind or "", kind or "system")
