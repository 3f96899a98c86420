"""Automation in the web UI: bell, operations pages, recipes, manual runs, incoming webhooks.

Automation threads are off here (the shared ``flask_app`` sets AUTOMATION_EMBEDDED False);
:func:`drain` relays and works in the test's own thread, so every run is deterministic.
"""

from __future__ import annotations

import re

import pytest
import yaml
from web_helpers import PASSWORD, csrf, login, post

from tessera import users
from tessera.automation import runs as ops
from tessera.meta import app_from_data
from tessera.storage import installer
from tessera.web import automation as web_automation

OPS = {
    "id": "ops",
    "version": "1.0.0",
    "label": {"en": "Ops", "zh-CN": "运营"},
    "record_types": [
        {
            "key": "lead",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "email", "type": "email"},
                {
                    "key": "status",
                    "type": "select",
                    "default": "new",
                    "options": [{"value": "new"}, {"value": "won"}],
                },
            ],
        }
    ],
    "views": [{"key": "leads", "type": "table", "record_type": "lead", "columns": ["name"]}],
    "forms": [
        {
            "key": "lead_form",
            "record_type": "lead",
            "public": True,
            "sections": [{"fields": ["name", "email"]}],
        }
    ],
    "workflows": [
        {
            "key": "mail_me",
            "label": {"en": "Send hello", "zh-CN": "发送问候"},
            "record_type": "lead",
            "trigger": {"on": "manual"},
            "actions": [
                {
                    "do": "send_email",
                    "to": "{{ record.email }}",
                    "subject": "Hello {{ record.name }}",
                    "body": "Hi from {{ user.name if user else 'us' }}",
                }
            ],
        },
        {
            "key": "hook",
            "trigger": {"on": "webhook", "secret": "s3cret-hook-key-0001"},
            "actions": [
                {
                    "do": "notify",
                    "to": "alice",
                    "message": "hook {{ vars.get('payload', {}).get('n') }}",
                }
            ],
        },
        {
            "key": "signup",
            "trigger": {"on": "form.submitted", "form": "lead_form"},
            "actions": [{"do": "notify", "to": "alice", "message": "New lead {{ record.name }}"}],
        },
        {
            "key": "fragile",
            "record_type": "lead",
            "trigger": {"on": "field.changed", "fields": ["status"]},
            "when": {"field": "status", "op": "changed_to", "value": "won"},
            "actions": [
                {"do": "send_email", "to": "boss@example.com", "subject": "Won", "body": "!"},
                {"do": "notify", "to": "nobody_yet", "message": "won {{ record.name }}"},
            ],
        },
        {
            "key": "loop",
            "record_type": "lead",
            "trigger": {"on": "record.updated"},
            "actions": [{"do": "update_record", "values": {"status": "new"}}],
        },
    ],
}


def drain(tessera, rounds: int = 30) -> None:
    """Relay and work in this thread until nothing is left."""
    auto = tessera.automation
    for _ in range(rounds):
        relayed = auto.relay_once()
        auto._move_scheduled()
        worked = auto.make_worker().work(burst=True, logging_level="WARNING")
        if not relayed and not worked:
            return


def html(response) -> str:
    return response.get_data(as_text=True)


def flashes(page: str) -> list[str]:
    return re.findall(r'class="flash flash-\w+">([^<]*)<', page)


@pytest.fixture
def t(tessera):
    """The runtime with the "ops" app installed beside the CRM; the loop workflow paused."""
    app = app_from_data(OPS)
    installer.install(tessera.engine, app, yaml.safe_dump(OPS))
    tessera.registry.reload()
    tessera.config["AUTOMATION_RETRIES"] = 0
    ops.pause_workflow(tessera, "ops", "loop")
    return tessera


@pytest.fixture
def bob(web_app):
    """A signed-in client for bob (not an admin)."""
    c = web_app.test_client()
    login(c, "bob")
    return c


def lead(t, name: str = "Ann", email: str = "ann@example.com") -> int:
    return t.records.create("ops", "lead", {"name": name, "email": email})["id"]


