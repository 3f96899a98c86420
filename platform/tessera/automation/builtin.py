"""Built-in workflow actions, registered through the public :func:`register` like a plug-in.

update_record, create_record, increment, decrement, notify, send_email, webhook, wecom,
dingtalk, feishu, assign, wait, set_variable and if.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import time
from collections.abc import Mapping
from contextlib import nullcontext
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote_plus

import sqlalchemy as sa

from tessera.automation import tables
from tessera.automation.actions import Action, ActionError, StepContext, register
from tessera.automation.http import post_json
from tessera.errors import Problem
from tessera.meta.model import App, RecordType
from tessera.query.policy import scoped_select
from tessera.storage.system import next_sequence_value, users


def _record_id(ctx: StepContext, params: Mapping[str, Any]) -> tuple[str, int]:
    rt_key = params.get("record_type") or ctx.workflow.record_type
    rid = params.get("record_id") or (ctx.record or {}).get("id")
    if not rt_key or rid is None:
        raise ActionError("no record to update: the trigger has none and no record_id is given")
    return rt_key, int(rid)


def _field_problems(values: Any, rt: RecordType | None, where: str) -> list[Problem]:
    if not isinstance(values, Mapping):
        return [Problem(where, "must be a mapping of field: value")]
    if rt is None:
        return []
    return [
        Problem(f"{where}.{key}", f'{rt.key} has no field "{key}"')
        for key in values
        if not rt.has_field(key)
    ]


class UpdateRecord(Action):
    """Set fields of the triggering record (or of ``record_type`` + ``record_id``)."""

    name, label, effect = "update_record", "Update record", "record"
    required, optional = ("values",), ("record_type", "record_id")

    def check(self, params, app: App, rt: RecordType | None) -> list[Problem]:
        """Values name real fields of the target record type."""
        target = app.record_type(params["record_type"]) if _has(app, params) else rt
        return super().check(params, app, rt) + _field_problems(
            params.get("values"), target, "values"
        )

    def run(self, ctx, params):
        """Write through the records service as the workflow actor, in the step's transaction.

        Values rendered from the triggering record are written only over the version they
        were computed from; a newer version raises Conflict and the engine re-reads the
        record and renders them again.
        """
        rt_key, rid = _record_id(ctx, params)
        record = ctx.record or {}
        same = rt_key == ctx.workflow.record_type and record.get("id") == rid
        version = record.get("version") if same else None
        ctx.tessera.records.update(
            ctx.app.id, rt_key, rid, dict(params["values"]), ctx.actor, version=version,
            conn=ctx.conn,
        )  # fmt: skip
        return {"record_type": rt_key, "record_id": rid, "values": params["values"]}

    def preview(self, ctx, params):
        """The record and the values it would get."""
        rt_key, rid = _record_id(ctx, params)
        return {
            "would": "update",
            "record_type": rt_key,
            "record_id": rid,
            "values": params["values"],
        }


class CreateRecord(Action):
    """Create a record of ``record_type``; ``as`` keeps its id in a variable."""

    name, label, effect = "create_record", "Create record", "record"
    required, optional = ("record_type", "values"), ("as",)

    def check(self, params, app: App, rt: RecordType | None) -> list[Problem]:
        """The record type exists and the values name its fields."""
        problems = super().check(params, app, rt)
        if "record_type" in params and not _has(app, params):
            return [*problems, Problem("record_type", f'no record type "{params["record_type"]}"')]
        target = app.record_type(params["record_type"]) if _has(app, params) else None
        return problems + _field_problems(params.get("values", {}), target, "values")

    def run(self, ctx, params):
        """Create through the records service as the workflow actor."""
        rt_key = params["record_type"]
        row = ctx.tessera.records.create(
            ctx.app.id, rt_key, dict(params["values"]), ctx.actor, conn=ctx.conn
        )
        return {"record_type": rt_key, "record_id": row["id"]}

    def preview(self, ctx, params):
        """The record type and values it would create."""
        return {"would": "create", "record_type": params["record_type"], "values": params["values"]}


class Increment(Action):
    """Add ``by`` (default 1) to number fields atomically: ``field`` or ``fields: {f: n}``.

    The records service adds to the value it reads under the row's lock, so concurrent
    increments never lose one; audit entry and outbox event are written as for any change.
    """

    name, label, effect = "increment", "Increment", "record"
    required, optional = (), ("field", "by", "fields", "record_type", "record_id")
    sign = 1

    def check(self, params, app: App, rt: RecordType | None) -> list[Problem]:
        """Exactly one of field / fields; each a number field of the target type."""
        problems = super().check(params, app, rt)
        if ("field" in params) == ("fields" in params):
            return [*problems, Problem("field", f'"{self.name}" needs either "field" or "fields"')]
        target = app.record_type(params["record_type"]) if _has(app, params) else rt
        names = [params["field"]] if "field" in params else list(params.get("fields") or {})
        for key in names:
            if target is not None and (
                not target.has_field(key)
                or target.field(key).type not in ("number", "currency", "percent", "rating")
            ):
                where = "field" if "field" in params else f"fields.{key}"
                problems.append(Problem(where, f'{target.key} has no number field "{key}"'))
        return problems

    def deltas(self, params) -> dict[str, Any]:
        """{field: signed amount} from the rendered parameters."""
        if "field" in params:
            raw = {params["field"]: params.get("by", 1)}
        else:
            raw = dict(params["fields"])
        try:
            return {k: self.sign * _number(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise ActionError(f"{self.name}: amounts must be numbers, got {raw!r}") from None

    def run(self, ctx, params):
        """One atomic update through the records service, in the step's transaction."""
        rt_key, rid = _record_id(ctx, params)
        deltas = self.deltas(params)
        row = ctx.tessera.records.update(
            ctx.app.id, rt_key, rid, {}, ctx.actor, conn=ctx.conn, deltas=deltas
        )
        return {"record_type": rt_key, "record_id": rid, "added": deltas,
                "values": {k: _jsonable_number(row.get(k)) for k in deltas}}  # fmt: skip

    def preview(self, ctx, params):
        """The record and the amounts it would add."""
        rt_key, rid = _record_id(ctx, params)
        return {"would": self.name, "record_type": rt_key, "record_id": rid,
                "added": self.deltas(params)}  # fmt: skip


