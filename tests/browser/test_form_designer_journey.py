"""A business user builds an event-registration app with the form designer (en and zh-CN).

The journey counts every UI action the builder makes (a click, or typing into one box and
moving on) from the builder home to a published public form, and asserts at most 25
(the same app took 67 actions with the property-sheet builder). Screenshots land in
tests/artifacts/designer_*_{en,zh}.png.
"""

from __future__ import annotations

import pytest
from browser_helpers import PASSWORD, shot


class Counter:
    """Performs UI actions on a page and counts them."""

    def __init__(self, page):
        self.page, self.n = page, 0

    def click(self, selector: str) -> None:
        self.n += 1
        self.page.click(selector)

    def type(self, selector: str, text: str) -> None:
        """Type into one box and move on (Tab): one action."""
        self.n += 1
        self.page.fill(selector, text)
        self.page.press(selector, "Tab")

    def goto(self, url: str) -> None:
        self.n += 1
        self.page.goto(url)


def _saved(page) -> None:
    page.wait_for_function(
        "() => { const s = document.getElementById('b-status');"
        " return s && !/…/.test(s.textContent) && s.textContent.length > 0; }"
    )


WORDS = {
    "en": {
        "app": "Event registration",
        "type": "Registration",
        "company": "Company",
        "ticket": "Ticket type",
        "options": "Standard\nVIP\nStudent",
        "attendees": "Attendees",
        "consent": "I agree to be contacted",
        "install": "Install app",
    },
    "zh-CN": {
        "app": "活动报名",
        "type": "报名",
        "company": "公司",
        "ticket": "票种",
        "options": "普通票\n贵宾票\n学生票",
        "attendees": "人数",
        "consent": "我同意主办方联系我",
        "install": "安装应用",
    },
}


