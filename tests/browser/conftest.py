"""Browser journeys: a real server in a thread on a temp SQLite db with the CRM, and Chromium.

Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright's sync API. Without it
the journeys are skipped locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from browser_helpers import PASSWORD
from werkzeug.serving import make_server

from tessera import create_app, users
from tessera.meta import load_app
from tessera.storage import installer

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"browser tests need Chromium in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of a Tessera server (CRM installed, user alice) running in a thread."""
    folder = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-tests",
            "REDIS_URL": None,
        }
    )
    t = app.extensions["tessera"]
    crm = REPO / "templates_builtin" / "crm"
    installer.install(t.engine, load_app(crm), (crm / "template.yaml").read_text())
    t.registry.reload()
    users.create_user(t.engine, "alice", PASSWORD, is_admin=True, display_name="Alice Admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app}
    server.shutdown()
    t.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium, shared by the journeys."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        _missing(f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        except Exception as exc:  # noqa: BLE001 - a broken browser install: report it
            _missing(f"Chromium did not start: {exc}")
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) on the live server, 8 s default timeout."""
    context = browser.new_context(
        base_url=live_server["url"], viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(8000)
    pg = context.new_page()
    yield pg
    context.close()
