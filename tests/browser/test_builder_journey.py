"""Builder journey in a real browser: build an app with two linked record types, apply, use it."""

from __future__ import annotations

import re

from browser_helpers import shot, sign_in


def _saved(page) -> None:
    """Wait until the draft autosave has caught up."""
    page.wait_for_function(
        "() => { const s = document.getElementById('b-status');"
        " return s && !/…/.test(s.textContent) && s.textContent.length > 0; }"
    )


def _add_field(page, key: str, type_: str) -> None:
    page.fill("#b-new-field-key", key)
    page.select_option("#b-new-field-type", type_)
    page.click(".b-add-field-button")


def _rename_type(page, index: int, key: str, label: str) -> None:
    # a new type opens in the form designer: its own settings are one click away
    page.click(f'[data-nav-path="record_types[{index}]"] .b-nav-item')
    page.fill(f'[data-path="record_types[{index}].key"] input', key)
    page.press(f'[data-path="record_types[{index}].key"] input', "Tab")
    page.fill(f'[data-path="record_types[{index}].label"] input[lang="en"]', label)
    page.press(f'[data-path="record_types[{index}].label"] input[lang="en"]', "Tab")


def test_build_an_app_with_a_link_apply_and_add_records(page, live_server):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page)
    page.goto("/builder/")
    page.fill("#new-id", "club")
    page.fill("#new-label-en", "Sports club")
    page.fill("#new-label-zh", "体育俱乐部")
    page.click("#new-app button[type=submit]")
    page.wait_for_url("**/builder/club")
    assert page.locator("#b-problems").is_visible()  # no record types yet

    page.click(".b-add-rt")
    _rename_type(page, 0, "team", "Team")
    _add_field(page, "city", "text")
    page.fill('[data-path="record_types[0].fields[1].max_length"] input', "80")
    page.press('[data-path="record_types[0].fields[1].max_length"] input', "Tab")

    page.click(".b-add-rt")
    _rename_type(page, 1, "player", "Player")
    _add_field(page, "team", "link")
    # a new link points at the first type; a link may point at several (polymorphic)
    assert page.locator(
        '[data-path="record_types[1].fields[1].to"] label:has-text("Team") input'
    ).is_checked()
    _add_field(page, "Bad Key", "text")  # the validator's message appears next to the key
    _saved(page)
    problem = page.locator('[data-path="record_types[1].fields[2].key"] .b-problem')
    assert "not a valid key" in problem.inner_text()
    page.click('[data-path="record_types[1].fields[2]"] .b-remove')
    page.click("#b-remove-confirm")  # nothing uses it: the dialog says so
    page.wait_for_selector("#b-remove-dialog", state="detached")

    # reorder by drag and drop: the link field goes first, then back with the ↑ button
    handle = page.locator('[data-path="record_types[1].fields[1]"] .b-handle')
    handle.drag_to(page.locator('[data-path="record_types[1].fields[0]"]'))
    assert page.locator('[data-path="record_types[1].fields[0]"] .b-fkey').inner_text() == "team"
    page.click('[data-path="record_types[1].fields[1]"] .b-up')
    assert page.locator('[data-path="record_types[1].fields[0]"] .b-fkey').inner_text() == "name"
    shot(page, "builder_fields")

    # a table view of players with a filter made in the condition editor
    page.click(".b-add-view")
    page.select_option('[data-path="views[2].record_type"] select', "player")
    page.click('[data-path="views[2].filter"] .b-add-cond')
    leaf = '[data-path="views[2].filter.all[0]"]'
    page.select_option(f"{leaf} .b-cond-field", "name")
    page.select_option(f"{leaf} .b-cond-op", "starts_with")
    page.fill(f"{leaf} .b-cond-value", "A")
    page.press(f"{leaf} .b-cond-value", "Tab")
    # a form with a visibility rule: team shows once a name is typed (the list editor)
    page.click(".b-add-form")
    page.click(".b-classic > summary")
    page.select_option('[data-path="forms[2].record_type"] select', "player")
    page.on("dialog", lambda d: d.accept())  # "Remove …?" (taking a field off a form)
    page.click('[data-path="forms[2].sections[0].fields[1]"] .b-remove')  # take team out...
    page.select_option(".b-add-section-field", "team")  # ...and put it back
    page.select_option(".b-add-rule", "team")
    assert page.locator('[data-path="forms[2].visible_when.team.all[0]"]').is_visible()
    _saved(page)
    assert page.locator("#b-problems").is_hidden(), page.locator("#b-problems").inner_text()
    shot(page, "builder")

    page.click("#b-review")
    page.wait_for_url("**/builder/club/review")
    assert "Install version 1.0.0" in page.locator("main").inner_text()
    shot(page, "builder_review")
    page.click("#b-apply")
    page.wait_for_url("**/a/club")

    page.goto("/a/club/r/team/new")
    page.fill("#f-name", "Lions")
    page.fill("#f-city", "Hangzhou")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/a/club/r/team/\d+$"))
    page.goto("/a/club/r/player/new")
    page.fill("#f-name", "Ann")
    page.locator("#f-team").fill("Lio")
    page.locator(".picker-list li", has_text="Lions").click()
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/a/club/r/player/\d+$"))
    assert "Lions" in page.locator('[data-field="team"]').inner_text()

    # rename a field of the installed app: the upgrade renames the column, the data stays
    page.goto("/builder/club#rt-0")
    page.click('[data-path="record_types[0].fields[1]"] summary .b-fkey')
    page.fill('[data-path="record_types[0].fields[1].key"] input', "town")
    page.press('[data-path="record_types[0].fields[1].key"] input', "Tab")
    assert "city" in page.locator(".b-renamed").inner_text()
    _saved(page)
    page.click("#b-review")
    page.wait_for_url("**/builder/club/review")
    assert "Upgrade from 1.0.0 to 1.1.0" in page.locator("main").inner_text()
    page.click("#b-apply")
    page.wait_for_url("**/a/club")
    t = live_server["app"].extensions["tessera"]
    assert t.queries.list("club", "team", limit=5).rows[0]["town"] == "Hangzhou"
    views = t.registry.apps["club"].views
    assert views[2].filter == {"all": ({"field": "name", "op": "starts_with", "value": "A"},)}
    assert errors == []


def test_every_part_of_the_crm_opens_in_the_builder(page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page)
    page.goto("/builder/crm")
    items = page.locator(".b-nav-item")
    for i in range(items.count()):
        items.nth(i).click()
        assert page.locator(".b-editor").count() == 1
    flows = page.locator(".b-nav-section").nth(3).locator("li").count()
    page.reload()  # the selection (kept in the URL's hash) survives a reload
    assert page.url.endswith(f"#wf-{flows - 1}")
    assert page.locator(f'.b-workflow[data-path="workflows[{flows - 1}]"]').is_visible()
    assert page.locator("#b-problems").is_hidden()
    # chart settings read as words, not x / aggregate / group_by
    page.click('.b-nav-item:has-text("Forecast by stage")')
    chart = page.locator(".b-editor").inner_text()
    assert "One bar or slice per" in chart and "the total of a field" in chart
    assert "aggregate" not in chart and "group_by" not in chart
    shot(page, "builder_chart_settings")
    assert errors == []