class Decrement(Increment):
    """Subtract ``by`` (default 1) from number fields atomically (see ``increment``)."""

    name, label, sign = "decrement", "Decrement", -1


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    digits = text.removeprefix("-")
    return int(text) if digits.isascii() and digits.isdigit() else float(text)


def _jsonable_number(value: Any) -> Any:
    return value if value is None or isinstance(value, int | float) else str(value)


def _has(app: App, params: Mapping[str, Any]) -> bool:
    return isinstance(params.get("record_type"), str) and app.has_record_type(params["record_type"])


def resolve_users(conn: sa.Connection, targets: Any, app_id: str | None = None) -> list[int]:
    """User ids from ids, usernames, ``role:NAME`` and ``admins`` (empty entries skipped).

    ``role:NAME`` means the users whose account role is NAME and, given ``app_id``, the
    users holding the app's role NAME (the roles a template declares).
    """
    items = targets if isinstance(targets, list | tuple) else str(targets).split(",")
    found: list[int] = []
    for item in items:
        found.extend(_users_for(conn, item, app_id))
    return list(dict.fromkeys(found))


def role_holders(role: str, app_id: str | None) -> sa.ColumnElement[bool]:
    """Active users with account role ``role`` or, in ``app_id``, the app role ``role``."""
    from tessera.access.tables import user_roles

    held = users.c.role == role
    if app_id is not None:
        in_app = sa.select(user_roles.c.user_id).where(
            user_roles.c.app_id == app_id, user_roles.c.role == role
        )
        held = sa.or_(held, users.c.id.in_(in_app))
    return sa.and_(held, users.c.active.is_(True))


