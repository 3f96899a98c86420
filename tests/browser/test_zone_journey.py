"""A user in Asia/Shanghai enters 10:00 and sees 10:00 (stored 02:00 UTC), in Chinese from
the first sign-in; a reminder one hour before fires at 09:00 local.

The server's automation is quiet (no threads): the test drives the scheduler's clock and
works the queue itself, like the automation tests, so nothing waits for real time.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser_helpers import PASSWORD, shot, sign_in
from werkzeug.serving import make_server

from tessera import create_app, users
from tessera.automation import tables
from tessera.meta import load_app
from tessera.storage import installer

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
REMINDER = """workflows:
  - key: remind_hour_before
    record_type: follow_up
    trigger: {on: date, field: next_at, offset: "-1h"}
    actions: [{do: notify, to: wang, message: "{{ record.subject }}"}]
"""


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def zone_server(tmp_path_factory):
    """The CRM plus a one-hour-before reminder; automation driven by the test."""
    folder = tmp_path_factory.mktemp("zones")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}",
            "TESSERA_INSTANCE": str(folder / "instance"),
            "SECRET_KEY": "browser-zones",
            "REDIS_URL": None,
            "TESTING": True,
            "AUTOMATION_EMBEDDED": False,
        }
    )
    t = app.extensions["tessera"]
    crm = REPO / "templates_builtin" / "crm"
    for part in crm.glob("*.yaml"):  # the template includes its views, forms, workflows...
        body = part.read_text()
        if part.name == "workflows.yaml":
            body = body.replace("\nworkflows:\n", "\n" + REMINDER, 1)
        (folder / part.name).write_text(body)
    text = (crm / "template.yaml").read_text()
    (folder / "crm.yaml").write_text(text)
    installer.install(t.engine, load_app(folder / "crm.yaml"), text)
    t.registry.reload()
    t.records.clock = Clock(T0)
    users.create_user(t.engine, "wang", PASSWORD, is_admin=True, display_name="王芳")
    customer = t.records.create("crm", "customer", {"name": "星辰科技"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app, "customer": customer}
    server.shutdown()
    t.engine.dispose()


def work(t) -> None:
    """Relay events, move due scheduled jobs and run the queue until it is empty."""
    auto = t.automation
    for _ in range(20):
        relayed = auto.relay_once()
        auto._move_scheduled()
        worked = auto.make_worker().work(burst=True, logging_level="WARNING")
        if not relayed and not worked:
            return


def notes(t) -> list[str]:
    with t.engine.connect() as conn:
        return [r.message for r in conn.execute(tables.notifications.select())]


def test_shanghai_user_enters_and_sees_local_time_and_is_reminded_at_09_00(browser, zone_server):
    t = zone_server["app"].extensions["tessera"]
    context = browser.new_context(
        base_url=zone_server["url"],
        viewport={"width": 1280, "height": 860},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    with page.expect_response(re.compile(r"/me/timezone$")):
        sign_in(page, "wang")  # first sign-in: language and zone come from the browser
    wang = users.get_active(t.engine, users_id(t, "wang"))
    assert wang["locale"] == "zh-CN" and wang["timezone"] == "Asia/Shanghai"

    page.goto(f"/a/crm/r/follow_up/new?customer={zone_server['customer']['id']}")
    page.fill("#f-next_at", "2026-12-08T10:00")
    page.click("button:has-text('保存')")  # no subject: the engine's message, in Chinese
    assert "必填" in page.locator('[data-field="subject"] .field-errors').inner_text()
    assert page.locator("#f-next_at").input_value() == "2026-12-08T10:00"  # kept as typed
    shot(page, "form_errors_zh")
    page.fill("#f-subject", "拜访星辰科技")
    page.fill("#f-next_at", "2026-12-08T10:00")
    page.click("button:has-text('保存')")
    page.wait_for_url(re.compile(r"/a/crm/r/follow_up/\d+$"))
    shown = page.locator('[data-field="next_at"]').inner_text()
    assert "2026-12-08 10:00" in shown
    shot(page, "zone_record_zh")
    rid = int(page.url.rsplit("/", 1)[1])
    stored = t.records.get("crm", "follow_up", rid)["next_at"]
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)

    work(t)  # the reminder is planned for 09:00 Shanghai = 01:00 UTC
    t.records.clock.now = T0 + timedelta(minutes=59)  # 08:59 local: not yet
    t.automation.sweep()
    work(t)
    assert notes(t) == []
    t.records.clock.now = T0 + timedelta(hours=1, seconds=5)  # 09:00 local
    t.automation.sweep()
    work(t)
    assert notes(t) == ["拜访星辰科技"]
    page.goto("/notifications")
    assert "2026-12-08 09:00" in page.locator("main").inner_text()
    shot(page, "zone_reminder_zh")

    page.goto("/a/crm/v/follow_up_calendar?date=2026-12-08&mode=week")
    assert "10:00" in page.locator('[data-date="2026-12-08"]').inner_text()
    shot(page, "zone_calendar_zh")

    page.click("button.lang[value='en']")  # the choice is kept on the user
    page.goto(f"/a/crm/r/follow_up/{rid}")
    assert "2026-12-08 10:00" in page.locator('[data-field="next_at"]').inner_text()
    assert users.get_active(t.engine, wang["id"])["locale"] == "en"
    shot(page, "zone_record_en")
    page.goto("/no/such/page")
    assert page.locator(".error-page a[href='/']").is_visible()
    shot(page, "error_404_en")
    context.close()


def users_id(t, username: str) -> int:
    return next(i for i, name in users.display_names(t.engine) if name == "王芳")
