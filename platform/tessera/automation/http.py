"""Outgoing HTTP for webhook and group-robot actions: JSON POST, timeout, retries, SSRF guard.

Private, loopback, link-local and reserved addresses are refused unless the config sets
``WEBHOOK_ALLOW_PRIVATE = True`` (an admin's decision: intranet receivers, test stubs).
The host is resolved once, every address it resolves to is checked, and the connection
goes to the checked address (no second lookup a rebinding DNS server could answer
differently); HTTPS still verifies the certificate for the host name. Redirects are
never followed (a 3xx fails the step: a public URL cannot bounce the request inside),
and at most ``WEBHOOK_MAX_REPLY`` bytes of a reply are read and kept (64 KiB).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tessera.automation.actions import ActionError

MAX_REPLY = 64 * 1024


def check_url(url: str, config: Mapping[str, Any]) -> str:
    """The address to connect to for ``url``; ActionError when not http(s) or private."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ActionError(f"webhook url {url!r} must be an http:// or https:// address")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise ActionError(f"cannot resolve webhook host {parts.hostname!r}: {exc}") from None
    addresses = [info[4][0] for info in infos]
    if not config.get("WEBHOOK_ALLOW_PRIVATE"):
        for raw in addresses:
            address = ipaddress.ip_address(raw.split("%")[0])
            if not address.is_global or address.is_multicast:
                raise ActionError(
                    f"webhook url {url!r} resolves to {address}, a private or loopback address; "
                    "an admin can allow that with WEBHOOK_ALLOW_PRIVATE = True"
                )
    return addresses[0]


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
    address = check_url(url, config)
    data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    limit = int(config.get("WEBHOOK_MAX_REPLY", MAX_REPLY))
    for attempt in range(retries + 1):
        try:
            return _send(url, address, data, all_headers, timeout, limit)
        except _Retryable as exc:
            if attempt >= retries:
                raise ActionError(f"POST {url} failed after {attempt + 1} tries: {exc}") from None
            time.sleep(min(0.25 * 2**attempt, 5.0))
    raise AssertionError("unreachable")


class _Retryable(Exception):
    pass


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address, verifying the certificate for the URL's host name."""

    def __init__(self, host: str, address: str, **kwargs: Any):
        super().__init__(host, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to a fixed address (the Host header keeps the URL's host name)."""

    def __init__(self, host: str, address: str, **kwargs: Any):
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def _send(
    url: str, address: str, data: bytes, headers: Mapping[str, str], timeout: float, limit: int
) -> tuple[int, Any]:
    parts = urlsplit(url)
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = kind(parts.hostname, address, port=parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", target, body=data, headers=dict(headers))
        response = conn.getresponse()
        raw = response.read(limit)
    except (OSError, http.client.HTTPException) as exc:
        raise _Retryable(str(exc) or type(exc).__name__) from None
    finally:
        conn.close()
    return _answer(url, response, raw)


def _answer(url: str, response: http.client.HTTPResponse, raw: bytes) -> tuple[int, Any]:
    status = response.status
    if status >= 500 or status == 429:
        raise _Retryable(f"HTTP {status}")
    if 300 <= status < 400:
        where = (response.getheader("Location") or "")[:200]
        raise ActionError(
            f"POST {url} answered a redirect (HTTP {status} to {where!r}); webhooks do not "
            "follow redirects: use the final address"
        )
    if status >= 400:
        raise ActionError(f"POST {url} was refused: HTTP {status} {response.reason}")
    return status, _parse(raw)


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return raw[:200].decode("utf-8", "replace")
