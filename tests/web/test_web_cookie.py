"""The session cookie is not sent on cross-site requests and is hidden from scripts."""

from __future__ import annotations


def test_session_cookie_is_samesite_lax_and_httponly(anon):
    resp = anon.get("/login")  # the first page of a visit starts the session (CSRF token)
    cookies = resp.headers.getlist("Set-Cookie")
    assert cookies, "a session cookie is set"
    assert all("SameSite=Lax" in c and "HttpOnly" in c for c in cookies)


def test_security_headers_on_pages_and_errors(anon):
    for path in ("/login", "/no/such/page", "/api/v1/apps"):
        headers = anon.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_templates_hold_no_inline_script_nor_handlers():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "platform" / "tessera" / "web" / "templates"
    for page in root.rglob("*.html"):
        text = page.read_text("utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (page, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), page
        assert "javascript:" not in text and " style=" not in text, page


def test_https_setting_makes_cookies_secure(database_url, tmp_path):
    from tessera import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "TESSERA_INSTANCE": str(tmp_path / "i"),
            "SECRET_KEY": "t",
            "PREFERRED_URL_SCHEME": "https",
            "PROXY_HOPS": 1,
            "REDIS_URL": None,
            "AUTOMATION_EMBEDDED": False,
        }
    )
    resp = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert all("Secure" in c for c in resp.headers.getlist("Set-Cookie"))
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_static_files_cost_no_query_but_pages_still_see_the_user(client, tessera):
    import sqlalchemy as sa

    statements = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(tessera.engine, "before_cursor_execute", spy)
    try:
        asset = client.get("/assets/app.css")
        assert asset.status_code == 200 and statements == []
        page = client.get("/")
    finally:
        sa.event.remove(tessera.engine, "before_cursor_execute", spy)
    assert page.status_code == 200 and statements  # a page reads the user and the schema