# -- access -----------------------------------------------------------------------------------
ADMIN_PAGES = [
    "/automation/",
    "/automation/runs",
    "/automation/queue",
    "/automation/mail",
    "/automation/recipes",
    "/automation/recipes/satisfaction_survey",
    "/automation/ops/mail_me/test",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_render_for_admins_and_refuse_others(t, client, bob, anon, path):
    assert client.get(path).status_code == 200
    refused = bob.get(path)
    assert refused.status_code == 403
    assert "Only administrators can manage automation." in html(refused)
    assert anon.get(path).status_code == 302


def test_non_admin_posts_are_refused(t, bob):
    assert post(bob, "/automation/ops/mail_me/pause").status_code == 403
    assert post(bob, "/automation/runs/1/retry").status_code == 403
    assert post(bob, "/automation/recipes/installed/ops/x/uninstall").status_code == 403
    assert not ops.list_workflows(t, "ops")[0]["paused"]


def test_posts_need_the_csrf_token(t, client):
    r = client.post("/automation/ops/mail_me/pause")
    assert r.status_code == 400 and "expired" in html(r)
    assert not next(w for w in ops.list_workflows(t, "ops") if w["key"] == "mail_me")["paused"]
    assert client.post("/notifications/read").status_code == 400
    assert client.post("/run/ops", data={"workflow": "mail_me", "ids": "1"}).status_code == 400


def test_sidebar_links_automation_for_admins_only(t, client, bob):
    assert 'href="/automation/"' in html(client.get("/"))
    assert 'href="/automation/"' not in html(bob.get("/"))


# -- bell and notifications -------------------------------------------------------------------
def test_bell_counts_unread_and_opening_marks_read(t, client, bob, anon):
    page = html(client.get("/"))
    assert 'id="bell"' in page and "bell-count" not in page
    assert "Nothing yet" in page
    assert 'id="bell"' in html(bob.get("/"))  # every signed-in user has a bell
    token = csrf(anon, "/f/ops/lead_form")
    r = anon.post(
        "/f/ops/lead_form", data={"name": "Zed", "email": "z@example.com", "_csrf": token}
    )
    assert r.status_code == 200
    drain(t)
    page = html(client.get("/"))
    assert 'data-unread="1"' in page and "New lead Zed" in page
    (note,) = ops.notifications(t, users_id(t, "alice"))
    r = post(client, f"/notifications/{note['id']}/open")
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/a/ops/r/lead/{note['record_id']}")
    assert "bell-count" not in html(client.get("/"))
    assert ops.unread_count(t, users_id(t, "alice")) == 0


def test_notifications_page_and_mark_all_read(t, client, bob):
    assert "You have no notifications" in html(client.get("/notifications"))
    for n in (1, 2):
        client.post(
            "/hooks/ops/hook", json={"n": n}, headers={"X-Tessera-Secret": "s3cret-hook-key-0001"}
        )
    drain(t)
    page = html(client.get("/notifications"))
    assert page.index("hook 2") < page.index("hook 1")  # newest first
    listed = page[page.index('id="notifications"') :]
    assert listed.count('class="note unread"') == 2
    r = post(client, "/notifications/read", {"next": "/notifications"})
    assert r.headers["Location"].endswith("/notifications")
    assert "Marked 2 notifications read." in flashes(html(client.get("/notifications")))
    assert ops.unread_count(t, users_id(t, "alice")) == 0
    # bob cannot open alice's notification
    note_id = ops.notifications(t, users_id(t, "alice"))[0]["id"]
    assert post(bob, f"/notifications/{note_id}/open").status_code == 404


def users_id(t, username: str) -> int:
    from tessera.users import authenticate

    return authenticate(t.engine, username, PASSWORD)["id"]


# -- workflows, pause/resume, test mode -------------------------------------------------------
def test_workflows_page_lists_state_warnings_and_pauses(t, client):
    page = html(client.get("/automation/"))
    for key in ("follow_up_reminder", "ticket_resolved", "mail_me", "hook", "fragile"):
        assert f'data-workflow="{key}"' in page
    assert "http://localhost/hooks/ops/hook" in page  # the incoming URL is shown
    loop_row = page[page.index('data-workflow="loop"') :].split("</tr>")[0]
    assert "status-paused" in loop_row and "⚠" in loop_row  # paused, with its loop warning
    r = post(client, "/automation/ops/mail_me/pause")
    assert r.status_code == 302
    assert next(w for w in ops.list_workflows(t, "ops") if w["key"] == "mail_me")["paused"]
    page = html(client.get("/automation/"))
    assert "Paused “mail_me”" in page
    post(client, "/automation/ops/mail_me/resume")
    assert not next(w for w in ops.list_workflows(t, "ops") if w["key"] == "mail_me")["paused"]
    assert post(client, "/automation/ops/nope/pause").status_code == 404
    assert post(client, "/automation/nope/mail_me/pause").status_code == 404


def test_test_mode_shows_each_step_and_changes_nothing(t, client):
    rid = lead(t)
    page = html(client.get("/automation/ops/mail_me/test"))
    assert 'name="record_id"' in page and 'id="test-result"' not in page
    page = html(client.get(f"/automation/ops/mail_me/test?record_id={rid}"))
    assert 'id="test-result"' in page and 'data-path="0"' in page
    assert "Hello Ann" in page and "ann@example.com" in page
    assert ops.mail_outbox(t) == [] and ops.list_runs(t) == []
    missing = client.get("/automation/ops/mail_me/test?record_id=999")
    assert missing.status_code == 404 and "lead #999 does not exist" in html(missing)
    assert client.get("/automation/ops/nope/test").status_code == 404


def test_test_mode_of_a_workflow_without_a_record(t, client):
    page = html(client.get("/automation/ops/hook/test?run=1"))
    assert 'id="test-result"' in page and "notify" in page


# -- runs -------------------------------------------------------------------------------------
def test_runs_list_filters_and_pages(t, client, monkeypatch):
    assert "No workflow has run yet" in html(client.get("/automation/runs"))
    ids = [lead(t, f"L{i}", f"l{i}@example.com") for i in range(3)]
    run_ids = ops.run_manual(t, "ops", "mail_me", ids, None)
    t.records.update("ops", "lead", ids[0], {"status": "won"})
    drain(t)
    page = html(client.get("/automation/runs"))
    assert all(f'data-run="{i}"' in page for i in run_ids)
    failed = html(client.get("/automation/runs?status=failed"))
    assert re.findall(r'<tr data-run="(\d+)"', failed) == [
        str(ops.list_runs(t, status="failed")[0]["id"])
    ]
    by_record = html(client.get(f"/automation/runs?app=ops&record_type=lead&record_id={ids[1]}"))
    assert len(re.findall(r"<tr data-run=", by_record)) == 2  # mail_me, and fragile (skipped)
    by_wf = html(client.get(f"/automation/runs?workflow=mail_me&record_id={ids[1]}"))
    assert re.findall(r'<tr data-run="(\d+)"', by_wf) == [str(run_ids[1])]
    skipped = html(client.get("/automation/runs?workflow=fragile&status=skipped"))
    assert len(re.findall(r"<tr data-run=", skipped)) == 3
    assert "No runs match these filters." in html(client.get("/automation/runs?app=crm"))
    assert client.get("/automation/runs?status=bogus").status_code == 400
    monkeypatch.setattr(web_automation, "PAGE_SIZE", 2)
    first = html(client.get("/automation/runs"))
    shown = re.findall(r'<tr data-run="(\d+)"', first)
    assert len(shown) == 2
    older = re.search(r'href="/automation/runs\?before=(\d+)"', first).group(1)
    assert older == shown[-1]
    second = html(client.get(f"/automation/runs?before={older}"))
    rest = re.findall(r'<tr data-run="(\d+)"', second)
    assert rest and all(int(r) < int(older) for r in rest) and "Newest" in second


def test_run_detail_and_retry_from_the_failed_step(t, client):
    rid = lead(t, "Big", "big@example.com")
    t.records.update("ops", "lead", rid, {"status": "won"})
    drain(t)
    (run,) = ops.list_runs(t, workflow_key="fragile", status="failed")
    page = html(client.get(f"/automation/runs/{run['id']}"))
    assert 'id="retry"' in page and "no active user &#39;nobody_yet&#39;" in page
    assert (
        'data-path="0" data-status="done"' in page and 'data-path="1" data-status="failed"' in page
    )
    users.create_user(t.engine, "nobody_yet", PASSWORD)
    r = post(client, f"/automation/runs/{run['id']}/retry")
    assert r.status_code == 302
    assert "queued again" in html(client.get(r.headers["Location"]))
    drain(t)
    done = ops.get_run(t, run["id"])
    assert (done["status"], done["attempt"]) == ("done", 2)
    assert len([m for m in ops.mail_outbox(t) if m["subject"] == "Won"]) == 1  # step 0 not redone
    page = html(client.get(f"/automation/runs/{run['id']}"))
    assert 'id="retry"' not in page


def test_retry_of_a_run_that_did_not_fail_is_refused(t, client):
    (run_id,) = ops.run_manual(t, "ops", "mail_me", [lead(t)], None)
    drain(t)
    r = post(client, f"/automation/runs/{run_id}/retry")
    page = html(client.get(r.headers["Location"]))
    assert f"run {run_id} is done; only failed or stopped runs can be retried" in page
    assert ops.get_run(t, run_id)["attempt"] == 1


def test_unknown_run_is_404(t, client):
    r = client.get("/automation/runs/4242")
    assert r.status_code == 404 and "run 4242 does not exist" in html(r)
    assert post(client, "/automation/runs/4242/retry").status_code == 404


# -- queue and mail ---------------------------------------------------------------------------
def test_queue_page_shows_depth_and_worker_liveness(t, client):
    page = html(client.get("/automation/queue"))
    assert 'data-stat="queued">0<' in page and 'data-embedded="idle"' in page
    ops.run_manual(t, "ops", "mail_me", [lead(t)], None)
    page = html(client.get("/automation/queue"))
    assert 'data-stat="queued">1<' in page
    drain(t)
    assert 'data-stat="queued">0<' in html(client.get("/automation/queue"))


def test_mail_outbox_lists_mail_written_locally(t, client):
    assert "No e-mail yet" in html(client.get("/automation/mail"))
    ops.run_manual(t, "ops", "mail_me", [lead(t)], users_id(t, "alice"))
    drain(t)
    page = html(client.get("/automation/mail"))
    assert "Hello Ann" in page and "ann@example.com" in page and "Hi from" in page


# -- recipes ----------------------------------------------------------------------------------
def test_recipes_page_lists_every_recipe(t, client):
    page = html(client.get("/automation/recipes"))
    for key in (
        "follow_up_reminder",
        "round_robin_assignment",
        "dormant_detection",
        "satisfaction_survey",
        "webhook_on_change",
    ):
        assert f'data-recipe="{key}"' in page
    assert "Nothing installed yet" in page
    assert client.get("/automation/recipes/nope").status_code == 404


def test_install_form_is_generated_from_the_parameters(t, client):
    page = html(client.get("/automation/recipes/satisfaction_survey"))
    assert 'id="install-form"' not in page and 'value="crm.ticket"' in page
    page = html(client.get("/automation/recipes/satisfaction_survey?target=crm.ticket"))
    assert 'id="install-form"' in page
    status_select = page[page.index('name="p.status_field"') :].split("</select>")[0]
    assert 'value="status"' in status_select and 'value="subject"' in status_select
    assert 'value="customer"' not in status_select  # a link field is not offered
    assert 'value="How did we do?"' in page  # defaults prefilled
    page = html(client.get("/automation/recipes/webhook_on_change?target=crm.ticket"))
    assert 'type="checkbox" name="p.fields" value="status"' in page
    page = html(client.get("/automation/recipes/follow_up_reminder?target=crm.follow_up"))
    assert 'type="time" id="p-at"' in page and 'value="updated_at"' in page
    page = html(client.get("/automation/recipes/satisfaction_survey?target=crm.nope"))
    assert "There is no record type “crm.nope”" in page


def test_bad_recipe_params_are_shown_per_field(t, client):
    r = post(
        client,
        "/automation/recipes/satisfaction_survey",
        {"target": "crm.ticket", "p.status_field": "customer", "p.to": "qa@example.com"},
    )
    assert r.status_code == 422
    page = html(r)
    status_box = page[page.index('data-param="status_field"') :].split('data-param="value"')[0]
    assert "is a link field; this parameter needs one of: select, text" in status_box
    value_box = page[page.index('data-param="value"') :].split('data-param="to"')[0]
    assert "is required" in value_box
    assert 'value="qa@example.com"' in page  # input kept
    assert recipes_installed(t) == []
    r = post(
        client,
        "/automation/recipes/follow_up_reminder",
        {"target": "crm.follow_up", "p.date_field": "next_at", "p.offset": "soon", "p.at": "25:00"},
    )
    page = html(r)
    assert r.status_code == 422
    assert "is not a duration like 30m" in page and "is not a time of day HH:MM" in page


def recipes_installed(t) -> list:
    from tessera.automation import recipes

    return recipes.installed(t)


def test_install_then_uninstall_a_recipe(t, client):
    form = {
        "target": "crm.ticket",
        "p.status_field": "status",
        "p.value": "resolved",
        "p.to": "qa@example.com",
        "p.subject": "",
    }
    r = post(client, "/automation/recipes/satisfaction_survey", form)
    assert r.status_code == 302 and r.headers["Location"].endswith("/automation/recipes")
    page = html(client.get("/automation/recipes"))
    assert "Installed “satisfaction_survey_ticket”" in page
    assert 'data-installed="crm.satisfaction_survey_ticket"' in page
    (row,) = recipes_installed(t)
    assert row["params"] == {
        "status_field": "status",
        "value": "resolved",
        "to": "qa@example.com",
    }  # the empty subject was left out, so its default applies
    assert 'data-workflow="satisfaction_survey_ticket"' in html(client.get("/automation/"))
    again = post(client, "/automation/recipes/satisfaction_survey", form)
    assert again.status_code == 422
    key_box = html(again)[html(again).index('data-param="workflow_key"') :]
    assert "already has a workflow" in key_box.split("</div>")[1] or "already has" in key_box
    r = post(client, "/automation/recipes/installed/crm/satisfaction_survey_ticket/uninstall")
    assert "Uninstalled" in html(client.get(r.headers["Location"]))
    assert recipes_installed(t) == []
    r = post(client, "/automation/recipes/installed/crm/satisfaction_survey_ticket/uninstall")
    assert "no recipe workflow" in html(client.get(r.headers["Location"]))


def test_installed_recipe_runs_when_a_record_changes_in_the_ui(t, client):
    form = {"target": "ops.lead", "p.status_field": "status", "p.value": "won", "p.to": "qa@x.io"}
    post(client, "/automation/recipes/satisfaction_survey", form)
    rid = lead(t)
    page = html(client.get(f"/a/ops/r/lead/{rid}/edit"))
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = post(
        client,
        f"/a/ops/r/lead/{rid}/edit",
        {"name": "Ann", "email": "ann@example.com", "status": "won", "version": version},
    )
    assert r.status_code == 302
    drain(t)
    assert [m["to"] for m in ops.mail_outbox(t) if m["subject"] == "How did we do?"] == ["qa@x.io"]
    page = html(client.get(f"/a/ops/r/lead/{rid}"))
    assert 'id="record-runs"' in page and "satisfaction_survey_lead" in page


# -- manual runs, forms -----------------------------------------------------------------------
def test_run_workflow_menu_on_the_record_page_and_bulk_bar(t, client, bob):
    a, b = lead(t, "A", "a@example.com"), lead(t, "B", "b@example.com")
    page = html(client.get(f"/a/ops/r/lead/{a}"))
    assert 'id="run-workflow"' in page and 'value="mail_me"' in page and "Send hello" in page
    assert 'value="fragile"' not in page  # not a manual workflow
    assert 'id="record-runs"' not in html(bob.get(f"/a/ops/r/lead/{a}"))  # admins only
    table = html(client.get("/a/ops/v/leads"))
    assert 'formaction="/run/ops"' in table and 'id="bulk-workflow"' in table
    r = post(bob, "/run/ops", {"workflow": "mail_me", "ids": [a, b], "next": "/a/ops/v/leads"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/a/ops/v/leads")
    assert "Started “Send hello” on 2 records." in flashes(html(bob.get("/a/ops/v/leads")))
    drain(t)
    assert sorted(m["to"] for m in ops.mail_outbox(t)) == ["a@example.com", "b@example.com"]
    assert {m["body"] for m in ops.mail_outbox(t)} == {"Hi from Bob Sales"}


def test_manual_run_refusals(t, client):
    a = lead(t)
    post(client, "/run/ops", {"workflow": "fragile", "ids": a})
    assert "is not a manual workflow" in html(client.get("/"))
    post(client, "/run/ops", {"workflow": "mail_me"})
    assert "Select at least one record first." in html(client.get("/"))
    post(client, "/run/ops", {"workflow": "mail_me", "ids": 999})
    assert "999" in html(client.get("/"))
    ops.pause_workflow(t, "ops", "mail_me")
    assert 'id="run-workflow"' not in html(client.get(f"/a/ops/r/lead/{a}"))
    assert ops.list_runs(t) == []


def test_signed_in_form_submission_fires_form_submitted(t, client):
    r = post(client, "/a/ops/r/lead/new?form=lead_form", {"name": "Inside", "email": ""})
    assert r.status_code == 302
    drain(t)
    (run,) = ops.list_runs(t, workflow_key="signup")
    assert run["status"] == "done" and run["trigger"] == "form.submitted"
    assert "New lead Inside" in html(client.get("/notifications"))


# -- incoming webhooks ------------------------------------------------------------------------
def test_webhook_with_the_right_secret_starts_a_run(t, anon):
    r = anon.post(
        "/hooks/ops/hook", json={"n": 7}, headers={"X-Tessera-Secret": "s3cret-hook-key-0001"}
    )
    assert r.status_code == 202 and r.get_json() == {"run_id": r.get_json()["run_id"]}
    r2 = anon.post(
        "/hooks/ops/hook", json={"n": 8}, headers={"X-Tessera-Secret": "s3cret-hook-key-0001"}
    )
    assert r2.status_code == 202
    drain(t)
    assert ops.get_run(t, r.get_json()["run_id"])["vars"]["payload"] == {"n": 7}
    messages = {n["message"] for n in ops.notifications(t, users_id(t, "alice"))}
    assert messages == {"hook 7", "hook 8"}


def test_webhook_errors_are_json(t, anon):
    bad = anon.post("/hooks/ops/hook", json={"n": 1}, headers={"X-Tessera-Secret": "nope"})
    assert bad.status_code == 403
    assert bad.get_json() == {"error": {"code": "forbidden", "message": "wrong webhook secret"}}
    assert anon.post("/hooks/ops/hook", json={}).status_code == 403  # no secret at all
    in_url = anon.post("/hooks/ops/hook?secret=s3cret-hook-key-0001", json={"n": 1})
    assert in_url.status_code == 400 and "header" in in_url.get_json()["error"]["message"]
    hdr = {"X-Tessera-Secret": "s3cret-hook-key-0001"}
    unknown = anon.post("/hooks/ops/nope", json={}, headers=hdr)
    assert unknown.status_code == 404
    assert unknown.get_json() == {
        "error": {"code": "not_found", "message": "app 'ops' has no workflow 'nope'"}
    }
    assert anon.post("/hooks/nope/hook", json={}).get_json()["error"]["code"] == "not_found"
    assert anon.post("/hooks/ops/mail_me", json={}, headers=hdr).status_code == 404  # not a hook
    not_json = anon.post(
        "/hooks/ops/hook", data="{oops", content_type="application/json", headers=hdr
    )
    assert not_json.status_code == 400 and "not JSON" in not_json.get_json()["error"]["message"]
    assert anon.get("/hooks/ops/hook").status_code == 405
    assert ops.list_runs(t) == []


# -- Chinese ----------------------------------------------------------------------------------
def test_automation_pages_speak_chinese(t, client):
    post(client, "/lang", {"locale": "zh_CN"})
    page = html(client.get("/automation/"))
    assert "自动化" in page and "暂停" in page and "发送问候" in page
    assert "配方" in html(client.get("/automation/recipes"))
    assert "满意度调查" in html(client.get("/automation/recipes"))
    assert "通知" in html(client.get("/notifications"))
