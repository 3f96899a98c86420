"""Prefilled public-form links: values a form submission gets without the visitor typing them.

A workflow's e-mail can carry ``{{ form_link('rate_service', {'ticket': record.id}) }}``:
a link to the public form whose ``prefill`` query parameter is the values, signed with the
app's SECRET_KEY (itsdangerous). The public form verifies the signature, shows nothing of
them but keeps them, and writes them into the new record over whatever was posted, so a
visitor can neither see nor change which ticket their rating belongs to. A bad or edited
token is refused with a clear message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "tessera.form-prefill"


class PrefillError(ValueError):
    """The prefill token is not one this server signed."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def sign(secret: str, app_id: str, form_key: str, values: dict[str, Any]) -> str:
    """The token carrying ``values`` for one app's form."""
    if not isinstance(values, dict):
        raise PrefillError("prefill values must be a mapping of field: value")
    return _serializer(secret).dumps({"a": app_id, "f": form_key, "v": values})


def read(secret: str, app_id: str, form_key: str, token: str) -> dict[str, Any]:
    """The values of a token signed for exactly this app's form; PrefillError otherwise."""
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise PrefillError("it was changed or is from elsewhere") from None
    if not isinstance(data, dict) or data.get("a") != app_id or data.get("f") != form_key:
        raise PrefillError("it belongs to another form")
    return dict(data.get("v") or {})


def link(config: dict[str, Any], app_id: str, form_key: str, values: dict[str, Any]) -> str:
    """The form's URL with the signed values (absolute when PUBLIC_BASE_URL is set)."""
    token = sign(str(config.get("SECRET_KEY") or ""), app_id, form_key, values)
    base = str(config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/f/{quote(app_id)}/{quote(form_key)}?prefill={token}"
