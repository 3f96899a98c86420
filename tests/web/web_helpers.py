"""Helpers for the web UI tests: CSRF tokens, sign-in, HTML parsing."""

from __future__ import annotations

import re

PASSWORD = "correct-horse-1"


def csrf(client, path: str = "/login") -> str:
    """The CSRF token of the client's session (read from a page's meta tag)."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the form."""
    token = csrf(client)
    return client.post("/login", data={"username": username, "password": password, "_csrf": token})


def post(client, path: str, data=None, **kw):
    """POST with the session's CSRF token added."""
    data = dict(data or {})
    data.setdefault("_csrf", csrf(client, "/"))
    return client.post(path, data=data, **kw)
