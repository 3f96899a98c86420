"""Reading requests: JSON bodies, list parameters, record ids, versions, timestamps.

Each parser raises :class:`~tessera.api.errors.ApiError` naming the offending part
(``fields`` key: ``body``, ``filter``, ``limit``, ``If-Match``...). Deeper checks
(filter semantics, sort keys, cursors) belong to the query service, which names the
path inside the part (``filter.all[1].op``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from tessera.api.errors import ApiError, bad_request
from tessera.errors import NotFound
from tessera.web import hostile

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000  # beyond this, keyset cursors are the only sane way
MAX_ID = 2**31 - 1  # record ids are INTEGER columns (32-bit on PostgreSQL)
MAX_BULK = 1000
LIST_PARAMS = ("filter", "sort", "limit", "cursor", "offset", "q", "fields", "expand", "total")
REPEATABLE = ("fields", "expand")


# -- bodies -----------------------------------------------------------------------------
def json_body() -> Any:
    """The request body parsed as JSON (413 too large, 415 not JSON, 400 malformed)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    if not request.is_json:
        raise ApiError(
            415,
            "send the body as JSON with 'Content-Type: application/json' "
            f"(got {request.mimetype or 'no Content-Type'})",
            {"Content-Type": ["must be application/json"]},
        )
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise bad_request("the request body is empty; send a JSON object", "body", "empty")
    return _parse_json(raw, "body")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(raw: bytes | str, where: str) -> Any:
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise bad_request(f"{where}: JSON nested too deeply", where, "nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, huge integers
        raise bad_request(
            f"{where}: malformed JSON — {exc}", where, f"malformed JSON: {exc}"
        ) from None
    if hostile.json_depth(value) > hostile.JSON_MAX_DEPTH:
        message = f"nested deeper than {hostile.JSON_MAX_DEPTH} levels"
        raise bad_request(f"{where}: JSON {message}", where, message)
    if any(hostile.bad_text(s) for s in hostile.strings(value)):
        raise bad_request(f"{where}: {BAD_TEXT}", where, BAD_TEXT)
    return value


BAD_TEXT = "text holds a NUL character or a lone surrogate (broken UTF-16)"


def check_args() -> None:
    """400 for NUL characters or lone surrogates anywhere in the query string or path."""
    for key, value in [*request.args.items(multi=True), *(request.view_args or {}).items()]:
        if hostile.bad_text(key) or hostile.bad_text(value):
            raise bad_request(f"{key}: {BAD_TEXT}", str(key), BAD_TEXT)


def object_body() -> dict[str, Any]:
    """The body as a JSON object of field values (400 for any other JSON value)."""
    body = json_body()
    if not isinstance(body, dict):
        raise bad_request(
            f"the body must be a JSON object of field values, not {_kind(body)}",
            "body",
            f"expected an object, got {_kind(body)}",
        )
    return body


def bulk_rows() -> list[Any]:
    """A bulk body: a JSON array of 1..1000 objects, or ``{"rows": [...]}``."""
    body = json_body()
    rows = body.get("rows") if isinstance(body, dict) and set(body) == {"rows"} else body
    if not isinstance(rows, list):
        raise bad_request(
            'the body must be a JSON array of records (or {"rows": [...]})',
            "body",
            f"expected an array, got {_kind(rows)}",
        )
    if not 1 <= len(rows) <= MAX_BULK:
        raise bad_request(
            f"send 1 to {MAX_BULK} rows per bulk call (got {len(rows)}); split larger imports",
            "body",
            f"expected 1..{MAX_BULK} rows, got {len(rows)}",
        )
    return rows


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number")


# -- list parameters ---------------------------------------------------------------------
def list_options(args: MultiDict) -> dict[str, Any]:
    """Keyword arguments for ``queries.list`` from the query string."""
    _check_names(args)
    opts: dict[str, Any] = {"limit": _int(_one(args, "limit"), "limit", 1, MAX_LIMIT, 50)}
    raw_filter = _one(args, "filter")
    if raw_filter not in (None, ""):
        opts["filter"] = _filter(raw_filter)
    opts["sort"] = _sort(_one(args, "sort"))
    opts["cursor"] = _one(args, "cursor") or None
    offset = _one(args, "offset")
    if opts["cursor"] and offset not in (None, ""):
        raise bad_request(
            "give either cursor or offset, not both", "offset", "conflicts with cursor"
        )
    opts["offset"] = _int(offset, "offset", 0, MAX_OFFSET, None)
    opts["q"] = _one(args, "q") or None
    opts["fields"] = _names(args, "fields")
    opts["expand"] = _names(args, "expand")
    opts["with_total"] = _flag(_one(args, "total"), "total")
    return opts


def _check_names(args: MultiDict) -> None:
    unknown = sorted(set(args) - set(LIST_PARAMS))
    if unknown:
        raise ApiError(
            400,
            f"unknown query parameter(s) {', '.join(unknown)}; known: {', '.join(LIST_PARAMS)}",
            {name: ["unknown query parameter"] for name in unknown},
        )


def _one(args: MultiDict, name: str) -> str | None:
    values = args.getlist(name)
    if len(values) > 1 and name not in REPEATABLE:
        raise bad_request(f"{name}: give it once (got {len(values)} values)", name, "repeated")
    return values[0] if values else None


def _int(raw: str | None, name: str, low: int, high: int, default: int | None) -> int | None:
    if raw in (None, ""):
        return default
    text = raw.strip()
    if not re.fullmatch(r"\d{1,12}", text) or not low <= int(text) <= high:
        raise bad_request(
            f"{name}: must be a whole number from {low} to {high}, got {raw!r}",
            name,
            f"must be a whole number from {low} to {high}",
        )
    return int(text)


def _filter(raw: str) -> Any:
    value = _parse_json(raw, "filter")
    if not isinstance(value, dict):
        raise bad_request(
            f"filter: must be a JSON object (a condition), not {_kind(value)}",
            "filter",
            'expected a condition object such as {"field": "status", "op": "eq", "value": "open"}',
        )
    return value


def _sort(raw: str | None) -> Any:
    if raw in (None, ""):
        return None
    text = raw.strip()
    return _parse_json(text, "sort") if text.startswith("[") else text


def _names(args: MultiDict, name: str) -> list[str] | None:
    parts = [p.strip() for value in args.getlist(name) for p in value.split(",")]
    return [p for p in parts if p] or None


def _flag(raw: str | None, name: str) -> bool:
    if raw in (None, "", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise bad_request(f"{name}: use true or false, got {raw!r}", name, "expected true or false")


# -- ids, versions, moments --------------------------------------------------------------
def record_id(raw: str, rt_key: str) -> int:
    """A record id from the URL; anything that cannot be one is simply not found."""
    if not re.fullmatch(r"[1-9]\d{0,18}", raw) or int(raw) > MAX_ID:  # beyond: cannot exist
        raise NotFound(f"{rt_key} #{raw} does not exist (ids are positive whole numbers)")
    return int(raw)


def expected_version(body_value: Any, header: str | None, query: str | None = None) -> int | None:
    """The expected version from the body, ``If-Match`` or ``?version=`` (must agree)."""
    found = {}
    if body_value is not None:
        found["version"] = _version_value(body_value, "version")
    if header is not None:
        found["If-Match"] = _version_value(_etag(header), "If-Match")
    if query is not None:
        found["version"] = _version_value(query, "version")
    if len(set(found.values())) > 1:
        raise ApiError(
            400,
            "version and If-Match disagree; send one of them",
            {k: ["disagrees with the other"] for k in found},
        )
    return next(iter(found.values()), None)


def _etag(header: str) -> str:
    text = header.strip()
    text = text[2:] if text.startswith("W/") else text
    return text.strip('"')


def _version_value(raw: Any, where: str) -> int:
    if isinstance(raw, str) and re.fullmatch(r"\d{1,18}", raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
        raise bad_request(
            f"{where}: must be the record's version, a whole number ≥ 1; got {raw!r}",
            where,
            "must be a whole number ≥ 1",
        )
    return raw


def etag(version_number: int) -> str:
    """The ETag header value for a record version."""
    return f'"{version_number}"'


def moment(raw: str, where: str) -> datetime:
    """An ISO 8601 date or date-time (naive means UTC) as an aware datetime."""
    # A literal "+" in a query string arrives as a space: "...T10:00:00 08:00".
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw.strip())
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"{where}: not an ISO 8601 date or date-time: {raw!r} (example: 2026-11-25T09:00:00Z)",
            where,
            "expected ISO 8601, e.g. 2026-11-25T09:00:00Z",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
