"""Shared text and helpers of the chart tests (a uniquely named module pytest can import)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

PASSWORD = "correct-horse-1"
SALES = (Path(__file__).parent / "sales.yaml").read_text()
#: a fixed "now" (a Wednesday) so relative dates and periods are exact
NOW = datetime(2026, 4, 15, 10, 0, tzinfo=UTC)


def csrf(client, path: str = "/login") -> str:
    """The CSRF token of the client's session."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client, username: str) -> None:
    """Sign in through the form."""
    token = csrf(client)
    client.post("/login", data={"username": username, "password": PASSWORD, "_csrf": token})
