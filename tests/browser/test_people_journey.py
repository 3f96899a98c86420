"""People journey in a real browser: an admin creates a team and a user with a role, the user
signs in, the admin deactivates them, and the user's open session stops working.

Screenshots in English and Chinese land in tests/artifacts/ (people_*.png).
"""

from __future__ import annotations

import re
import uuid

from browser_helpers import PASSWORD, shot, sign_in


def _choose_role(page, app_id: str, role: str) -> None:
    """Tick the declared role, or (before the app declares roles) type its key."""
    box = page.locator(f'input[name="role"][value="{app_id}:{role}"]')
    if box.count():
        box.check()
    else:
        page.fill(f"#roles-{app_id}", role)


def test_admin_creates_assigns_and_deactivates_a_user(page, browser, live_server):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: d.accept())  # "Deactivate …?"
    suffix = uuid.uuid4().hex[:6]
    team, username = f"East {suffix}", f"rep_{suffix}"
    sign_in(page)

    page.click("nav.sidebar .nav-people a")
    page.wait_for_url("**/admin/users")
    page.click('.tabs a[href="/admin/teams"]')
    page.fill("#t-name", team)
    page.click("#team-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/teams/\d+$"))
    assert page.locator("h1").inner_text() == team

    page.goto("/admin/users/new")
    page.fill("#u-username", "alice")  # taken: a clear message, input kept
    page.fill("#u-timezone", "Asia/Shanghai")
    page.click("#user-form button[type=submit]")
    assert "is taken" in page.locator("#form-error").inner_text()
    assert page.input_value("#u-timezone") == "Asia/Shanghai"

    page.fill("#u-username", username)
    page.fill("#u-password", PASSWORD)
    page.fill("#u-display_name", "Rita Rep")
    page.locator("#u-teams label", has_text=team).locator("input").check()
    _choose_role(page, "crm", "sales_rep")
    shot(page, "people_user_form_en")
    page.click("#user-form button[type=submit]")
    assert page.locator("#new-password").inner_text() == PASSWORD
    shot(page, "people_password_once_en")
    page.click("#password-once a.button.primary")
    assert page.locator("#u-display_name").input_value() == "Rita Rep"

    page.goto("/admin/users")
    row = page.locator(f'tr[data-user="{username}"]')
    assert team in row.inner_text()
    assert row.locator('[data-role="crm:sales_rep"]').count() == 1
    shot(page, "people_users_en")

    rep_context = browser.new_context(base_url=live_server["url"])
    rep = rep_context.new_page()
    sign_in(rep, username, PASSWORD)
    assert rep.locator(".user-name").inner_text() == "Rita Rep"

    page.locator(f'tr[data-user="{username}"] a').click()
    page.click("#toggle-active button[type=submit]")
    assert "deactivated" in page.locator(".flash").inner_text()
    assert page.locator("#deactivated").is_visible()

    rep.goto("/a/crm")
    assert "/login" in rep.url  # the open session ended at once
    rep_context.close()

    page.click("form.lang-form button[value=zh_CN]")
    page.goto("/admin/users")
    assert page.locator("h1").inner_text() == "用户、团队和角色"
    assert "已停用" in page.locator(f'tr[data-user="{username}"]').inner_text()
    shot(page, "people_users_zh")
    page.locator(f'tr[data-user="{username}"] a').click()
    shot(page, "people_user_zh")
    page.goto("/admin/audit")
    assert page.locator('tr[data-action="user_deactivate"]').count() >= 1
    shot(page, "people_audit_zh")
    page.goto("/me/tokens")
    page.fill("#token-form input[name=name]", "BI")
    page.select_option("#token-scope", "read")
    page.fill("#token-form input[name=expires_in_days]", "30")
    page.click("#token-form button[type=submit]")
    assert page.locator("#new-token").inner_text().startswith("tsr_")
    shot(page, "people_tokens_zh")
    page.click("form.lang-form button[value=en]")
    assert not errors
