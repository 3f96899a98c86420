"""Permissions in a real browser: a rep sees their customers, a manager the team's, the pool."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from browser_helpers import PASSWORD, shot, sign_in

from tessera import users
from tessera.access.principal import bump_access_version
from tessera.access.tables import team_members, teams, user_roles


def _people(t, tag: str) -> dict[str, int]:
    ids = {}
    for name, role in (("rep", "sales_rep"), ("mate", "sales_rep"), ("boss", "sales_manager")):
        ids[name] = users.create_user(t.engine, f"{name}_{tag}", PASSWORD)
        with t.engine.begin() as conn:
            conn.execute(user_roles.insert().values(user_id=ids[name], app_id="crm", role=role))
            bump_access_version(conn)  # direct writes to access tables advance the counter
    with t.engine.begin() as conn:
        bump_access_version(conn)
        conn.execute(teams.insert().values(name=f"team_{tag}", manager_id=ids["boss"]))
        team = conn.scalar(sa.select(teams.c.id).where(teams.c.name == f"team_{tag}"))
        for who in ("rep", "mate"):
            conn.execute(team_members.insert().values(team_id=team, user_id=ids[who]))
    return ids


def test_rep_manager_and_the_pool_cap(page, live_server, browser):
    t = live_server["app"].extensions["tessera"]
    tag = uuid.uuid4().hex[:6]
    ids = _people(t, tag)
    rows = [{"name": f"Mine {tag} {i}", "owner": ids["rep"]} for i in range(49)]
    rows += [{"name": f"Mate {tag}", "owner": ids["mate"]}]
    rows += [{"name": f"Pool {tag} {i}"} for i in range(2)]
    t.records.bulk_create("crm", "customer", rows)

    sign_in(page, f"rep_{tag}")
    page.goto(f"/a/crm/r/customer?q={tag}&page_size=100")
    body = page.locator("main").inner_text()
    assert f"Mine {tag} 0" in body and f"Mate {tag}" not in body
    page.goto("/a/crm/pool/customer")
    assert "You hold 49 of at most 50." in page.locator("#pool-held").inner_text()
    shot(page, "pool")
    page.locator("#pool tr", has_text=f"Pool {tag} 0").locator("button").click()
    page.wait_for_url("**/a/crm/r/customer/*")
    assert page.locator("text=Release to pool").is_visible()  # claimed: it is theirs
    page.goto("/a/crm/pool/customer")
    page.locator("#pool tr", has_text=f"Pool {tag} 1").locator("button").click()
    assert "at most 50" in page.locator("main").inner_text()  # the 51st is refused

    boss = browser.new_context(base_url=live_server["url"]).new_page()
    sign_in(boss, f"boss_{tag}")
    boss.goto(f"/a/crm/r/customer?q={tag}")
    assert "51 records" in boss.locator("main").inner_text()  # the whole team's (49+1+1)
    boss.goto(f"/a/crm/r/customer?q=Mate {tag}")
    assert f"Mate {tag}" in boss.locator("main").inner_text()
    shot(boss, "manager_customers")
