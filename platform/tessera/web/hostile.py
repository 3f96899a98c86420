"""Bounds on what a request may carry, checked once for every web route.

- Integers from paths, queries and forms must fit a 64-bit database column: the ``int``
  URL converter answers 404 beyond that, and :func:`db_int` (``request.args.get(...,
  type=db_int)``) treats such numbers as absent.
- NUL characters and lone surrogates never reach the database or the templates: a web
  request carrying one in its path, query or form is refused with a 400 page.
- JSON bodies of web routes must be objects of bounded depth (``JSON_MAX_DEPTH``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**63 - 1
MAX_PAGE = 10**6  # beyond any real listing; keeps OFFSET inside 64 bits
JSON_MAX_DEPTH = 64
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
SKIP_BLUEPRINTS = frozenset({"api"})  # the REST API answers in its own error shape


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that only matches numbers a database column can hold (else 404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Replace the ``int`` URL converter; call before any blueprint is registered."""
    app.url_map.converters["int"] = BoundedIntConverter


def init_app(app: Flask) -> None:
    """Refuse hostile characters and JSON on every web request."""
    app.before_request(refuse_hostile_input)


def db_int(value: Any) -> int:
    """``int(value)`` for a database id or count; ValueError beyond 64 bits or non-digits."""
    text = str(value).strip()
    if not text.isascii() or len(text) > 20:
        raise ValueError(f"not a database integer: {text[:30]!r}")
    number = int(text)
    if not -DB_INT_MAX <= number <= DB_INT_MAX:
        raise ValueError(f"integer out of range: {text}")
    return number


def maybe_int(value: Any) -> int | None:
    """:func:`db_int` or None."""
    if isinstance(value, bool):
        return None
    try:
        return db_int(value)
    except (TypeError, ValueError):
        return None


def page_number(name: str = "page") -> int:
    """The 1-based page number of the query string, clamped to ``1..MAX_PAGE``."""
    page = request.args.get(name, 1, type=db_int) or 1
    return min(max(1, page), MAX_PAGE)


def json_object() -> dict[str, Any]:
    """The JSON body as an object (an empty or non-JSON body counts as ``{}``), else abort 400.

    Handlers read keys with ``.get``: a list, number or string body is refused here, with a
    message, instead of failing later.
    """
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        abort(400, _("The request body must be a JSON object ({…}), not a list or a value."))
    return body


def bad_text(value: Any) -> bool:
    """True for a string holding NUL or a lone surrogate."""
    return isinstance(value, str) and _BAD_CHARS.search(value) is not None


def json_depth(value: Any, limit: int = JSON_MAX_DEPTH) -> int:
    """Nesting depth of a JSON value, counting no further than ``limit + 1``."""
    depth, level = 0, [value]
    while level and depth <= limit:
        depth += 1
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def refuse_hostile_input():
    """400 for NUL or lone surrogates in the path, query or form, or a JSON body too deep."""
    if request.blueprint in SKIP_BLUEPRINTS:
        return None
    values = [request.path, *(request.view_args or {}).values()]
    for multi in (request.args, request.form):
        for key, value in multi.items(multi=True):
            values += [key, value]
    if any(bad_text(v) for v in values):
        abort(400, _("The request holds characters that are not allowed (NUL or broken text)."))
    if request.is_json and request.content_length:
        _check_json()
    return None


def _check_json() -> None:
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError):
        abort(400, _("The request body is not JSON: it could not be parsed."))
    if json_depth(body) > JSON_MAX_DEPTH or any(bad_text(v) for v in strings(body)):
        abort(400, _("The request body is nested too deeply or holds broken text."))


def strings(value: Any):
    """Every string (keys too) inside a JSON value, without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
