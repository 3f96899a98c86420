"""REST API under /api/v1 and its OpenAPI document.

Register :data:`bp` on the Flask app. Every route needs an API token or a browser
session (:mod:`~tessera.api.auth`); every error has one shape
(:mod:`~tessera.api.errors`). The route table below is the whole API surface.
"""

from __future__ import annotations

from flask import Blueprint

from tessera.api import auth, catalog, errors, params, views

bp = Blueprint("api", __name__, url_prefix=errors.PREFIX)
bp.before_request(auth.authenticate)
bp.before_request(params.check_args)
errors.install(bp)

_RECORDS = "/<app_id>/<rt_key>"
_ONE = _RECORDS + "/<record_id>"
ROUTES = [
    ("/apps", catalog.apps, ["GET"]),
    ("/openapi.json", catalog.openapi_json, ["GET"]),
    (_RECORDS, views.list_records, ["GET"]),
    (_RECORDS, views.create_record, ["POST"]),
    (_RECORDS + "/bulk", views.bulk_create, ["POST"]),
    (_ONE, views.get_record, ["GET"]),
    (_ONE, views.update_record, ["PATCH"]),
    (_ONE, views.delete_record, ["DELETE"]),
    (_ONE + "/history", views.history, ["GET"]),
]
for _rule, _view, _methods in ROUTES:
    bp.add_url_rule(_rule, view_func=_view, methods=_methods)
