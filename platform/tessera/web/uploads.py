"""Uploads through web forms: files of failed requests removed, a per-user volume cap.

A file stored while handling a request that then answers 400 or more (a 422 for a
field error elsewhere in the form, a 429, a crash) is deleted again when this request
wrote it (content already stored for another record stays), and does not count
against the uploader's volume. Each uploader (a signed-in
user, else the client address) may upload ``UPLOAD_QUOTA_MB`` megabytes per day
(default 500; 0 turns the cap off), counted in Redis when ``REDIS_URL`` is set (the
sign-in throttle's store), else in process.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_babel import gettext as _

from tessera import signin

DEFAULT_QUOTA_MB = 500
DAY = 86_400


def init_app(app: Flask) -> None:
    """Remove the new files of requests that fail."""
    app.config.setdefault("UPLOAD_QUOTA_MB", DEFAULT_QUOTA_MB)
    app.after_request(_discard_on_failure)
    app.teardown_request(_discard_on_exception)


def saved(meta: dict[str, Any], new_paths: list[Path]) -> str | None:
    """Track a stored upload; a message when it takes the uploader over the daily cap."""
    g.setdefault("new_uploads", []).extend(new_paths)
    quota_mb = float(current_app.config.get("UPLOAD_QUOTA_MB") or 0)
    if quota_mb <= 0:
        return None
    used = _charge(meta["size"])
    g.upload_charged = g.get("upload_charged", 0) + meta["size"]
    if used > quota_mb * 1024 * 1024:
        _charge(-meta["size"])  # the refused file does not count
        g.upload_charged -= meta["size"]
        return _("You have reached the upload limit of %(mb)s MB per day.", mb=f"{quota_mb:g}")
    return None


def _charge(size: int) -> int:
    user = g.get("user")
    who = f"user:{user['id']}" if user else f"addr:{request.remote_addr or '-'}"
    key = f"tessera:uploads:{who}:{int(time.time() // DAY)}"
    redis = signin.throttle(current_app).redis
    with redis.pipeline() as pipe:
        pipe.incrby(key, size).expire(key, 2 * DAY)
        return int(pipe.execute()[0])


def _discard_on_failure(response: Response) -> Response:
    if response.status_code >= 400:
        _discard()
    return response


def _discard_on_exception(exc: BaseException | None) -> None:
    if exc is not None:
        _discard()


def _discard() -> None:
    charged = g.pop("upload_charged", 0)
    if charged:
        with contextlib.suppress(Exception):  # a failed refund must not hide the response
            _charge(-charged)  # a failed request's uploads do not count against the cap
    for path in g.pop("new_uploads", []):
        with contextlib.suppress(OSError):
            Path(path).unlink()