def _users_for(conn: sa.Connection, item: Any, app_id: str | None = None) -> list[int]:
    active = users.c.active.is_(True)
    text = str(item).strip() if item is not None else ""
    if text in ("", "None"):
        return []
    if isinstance(item, int) or (text.isascii() and text.isdigit()):
        if not 0 < int(text) < 2**63:  # no such user; a bigger number overflows the column
            return []
        query = sa.select(users.c.id).where(users.c.id == int(text), active)
    elif text.startswith("role:"):
        query = sa.select(users.c.id).where(role_holders(text[5:], app_id)).order_by(users.c.id)
    elif text == "admins":
        query = sa.select(users.c.id).where(users.c.is_admin.is_(True), active).order_by(users.c.id)
    else:
        query = sa.select(users.c.id).where(users.c.username == text, active)
    ids = list(conn.scalars(query))
    if not ids and not text.startswith("role:"):
        raise ActionError(f"notify: no active user {text!r} (use an id, a username or role:NAME)")
    return ids


class Notify(Action):
    """In-app notification (the bell) to users, usernames, ``role:NAME`` or ``admins``."""

    name, label, effect = "notify", "Notify", "local"
    required, optional = ("to", "message"), ()

    def run(self, ctx, params):
        """Insert one notification per recipient in the step's transaction."""
        ids = resolve_users(ctx.conn, params["to"], ctx.app.id)
        record = ctx.record or {}
        rows = [
            {
                "user_id": uid,
                "message": str(params["message"]),
                "app_id": ctx.app.id,
                "record_type": ctx.workflow.record_type,
                "record_id": record.get("id"),
                "run_id": ctx.run_id,
                "created_at": ctx.tessera.records.clock(),
            }
            for uid in ids
        ]
        if rows:
            ctx.conn.execute(tables.notifications.insert(), rows)
        return {"recipients": ids, "message": params["message"]}

    def preview(self, ctx, params):
        """The recipients it would notify."""
        with ctx.tessera.engine.connect() as conn:
            ids = resolve_users(conn, params["to"], ctx.app.id)
        return {"would": "notify", "recipients": ids, "message": params["message"]}


class SendEmail(Action):
    """E-mail by SMTP (config SMTP_*); without SMTP_HOST, into the local mail outbox."""

    name, label, effect = "send_email", "Send e-mail", "external"
    required, optional = ("to", "subject", "body"), ()

    def effect_for(self, config):
        """Local (exactly once) when mail goes to the outbox table."""
        return "external" if config.get("SMTP_HOST") else "local"

    def run(self, ctx, params):
        """Send, or write to the local outbox."""
        to = _addresses(params["to"])
        if not to:
            raise ActionError(f"send_email: no recipient address (to rendered as {params['to']!r})")
        if ctx.config.get("SMTP_HOST"):
            _smtp(ctx.config, to, str(params["subject"]), str(params["body"]), ctx.idempotency_key)
            return {"sent_to": to, "via": "smtp"}
        ctx.conn.execute(
            tables.mail_outbox.insert().values(
                to=", ".join(to),
                subject=str(params["subject"]),
                body=str(params["body"]),
                run_id=ctx.run_id,
                created_at=ctx.tessera.records.clock(),
            )
        )
        return {"sent_to": to, "via": "outbox"}

    def preview(self, ctx, params):
        """Recipients, subject and body."""
        return {"would": "send_email", **params, "to": _addresses(params["to"])}


