"""Outgoing HTTP for webhook and group-robot actions: JSON POST, timeout, retries, SSRF guard.

Private, loopback, link-local and reserved addresses are refused unless the config sets
``WEBHOOK_ALLOW_PRIVATE = True`` (an admin's decision: intranet receivers, test stubs).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tessera.automation.actions import ActionError


def check_url(url: str, config: Mapping[str, Any]) -> None:
    """Raise ActionError when ``url`` is not http(s) or points at a private address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ActionError(f"webhook url {url!r} must be an http:// or https:// address")
    if config.get("WEBHOOK_ALLOW_PRIVATE"):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ActionError(f"cannot resolve webhook host {parts.hostname!r}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise ActionError(
                f"webhook url {url!r} resolves to {address}, a private or loopback address; "
                "an admin can allow that with WEBHOOK_ALLOW_PRIVATE = True"
            )


def post_json(
    url: str,
    body: Any,
    config: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    retries: int = 2,
) -> tuple[int, Any]:
    """POST ``body`` as JSON; retry network errors, 5xx and 429 with backoff; (status, reply)."""
    check_url(url, config)
    data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    for attempt in range(retries + 1):
        try:
            return _send(url, data, all_headers, timeout)
        except _Retryable as exc:
            if attempt >= retries:
                raise ActionError(f"POST {url} failed after {attempt + 1} tries: {exc}") from None
            time.sleep(min(0.25 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


class _Retryable(Exception):
    pass


def _send(url: str, data: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked
            return response.status, _parse(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise _Retryable(f"HTTP {exc.code}") from None
        raise ActionError(f"POST {url} was refused: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _Retryable(str(getattr(exc, "reason", exc))) from None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return raw[:200].decode("utf-8", "replace")
