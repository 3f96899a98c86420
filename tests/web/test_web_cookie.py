"""The session cookie is not sent on cross-site requests and is hidden from scripts."""

from __future__ import annotations


def test_session_cookie_is_samesite_lax_and_httponly(anon):
    resp = anon.get("/login")  # the first page of a visit starts the session (CSRF token)
    cookies = resp.headers.getlist("Set-Cookie")
    assert cookies, "a session cookie is set"
    assert all("SameSite=Lax" in c and "HttpOnly" in c for c in cookies)
