"""An admin installs automation recipes in the browser and sees them run, with real workers.

The server here runs the embedded default for real (AUTOMATION_EMBEDDED True: fakeredis, a
relay thread and a worker thread inside the web process), so a change made in the UI goes
through the outbox, the relay, RQ and the worker, like ``make run``.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from browser_helpers import PASSWORD, shot, sign_in
from werkzeug.serving import make_server

from tessera import create_app, users
from tessera.meta import load_app
from tessera.storage import installer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def auto_server(tmp_path_factory):
    """A live server with the CRM, alice (admin) and a customer, automation threads on."""
    folder = tmp_path_factory.mktemp("auto")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-automation",
            "REDIS_URL": None,
            "AUTOMATION_EMBEDDED": True,
            "AUTOMATION_POLL_SECONDS": 0.05,
        }
    )
    t = app.extensions["tessera"]
    crm = REPO / "templates_builtin" / "crm"
    installer.install(t.engine, load_app(crm), (crm / "template.yaml").read_text())
    t.registry.reload()
    users.create_user(t.engine, "alice", PASSWORD, is_admin=True, display_name="Alice Admin")
    customer = t.records.create("crm", "customer", {"name": "Hoshi Ltd", "email": "c@hoshi.test"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, "customer": customer}
    server.shutdown()
    t.automation.stop()
    t.engine.dispose()


@pytest.fixture
def apage(browser, auto_server):
    """A fresh browser context on the automation server."""
    context = browser.new_context(
        base_url=auto_server["url"], viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(8000)
    pg = context.new_page()
    yield pg
    context.close()


def reload_until(page, path: str, selector: str, text: str, timeout: float = 10.0) -> None:
    """Open ``path`` again until ``selector`` contains ``text`` (the worker is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(path)
        found = page.locator(selector)
        if found.count() and text in found.first.inner_text():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared in {selector} on {path}")
        time.sleep(0.2)


def install(page, recipe: str, target: str, values: dict[str, str]) -> None:
    """Install ``recipe`` onto ``target`` through the generated form."""
    page.goto("/automation/recipes")
    page.locator(f'[data-recipe="{recipe}"] a.button').click()
    page.select_option("#target", target)  # the form submits itself when a type is picked
    page.wait_for_selector("#install-form")
    for name, value in values.items():
        field = page.locator(f'[name="p.{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    shot(page, f"automation_install_{recipe}")
    page.click("#install-form button[type=submit]")
    page.wait_for_url("**/automation/recipes")


def test_recipes_installed_in_the_ui_run_on_ui_changes(apage, auto_server):
    page = apage
    sign_in(page)
    page.goto("/automation/recipes")
    shot(page, "automation_recipes")
    install(
        page,
        "satisfaction_survey",
        "crm.ticket",
        {"status_field": "status", "value": "resolved", "to": "qa@example.com",
         "subject": "Recipe survey"},
    )  # fmt: skip
    assert "Installed “satisfaction_survey_ticket”" in page.locator(".flashes").inner_text()
    install(page, "round_robin_assignment", "crm.ticket", {"role": "admin", "field": "assignee"})
    assert page.locator('[data-installed="crm.round_robin_assignment_ticket"]').is_visible()
    shot(page, "automation_recipes_installed")

    # a new ticket without an assignee: the round-robin recipe assigns alice and notifies her
    page.goto(f"/a/crm/r/ticket/new?customer={auto_server['customer']['id']}")
    page.fill("#f-subject", "Printer on fire")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/a/crm/r/ticket/\d+$"))
    ticket_url = page.url
    reload_until(page, ticket_url, "#bell .bell-count", "1")
    page.click("#bell summary")
    assert "was assigned to you" in page.locator("#bell .bell-panel").inner_text()
    shot(page, "automation_bell")
    page.locator("#bell .note-open").first.click()
    page.wait_for_url(ticket_url)
    assert page.locator("#bell .bell-count").count() == 0  # opened: marked read
    assert "Alice Admin" in page.locator('[data-field="assignee"]').inner_text()

    # resolve it in the edit form: the survey recipe writes to the local mail outbox
    page.goto(ticket_url + "/edit")
    page.select_option("#f-status", "resolved")
    page.fill("#f-resolution", "Put the fire out.")  # the CRM asks how it was resolved
    page.click("button:has-text('Save')")
    page.wait_for_url(ticket_url)
    reload_until(page, "/automation/mail", "#mails", "Recipe survey")
    assert "qa@example.com" in page.locator("#mails").inner_text()
    shot(page, "automation_mail")

    page.goto("/automation/runs?workflow=satisfaction_survey_ticket")
    rows = page.locator("#runs tbody tr")
    assert rows.count() >= 1
    done = page.locator('#runs tbody tr:has([data-status="done"])')
    assert done.count() == 1  # the resolve change; the creation was skipped by its condition
    shot(page, "automation_runs")
    done.locator("a").first.click()
    assert page.locator("#steps li.step-done").count() == 1
    assert "send_email" in page.locator("#steps").inner_text()
    shot(page, "automation_run")

    page.goto("/automation/")
    assert page.locator('[data-workflow="satisfaction_survey_ticket"]').is_visible()
    shot(page, "automation_workflows")
    page.goto("/automation/queue")
    assert page.locator('[data-embedded="running"]').is_visible()
    shot(page, "automation_queue")
    page.goto(ticket_url)
    assert page.locator("#record-runs").is_visible()
