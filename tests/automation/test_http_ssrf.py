"""The webhook SSRF guard: no redirects followed, the checked address is the one used,
replies are capped."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tessera.automation import http
from tessera.automation.actions import ActionError

ALLOW = {"WEBHOOK_ALLOW_PRIVATE": True}


class Server:
    """Answers every POST with ``status``, ``headers`` and ``body``; counts hits."""

    def __init__(self, status=200, headers=None, body=b"{}"):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits += 1
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def servers():
    made = []
    yield lambda **kw: made.append(Server(**kw)) or made[-1]
    for s in made:
        s.server.shutdown()


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed(servers, code):
    inside = servers()
    outside = servers(status=code, headers={"Location": inside.url + "/admin"})
    with pytest.raises(ActionError, match="do not follow redirects"):
        http.post_json(outside.url + "/hook", {"a": 1}, ALLOW, retries=0)
    assert outside.hits == 1 and inside.hits == 0


def test_the_checked_address_is_the_one_connected(monkeypatch):
    """A rebinding DNS answers public first, loopback second: only the first lookup counts."""
    answers = iter(["93.184.216.34", "127.0.0.1"])
    lookups, connected = [], []

    def fake_getaddrinfo(host, port, *a, **kw):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def fake_connect(address, timeout=None, *a, **kw):
        connected.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(http.socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(http.socket, "create_connection", fake_connect)
    with pytest.raises(ActionError, match="failed after"):
        http.post_json("http://rebind.example/hook", {}, {}, retries=1)
    assert lookups == ["rebind.example"]
    assert connected == [("93.184.216.34", 80), ("93.184.216.34", 80)]


def test_every_resolved_address_is_checked(monkeypatch):
    def fake_getaddrinfo(host, port, *a, **kw):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(http.socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(ActionError, match="10.0.0.5, a private"):
        http.check_url("https://mixed.example/", {})


def test_the_stored_reply_is_capped(servers):
    big = servers(body=b'"' + b"x" * 500_000 + b'"')
    status, reply = http.post_json(big.url, {}, {**ALLOW, "WEBHOOK_MAX_REPLY": 1000}, retries=0)
    assert status == 200 and isinstance(reply, str) and len(reply) <= 1000
