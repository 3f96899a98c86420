"""Helpers for the browser journeys: sign in, screenshots."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "correct-horse-1"


def sign_in(page, username: str = "alice", password: str = PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form.record-form button[type=submit], #login-form button[type=submit]")
    page.wait_for_url("**/")


def shot(page, name: str) -> None:
    """Save a full-page screenshot under tests/artifacts/ for reviewers."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
