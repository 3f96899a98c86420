"""Who is calling: an API token (``Authorization: Bearer tsr_...``) or the browser session.

Every route under /api/v1 needs one of them; the result is the request's
:class:`~tessera.records.actor.Actor` in ``g.actor``. A token write is recorded as
``Actor(kind="api_token", ref=<token id>)`` so the audit log links to the token.

A token's scopes are enforced here: a ``read``-only token gets 403 ``forbidden`` on
anything but GET/HEAD/OPTIONS; an expired token gets 401 saying when it expired.

Session-authenticated writes are safe from cross-site form posts because write
routes only accept ``Content-Type: application/json`` (a plain HTML form cannot send
it without a CORS preflight) and DELETE cannot be sent by a form at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, request, session

from tessera import tokens, users
from tessera.api.errors import ApiError
from tessera.records.actor import Actor

HOW_TO = (
    "send 'Authorization: Bearer <token>'; an admin creates a token with "
    "'flask --app app token create USERNAME'"
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tessera"'}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def unauthorized(message: str) -> ApiError:
    """A 401 with the bearer challenge header."""
    return ApiError(401, message, headers=CHALLENGE)


def authenticate() -> None:
    """Set ``g.actor`` from the bearer token or the session; 401 otherwise."""
    tessera = current_app.extensions["tessera"]
    engine = tessera.engine
    header = request.headers.get("Authorization")
    if header is not None:
        g.actor = _token_actor(engine, header, tessera.token_cache)
    elif session.get("user_id") is not None:
        g.actor = _session_actor(engine, session["user_id"], session.get("gen"))
    else:
        raise unauthorized(f"authentication required: {HOW_TO}")


def _token_actor(engine: sa.Engine, header: str, cache: tokens.TokenCache) -> Actor:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(f"malformed Authorization header: {HOW_TO}")
    try:
        user = tokens.authenticate(engine, token.strip(), cache=cache)
    except tokens.TokenExpired as exc:
        raise unauthorized(f"{exc}; create a new one in your profile (API tokens)") from None
    if user is None:
        raise unauthorized(f"invalid or revoked API token: {HOW_TO}")
    if request.method not in READ_METHODS and not user.may_write():
        raise ApiError(
            403, f"this API token is read-only; {request.method} needs a token with 'write' scope"
        )
    return Actor(user.user_id, kind="api_token", ref=str(user.token_id), locale=user.locale)


def _session_actor(engine: sa.Engine, user_id: object, gen: object) -> Actor:
    user = users.session_user(engine, user_id, gen)
    if user is None:
        raise unauthorized(f"your session is no longer valid; sign in again or {HOW_TO}")
    return Actor(user["id"], kind="user", locale=user["locale"] or "en")
