"""Record routes: list, get, create, patch, delete, bulk create and history.

Views only parse the request (:mod:`~tessera.api.params`), call the records or query
service, and render (:mod:`~tessera.api.serialize`). Services raise RecordError
subclasses, which :mod:`~tessera.api.errors` turns into the error shape.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, request, url_for

from tessera.access.principal import Principal
from tessera.api import params
from tessera.api.errors import bad_request, json_response
from tessera.api.serialize import expand_links, history_entry, record_json, timestamp
from tessera.fields import for_field
from tessera.fields.files import foreign_files
from tessera.query.policy import principal


def _t():
    return current_app.extensions["tessera"]


def _who() -> Principal | None:
    """The caller's Principal, resolved once per request (through the per-process cache)."""
    if "principal" not in g:
        g.principal = principal(_t().engine, g.actor.user_id)
    return g.principal


def _rt(app_id: str, rt_key: str):
    app, rt, _table = _t().records.resolve(app_id, rt_key)
    return app, rt


def list_records(app_id: str, rt_key: str) -> Response:
    """GET /<app>/<type>: a page of records (filter, sort, cursor/offset, q, fields, expand)."""
    app, rt = _rt(app_id, rt_key)
    opts = params.list_options(request.args)
    page = _t().queries.list(app_id, rt_key, user_id=_who(), **opts)
    only = opts["fields"]
    data = [expand_links(app, rt, record_json(rt, row, only), page.expanded) for row in page.rows]
    body: dict[str, Any] = {"data": data, "next_cursor": page.next_cursor}
    if opts["with_total"]:
        body.update(total=page.total, total_is_estimate=page.total_is_estimate)
    body["next"] = _next_url(page.next_cursor)
    return json_response(body)


def _next_url(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("cursor", "offset")]
    return f"{request.path}?{urlencode([*args, ('cursor', cursor)])}"


def get_record(app_id: str, rt_key: str, record_id: str) -> Response:
    """GET /<app>/<type>/<id>: one record, with its version as ETag."""
    _app, rt = _rt(app_id, rt_key)
    row = _t().records.get(app_id, rt_key, params.record_id(record_id, rt_key), user_id=_who())
    return _record_response(rt, row)


def _record_response(rt, row: dict, status: int = 200, headers: dict | None = None) -> Response:
    headers = {"ETag": params.etag(row["version"]), **(headers or {})}
    return json_response(record_json(rt, row), status, headers)


def _complete(app_id: str, rt, row: dict) -> dict:
    """Fill what create/update did not return: empty fields, and computed ones by a read."""
    missing = [f for f in rt.fields if f.key not in row]
    if any(for_field(f).computed for f in missing):
        row = _t().records.get(app_id, rt.key, row["id"])  # lookups, rollups
    else:
        row = {**row, **{f.key: [] if not for_field(f).stored else None for f in missing}}
    return _t().records.visible(app_id, rt.key, row, _who())  # hidden fields left out


def create_record(app_id: str, rt_key: str) -> Response:
    """POST /<app>/<type>: create a record from a JSON object of field values."""
    _app, rt = _rt(app_id, rt_key)
    body = params.object_body()
    _own_files_only(rt, body, None)
    row = _t().records.create(app_id, rt_key, body, g.actor)
    location = url_for("api.get_record", app_id=app_id, rt_key=rt_key, record_id=str(row["id"]))
    return _record_response(rt, _complete(app_id, rt, row), 201, {"Location": location})


def update_record(app_id: str, rt_key: str, record_id: str) -> Response:
    """PATCH /<app>/<type>/<id>: change some fields; ``version``/If-Match guards the write."""
    _app, rt = _rt(app_id, rt_key)
    rid = params.record_id(record_id, rt_key)
    body = params.object_body()
    version = params.expected_version(body.pop("version", None), request.headers.get("If-Match"))
    if any(rt.has_field(k) and rt.field(k).type == "attachment" for k in body):
        current = _t().records.get(app_id, rt_key, rid, _who())
        _own_files_only(rt, body, current)
    row = _t().records.update(app_id, rt_key, rid, body, g.actor, version=version)
    return _record_response(rt, _complete(app_id, rt, row))


def delete_record(app_id: str, rt_key: str, record_id: str) -> Response:
    """DELETE /<app>/<type>/<id>: delete (If-Match or ?version= guards it); 204."""
    _rt(app_id, rt_key)
    rid = params.record_id(record_id, rt_key)
    version = params.expected_version(
        None, request.headers.get("If-Match"), request.args.get("version")
    )
    _t().records.delete(app_id, rt_key, rid, g.actor, version=version)
    return current_app.response_class(status=204)


def bulk_create(app_id: str, rt_key: str) -> Response:
    """POST /<app>/<type>/bulk: create up to 1,000 records, all or nothing."""
    _app, rt = _rt(app_id, rt_key)
    body = params.bulk_rows()
    for row in body:
        if isinstance(row, dict):
            _own_files_only(rt, row, None)
    rows = _t().records.bulk_create(app_id, rt_key, body, g.actor)
    ids = [row["id"] for row in rows]
    return json_response({"count": len(ids), "ids": ids}, 201)


def _own_files_only(rt: Any, body: dict, current: dict | None) -> None:
    """Files are bound to their record: the API may keep a record's files, not bring others."""
    for key, value in body.items():
        if not (isinstance(key, str) and rt.has_field(key)) or rt.field(key).type != "attachment":
            continue
        foreign = foreign_files(value, (current or {}).get(key))
        if foreign:
            raise bad_request(
                f"{key}: files can only be added by uploading them in a form; "
                f"{', '.join(foreign[:3])} is not a file of this record",
                key,
                "not a file of this record",
            )


def history(app_id: str, rt_key: str, record_id: str) -> Response:
    """GET /<app>/<type>/<id>/history: audit entries, or values ``?as_of=`` a moment."""
    _rt(app_id, rt_key)
    rid = params.record_id(record_id, rt_key)
    records = _t().records
    unknown = sorted(set(request.args) - {"as_of"})
    if unknown:
        raise bad_request(
            f"unknown query parameter(s) {', '.join(unknown)}; known: as_of", unknown[0]
        )
    if "as_of" in request.args:
        at = params.moment(request.args["as_of"], "as_of")
        values = records.as_of(app_id, rt_key, rid, at, _who())
        body = {"id": rid, "as_of": timestamp(at), "exists": values is not None}
        return json_response({**body, "values": values})
    entries = records.history(app_id, rt_key, rid, _who())
    return json_response({"data": [history_entry(e) for e in entries]})