def _sign_in(page, locale: str) -> None:
    """Sign in and pick the language once (kept on the user, so set it back afterwards)."""
    page.goto("/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/")
    page.click(f'.lang-form button[value="{"en" if locale == "en" else "zh_CN"}"]')


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_build_an_event_registration_app_in_25_actions(browser, live_server, locale):
    context = browser.new_context(
        base_url=live_server["url"], viewport={"width": 1400, "height": 900}, locale=locale
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    w, tag = WORDS[locale], "en" if locale == "en" else "zh"
    app_id = "signup" if locale == "en" else "huodong"
    _sign_in(page, locale)
    ui = Counter(page)

    ui.goto("/builder/")
    page.locator("#gallery-inventory details summary").click()  # a look, not a build step
    shot(page, f"builder_gallery_{tag}")
    ui.type("#new-id", app_id)
    ui.type("#new-label-en" if locale == "en" else "#new-label-zh", w["app"])
    ui.click("#new-app button[type=submit]")
    page.wait_for_url(f"**/builder/{app_id}")
    ui.click(".b-add-rt")  # a type with a table and a form; the form designer opens
    ui.type("#b-rt-label", w["type"])
    ui.click('.b-pal-item[data-type="email"]')
    ui.click("#b-f-required")
    ui.click('.b-pal-item[data-type="phone"]')
    ui.click('.b-pal-item[data-type="text"]')
    ui.type("#b-f-label", w["company"])
    ui.click('.b-pal-item[data-type="select"]')
    ui.type("#b-f-label", w["ticket"])
    ui.type(".b-opt-bulk", w["options"])
    ui.click('.b-pal-item[data-type="number"]')
    ui.type("#b-f-label", w["attendees"])
    ui.click('.b-pal-item[data-type="boolean"]')
    ui.type("#b-f-label", w["consent"])
    ui.click("#b-f-required")  # a required yes/no must be ticked (consent)
    ui.click(".b-form-settings")
    ui.click("#b-form-public")
    _saved(page)
    assert page.locator("#b-problems").is_hidden(), page.locator("#b-problems").inner_text()
    assert page.locator(".b-pv-field").count() == 7
    shot(page, f"designer_form_{tag}")
    ui.click("#b-review")
    page.wait_for_url(f"**/builder/{app_id}/review")
    ui.click("#b-apply")
    page.wait_for_url(f"**/a/{app_id}")
    flash = page.locator(".flashes").inner_text()
    assert f"{app_id} 1.0.0" in flash and ("is live" in flash) == (locale == "en")

    t = live_server["app"].extensions["tessera"]
    app = t.registry.apps[app_id]
    rt = app.record_types[0]
    assert [f.type for f in rt.fields] == [
        *("text", "email", "phone", "text", "select", "number", "boolean"),
    ]
    ticket = rt.fields[4]
    assert [o["value"] for o in ticket.opt("options")][:1] == (
        ["standard"] if locale == "en" else ["option_1"]
    )
    form = app.forms[0]
    assert form.public
    table = app.views[0]
    assert len(table.columns) == 7  # every new field went onto the main table too
    ui.goto(f"/f/{app_id}/{form.key}")
    print(f"\n[{locale}] UI actions to build and publish the registration app: {ui.n}")
    assert ui.n <= 25
    page.fill("#f-name", "Wang Fang")
    shot(page, f"designer_public_{tag}")
    page.click('.lang-form button[value="en"]')
    assert errors == []
    context.close()


def _registration_app(t, app_id: str) -> int:
    """An installed registration app with one record; the id of that record."""
    from tessera.meta import app_from_data
    from tessera.records.actor import Actor
    from tessera.storage import installer

    data = {
        "id": app_id,
        "version": "1.0.0",
        "label": {"en": "Registrations", "zh-CN": "报名"},
        "record_types": [
            {
                "key": "registration",
                "label": {"en": "Registration", "zh-CN": "报名"},
                "title": "name",
                "fields": [
                    {"key": "name", "type": "text", "required": True,
                     "label": {"en": "Name", "zh-CN": "姓名"}},
                    {"key": "email", "type": "email", "label": {"en": "E-mail", "zh-CN": "邮箱"}},
                    {"key": "company", "type": "text", "label": {"en": "Company", "zh-CN": "公司"}},
                ],
            }
        ],
        "views": [
            {"key": "registrations", "type": "table", "record_type": "registration",
             "label": {"en": "Registrations", "zh-CN": "报名表"},
             "columns": ["name", "email", "company"],
             "filter": {"field": "company", "op": "is_not_empty"}},
        ],
        "forms": [
            {"key": "sign_up", "record_type": "registration", "public": True,
             "label": {"en": "Sign up", "zh-CN": "报名"},
             "sections": [{"fields": ["name", "email", "company"]}]},
        ],
    }  # fmt: skip
    app = app_from_data(data)
    installer.install(t.engine, app, None)
    t.registry.reload()
    rec = t.records.create(
        app_id,
        "registration",
        {"name": "Wang Fang", "email": "wang@example.com", "company": "Lotus"},
        Actor(kind="import", ref="test"),
    )
    return rec["id"]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_remove_a_field_with_its_uses_then_build_and_test_a_workflow(browser, live_server, locale):
    context = browser.new_context(
        base_url=live_server["url"], viewport={"width": 1400, "height": 900}, locale=locale
    )
    context.set_default_timeout(8000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    tag = "en" if locale == "en" else "zh"
    app_id = f"reg_{tag}"
    t = live_server["app"].extensions["tessera"]
    record_id = _registration_app(t, app_id)
    _sign_in(page, locale)

    # removing a field shows every use in words and takes them out in the same change
    page.goto(f"/builder/{app_id}#form-0")
    page.click('.b-pv-field[data-key="company"]')
    page.click(".b-remove-field")
    dialog = page.locator("#b-remove-dialog")
    dialog.wait_for()
    uses = dialog.locator(".b-uses li")
    assert uses.count() == 3  # the table's column and filter, the form
    text = dialog.inner_text()
    if locale == "en":
        assert "The ‘Registrations’ table shows it as a column" in text
    else:
        assert "“报名表”表格" in text
    assert "[" not in text  # no paths
    shot(page, f"designer_remove_{tag}")
    page.click("#b-remove-confirm")
    page.wait_for_selector("#b-remove-dialog", state="detached")
    assert page.locator('.b-pv-field[data-key="company"]').count() == 0
    _saved(page)
    assert page.locator("#b-problems").is_hidden()

    # a workflow that e-mails the registrant, tried on a record, then switched on
    page.click(".b-add-wf")
    page.fill("#b-wf-label", "Send confirmation" if locale == "en" else "发送报名确认")
    page.press("#b-wf-label", "Tab")
    step = '[data-path="workflows[0].actions[0]"]'
    page.select_option(f"{step} .b-step-do", "send_email")
    page.locator(f'{step} [data-path="workflows[0].actions[0].to"] .b-insert-field').select_option(
        "email"
    )
    page.fill(f'{step} [data-path="workflows[0].actions[0].subject"] input', "Welcome")
    page.press(f'{step} [data-path="workflows[0].actions[0].subject"] input', "Tab")
    body = f'{step} [data-path="workflows[0].actions[0].body"] textarea'
    page.fill(body, "Dear {{ record.name }}, see you there!")
    page.press(body, "Tab")
    _saved(page)
    assert page.locator("#b-problems").is_hidden(), page.locator("#b-problems").inner_text()
    page.fill("#b-wf-record", str(record_id))
    page.click("#b-wf-test")
    page.locator(".b-test-result").wait_for()
    result = page.locator(f"{step} .b-step-result")  # what the step would do, rendered
    assert "wang@example.com" in result.inner_text()
    assert "Dear Wang Fang, see you there!" in result.inner_text()
    assert page.locator("#b-wf-enabled").is_checked()
    runs = page.locator("#b-wf-runs").get_attribute("href")
    assert f"app={app_id}" in runs and "workflow=" in runs
    shot(page, f"designer_workflow_{tag}")
    page.click("#b-review")
    page.wait_for_url(f"**/builder/{app_id}/review")
    page.click("#b-apply")
    page.wait_for_url(f"**/a/{app_id}")
    app = t.registry.apps[app_id]
    assert [w.actions[0]["do"] for w in app.workflows] == ["send_email"]
    assert app.workflows[0].enabled
    assert "company" not in [f.key for f in app.record_types[0].fields]
    page.click('.lang-form button[value="en"]')
    assert errors == []
    context.close()


def test_a_rename_reaches_workflows_and_views(page, live_server):
    """Renaming a field in the builder updates the conditions and steps that name it."""
    import sqlalchemy as sa

    from tessera import prefs
    from tessera.storage.system import users as users_table

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, "en")
    page.goto("/builder/crm#rt-0")
    row = '[data-path="record_types[0].fields[12]"]'
    assert page.locator(f"{row} .b-fkey").inner_text() == "status"
    page.click(f"{row} summary .b-fkey")
    page.fill('[data-path="record_types[0].fields[12].key"] input', "activity")
    page.press('[data-path="record_types[0].fields[12].key"] input', "Tab")
    _saved(page)
    assert page.locator("#b-problems").is_hidden(), page.locator("#b-problems").inner_text()
    # validation rules and indexes are made here too
    page.click(".b-add-validation")
    rule = '[data-path="record_types[0].validations[0]"]'
    page.fill(f'{rule} [data-path="record_types[0].validations[0].message"] input', "Name it")
    page.press(f'{rule} [data-path="record_types[0].validations[0].message"] input', "Tab")
    page.click(".b-add-index")
    _saved(page)
    assert page.locator("#b-problems").is_hidden(), page.locator("#b-problems").inner_text()
    t = live_server["app"].extensions["tessera"]
    with t.engine.connect() as conn:
        uid = conn.execute(
            sa.select(users_table.c.id).where(users_table.c.username == "alice")
        ).scalar_one()
    data = prefs.load_draft(t.engine, uid, "crm")["data"]
    try:
        flow = next(w for w in data["workflows"] if w["key"] == "nightly_classification")
        values = flow["actions"][-1]["values"]
        assert "activity" in values and "status" not in values
        dormant = next(v for v in data["views"] if v["key"] == "dormant")
        assert dormant["filter"]["any"][0]["field"] == "activity"
        customer = data["record_types"][0]
        assert customer["validations"][0]["message"] == {"en": "Name it"}
        assert customer["validations"][0]["when"]["all"][0]["field"] == "code"
        assert len(customer["indexes"]) == 7
        assert ["activity", "last_purchase_at"] in customer["indexes"]
        assert errors == []
    finally:
        prefs.drop_draft(t.engine, uid, "crm")