def _addresses(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [a.strip() for a in map(str, items) if a.strip() and a.strip() != "None"]


def _smtp(config, to: list[str], subject: str, body: str, key: str) -> None:
    msg = EmailMessage()
    msg["From"] = config.get("SMTP_FROM") or "tessera@localhost"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{key}@tessera>"  # the same step always sends the same id
    msg.set_content(body)
    port = int(config.get("SMTP_PORT") or 25)
    cls = smtplib.SMTP_SSL if port == 465 else smtplib.SMTP
    try:
        with cls(config["SMTP_HOST"], port, timeout=30) as smtp:
            if port == 587:
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise ActionError(f"SMTP {config['SMTP_HOST']}:{port} failed: {exc}") from None


class Webhook(Action):
    """HTTP POST of a JSON body (default: event, record and old values)."""

    name, label, effect = "webhook", "Webhook", "external"
    required, optional = ("url",), ("body", "headers", "timeout", "retries")

    def run(self, ctx, params):
        """POST with an Idempotency-Key header; 2xx is success."""
        body = params.get("body", _default_body(ctx))
        headers = {"Idempotency-Key": ctx.idempotency_key, **(params.get("headers") or {})}
        status, reply = post_json(
            params["url"],
            body,
            ctx.config,
            headers=headers,
            timeout=float(params.get("timeout", 10)),
            retries=int(params.get("retries", 2)),
        )
        return {"url": params["url"], "status": status, "reply": reply}

    def preview(self, ctx, params):
        """The URL and body it would post."""
        return {
            "would": "POST",
            "url": params["url"],
            "body": params.get("body", _default_body(ctx)),
        }


def _default_body(ctx: StepContext) -> dict[str, Any]:
    from tessera.records.log import json_values

    rt = ctx.rt
    record = json_values(rt, ctx.record) if rt and ctx.record else ctx.record
    return {
        "app": ctx.app.id,
        "workflow": ctx.workflow.key,
        "record_type": ctx.workflow.record_type,
        "record": record,
        "old": ctx.old,
        "run_id": ctx.run_id,
    }


class Robot(Action):
    """Base of group-robot messages: ``url``, ``text`` or ``markdown``, optional ``secret``."""

    effect = "external"
    required = ("url",)
    optional = ("text", "markdown", "title", "mentions", "secret", "timeout")

    def check(self, params, app, rt):
        """Exactly one of text / markdown."""
        problems = super().check(params, app, rt)
        if ("text" in params) == ("markdown" in params):
            problems.append(Problem("text", f'"{self.name}" needs either "text" or "markdown"'))
        return problems

    def message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body in the service's documented format."""
        raise NotImplementedError

    def signed(self, url: str, body: dict, secret: str | None) -> tuple[str, dict]:
        """URL and body with the service's signature added (when a secret is set)."""
        return url, body

    def run(self, ctx, params):
        """POST the message; the service's own error code turns into a failure."""
        url, body = self.signed(params["url"], self.message(params), params.get("secret"))
        timeout = float(params.get("timeout", 10))
        status, reply = post_json(url, body, ctx.config, timeout=timeout, retries=2)
        code = (
            reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
            if isinstance(reply, dict)
            else 0
        )
        if code:
            msg = reply.get("errmsg") or reply.get("msg") or reply
            raise ActionError(f"{self.name} robot refused the message: code {code}: {msg}")
        return {"status": status, "reply": reply}

    def preview(self, ctx, params):
        """The body it would send."""
        return {"would": f"post to {self.name}", "url": params["url"], "body": self.message(params)}


def _mentions(params) -> list[str]:
    value = params.get("mentions") or []
    return [str(m) for m in (value if isinstance(value, list | tuple) else [value])]


class WeCom(Robot):
    """WeCom (企业微信) group robot: msgtype text (with mentioned_mobile_list) or markdown."""

    name, label = "wecom", "WeCom group robot"

    def message(self, params):
        """{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}} or markdown."""
        if "markdown" in params:
            return {"msgtype": "markdown", "markdown": {"content": str(params["markdown"])}}
        text = {"content": str(params["text"])}
        if _mentions(params):
            text["mentioned_mobile_list"] = _mentions(params)
        return {"msgtype": "text", "text": text}


class DingTalk(Robot):
    """DingTalk (钉钉) group robot; ``secret`` signs the URL (timestamp + HmacSHA256)."""

    name, label = "dingtalk", "DingTalk group robot"

    def message(self, params):
        """{"msgtype": "text", "text": {"content"}, "at": {...}} or markdown with a title."""
        at = {"atMobiles": _mentions(params), "isAtAll": False}
        if "markdown" in params:
            title = str(params.get("title") or "Tessera")
            return {
                "msgtype": "markdown",
                "markdown": {"title": title, "text": str(params["markdown"])},
                "at": at,
            }
        return {"msgtype": "text", "text": {"content": str(params["text"])}, "at": at}

    def signed(self, url, body, secret):
        """Append &timestamp=<ms>&sign=<base64 HmacSHA256(secret, ts\\nsecret)>."""
        if not secret:
            return url, body
        stamp = str(round(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = quote_plus(base64.b64encode(digest))
        return f"{url}{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}", body


class Feishu(Robot):
    """Feishu (飞书) group robot: msg_type text, or an interactive card for markdown."""

    name, label = "feishu", "Feishu group robot"

    def message(self, params):
        """{"msg_type": "text", "content": {"text"}} or {"msg_type": "interactive", "card"}."""
        if "markdown" in params:
            card: dict[str, Any] = {
                "elements": [{"tag": "markdown", "content": str(params["markdown"])}]
            }
            if params.get("title"):
                card["header"] = {"title": {"tag": "plain_text", "content": str(params["title"])}}
            return {"msg_type": "interactive", "card": card}
        return {"msg_type": "text", "content": {"text": str(params["text"])}}

    def signed(self, url, body, secret):
        """Body gets timestamp (seconds) and sign = base64 HmacSHA256(key=ts\\nsecret, b"")."""
        if not secret:
            return url, body
        stamp = str(int(time.time()))
        digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        return url, {"timestamp": stamp, "sign": base64.b64encode(digest).decode(), **body}


class Assign(Action):
    """Set a user field to one user of ``role``: round_robin (default) or least_loaded.

    ``role`` is an account role or a role the app declares; ``as`` keeps the user id.
    """

    name, label, effect = "assign", "Assign", "record"
    required, optional = ("role",), ("field", "strategy", "as")

    def check(self, params, app, rt):
        """The field is a user field; the strategy is known."""
        problems = super().check(params, app, rt)
        key = params.get("field", "owner")
        if rt is not None and (not rt.has_field(key) or rt.field(key).type != "user"):
            problems.append(Problem("field", f'{rt.key} has no user field "{key}"'))
        if params.get("strategy", "round_robin") not in ("round_robin", "least_loaded"):
            problems.append(Problem("strategy", "must be round_robin or least_loaded"))
        return problems

    def pick(self, ctx: StepContext, params) -> int:
        """The user id this assignment chooses."""
        role, key = params["role"], params.get("field", "owner")
        # inside the step's transaction when running (SQLite: a second writer would wait)
        tx = nullcontext(ctx.conn) if ctx.conn is not None else ctx.tessera.engine.begin()
        with tx as conn:
            ids = list(
                conn.scalars(
                    sa.select(users.c.id).where(role_holders(role, ctx.app.id)).order_by(users.c.id)
                )
            )
            if not ids:
                raise ActionError(f"assign: no active user has role {role!r}")
            if params.get("strategy", "round_robin") == "least_loaded":
                return _least_loaded(ctx, conn, key, ids)
            if ctx.dry_run:
                return ids[0]
            turn = next_sequence_value(conn, f"automation.rr.{ctx.app.id}.{ctx.workflow.key}")
            return ids[(turn - 1) % len(ids)]

    def run(self, ctx, params):
        """Pick, then write the field through the records service."""
        rt_key, rid = _record_id(ctx, {})
        uid = self.pick(ctx, params)
        key = params.get("field", "owner")
        ctx.tessera.records.update(ctx.app.id, rt_key, rid, {key: uid}, ctx.actor, conn=ctx.conn)
        return {"record_id": rid, "field": key, "user_id": uid}

    def preview(self, ctx, params):
        """Whom it would assign (round robin shows the next in line without taking a turn)."""
        return {
            "would": "assign",
            "field": params.get("field", "owner"),
            "user_id": self.pick(ctx, params),
        }


def _least_loaded(ctx: StepContext, conn, key: str, ids: list[int]) -> int:
    table = ctx.tessera.registry.table(ctx.app.id, ctx.workflow.record_type)
    rt = ctx.app.record_type(ctx.workflow.record_type)
    counts = dict(
        conn.execute(
            scoped_select(ctx.app, rt, table, None, table.c[key], sa.func.count())
            .where(table.c[key].in_(ids))
            .group_by(table.c[key])
        ).all()
    )
    return min(ids, key=lambda uid: (counts.get(uid, 0), uid))


class Wait(Action):
    """Pause the run: ``for`` a duration (30m, 2h, 1d, 1w) or ``until`` a moment."""

    name, label, effect = "wait", "Wait", "control"
    optional = ("for", "until")

    def check(self, params, app, rt):
        """Exactly one of for / until; a valid duration."""
        from tessera.automation.timing import parse_duration

        problems = super().check(params, app, rt)
        if ("for" in params) == ("until" in params):
            problems.append(Problem("for", '"wait" needs either "for" (e.g. 2h) or "until"'))
        elif "for" in params and parse_duration(params["for"]) is None:
            problems.append(
                Problem("for", f'"{params["for"]}" is not a duration like 30m, 2h, 1d, 1w')
            )
        return problems


class SetVariable(Action):
    """Keep a value under ``name`` in ``vars`` for later steps of the run."""

    name, label, effect = "set_variable", "Set variable", "control"
    required = ("name", "value")


class If(Action):
    """Run ``then`` when ``condition`` holds (or ``test`` renders true), else ``else``."""

    name, label, effect = "if", "If / else", "control"
    required, raw = ("then",), ("condition", "test", "then", "else")

    def check(self, params, app, rt):
        """Exactly one of condition / test; a test is a template that compiles."""
        from tessera.automation.render import template_problem

        problems = super().check(params, app, rt)
        if ("condition" in params) == ("test" in params):
            problems.append(Problem("condition", '"if" needs either "condition" or "test"'))
        elif "test" in params and (bad := template_problem(str(params["test"]))):
            problems.append(Problem("test", bad))
        return problems


def truthy(value: Any) -> bool:
    """A rendered ``test``: true unless empty, false, no, 0 or none (any case)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0", "none", "0.0")
    return bool(value)


class FindRecords(Action):
    """Find records of ``record_type`` matching ``where``; ``as`` keeps their ids (a list).

    ``where`` is the condition language, its values rendered first (so it can compare with
    the triggering record: ``value: "{{ record.phone }}"``); at most ``limit`` ids (default
    20, at most 500), newest first. Reads only: the step writes nothing.
    """

    name, label, effect = "find_records", "Find records", "local"
    required, optional = ("record_type", "where", "as"), ("limit",)

    def check(self, params, app, rt):
        """The record type exists; as is a variable name; limit is 1..500."""
        problems = super().check(params, app, rt)
        if "record_type" in params and not _has(app, params):
            problems.append(Problem("record_type", f'no record type "{params["record_type"]}"'))
        if "where" in params and not isinstance(params["where"], Mapping):
            problems.append(Problem("where", "must be a condition ({field, op, value}, all, any)"))
        limit = params.get("limit", 20)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
            problems.append(Problem("limit", "must be a whole number from 1 to 500"))
        return problems

    def find(self, ctx: StepContext, params) -> list[int]:
        """Ids of the matching records (no access rules: the workflow's own lookup)."""
        from tessera.query import conditions

        app, reg = ctx.app, ctx.tessera.registry
        rt = app.record_type(params["record_type"])
        tables = {r.key: reg.table(app.id, r.key) for r in app.record_types}
        try:
            clause = conditions.to_sql(
                params["where"], rt, app, tables, me=None, now=ctx.tessera.records.clock(),
                path="where",
            )  # fmt: skip
        except conditions.ConditionError as exc:
            raise ActionError(f"find_records: {exc}") from None
        table = tables[rt.key]
        query = (
            sa.select(table.c.id).where(clause).order_by(table.c.id.desc())
            .limit(int(params.get("limit", 20)))
        )  # fmt: skip
        tx = nullcontext(ctx.conn) if ctx.conn is not None else ctx.tessera.engine.connect()
        with tx as conn:
            return [int(i) for i in conn.scalars(query)]

    def run(self, ctx, params):
        """The ids found (the engine keeps them in ``vars[as]``)."""
        ids = self.find(ctx, params)
        return {"record_type": params["record_type"], "record_ids": ids, "count": len(ids)}

    def preview(self, ctx, params):
        """What it would find (it only reads)."""
        return self.run(ctx, params)


for _action in (
    UpdateRecord(), CreateRecord(), Increment(), Decrement(), Notify(), SendEmail(), Webhook(),
    WeCom(), DingTalk(), Feishu(), Assign(), Wait(), SetVariable(), If(), FindRecords(),
):  # fmt: skip
    register(_action)
