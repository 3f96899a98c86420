"""Recipes in workflows/: schema-valid, installable with parameters, errors that name the param."""

from __future__ import annotations

import pytest
from automation_helpers import desk, drain, install, rows, run_rows

from tessera.automation import recipes, tables
from tessera.automation import runs as ops
from tessera.errors import TemplateError


@pytest.fixture
def t(quiet_app, quiet_users):
    tessera = quiet_app.extensions["tessera"]
    install(tessera, desk([]))
    tessera.users = quiet_users
    return tessera


def test_every_recipe_is_valid():
    found = recipes.list_recipes()
    assert [r["key"] for r in found] == [
        "dormant_detection",
        "follow_up_reminder",
        "pool_release",
        "round_robin_assignment",
        "satisfaction_survey",
        "webhook_on_change",
    ]
    for r in found:
        assert recipes.validate_recipe(recipes.load_recipe(r["key"])) == []


def test_schema_problems_have_paths(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "key: Bad\nlabel: x\nparams: [{key: a, type: colour}]\n"
        "workflow: {trigger: {}, actions: []}\n"
    )
    with pytest.raises(TemplateError) as err:
        recipes.load_recipe(bad)
    text = str(err.value)
    assert "key: 'Bad' does not match" in text
    assert "params.0.type: 'colour' is not one of" in text
    assert "workflow.trigger: 'on' is a required property" in text


def test_round_robin_recipe_assigns_and_notifies(t):
    key = recipes.install_recipe(t, "desk", "ticket", "round_robin_assignment", {"role": "sales"})
    assert key == "round_robin_assignment_ticket"
    for s in ("a", "b", "c"):
        t.records.create("desk", "ticket", {"subject": s})
    drain(t)
    ann, bob = t.users["ann"], t.users["bob"]
    assert [x["owner"] for x in rows(t, t.registry.table("desk", "ticket"))] == [ann, bob, ann]
    assert [(n["user_id"], n["message"]) for n in rows(t, tables.notifications)] == [
        (ann, "a was assigned to you"),  # a record reads as its title in messages
        (bob, "b was assigned to you"),
        (ann, "c was assigned to you"),
    ]


def test_satisfaction_survey_recipe(t):
    recipes.install_recipe(
        t,
        "desk",
        "ticket",
        "satisfaction_survey",
        {"status_field": "status", "value": "resolved", "to": "{{ record.customer.email }}"},
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "email": "acme@example.com"})
    tk = t.records.create("desk", "ticket", {"subject": "Printer", "customer": c["id"]})
    t.records.update("desk", "ticket", tk["id"], {"status": "resolved"})
    drain(t)
    assert [(m["to"], m["subject"]) for m in ops.mail_outbox(t)] == [
        ("acme@example.com", "How did we do?")
    ]


def test_follow_up_and_dormant_recipes_install_as_scheduled_workflows(t):
    recipes.install_recipe(
        t, "desk", "customer", "follow_up_reminder", {"date_field": "next_at", "offset": "-2h"}
    )
    recipes.install_recipe(
        t, "desk", "customer", "dormant_detection", {"status_field": "status", "days": "30"}
    )
    listed = {w["key"]: w for w in ops.list_workflows(t, "desk")}
    assert listed["follow_up_reminder_customer"]["trigger"] == {
        "on": "date",
        "field": "next_at",
        "offset": "-2h",
        "at": "09:00",
    }
    assert listed["dormant_detection_customer"]["trigger"] == {
        "on": "schedule",
        "cron": "0 2 * * *",
    }
    result = ops.test_workflow(
        t,
        "desk",
        "dormant_detection_customer",
        t.records.create("desk", "customer", {"name": "Z"})["id"],
    )
    assert result["condition"] is False  # just created: not dormant
    assert result["steps"][0]["output"]["values"] == {"status": "dormant"}


def test_webhook_recipe_watches_fields(t):
    recipes.install_recipe(
        t,
        "desk",
        "customer",
        "webhook_on_change",
        {"url": "https://example.com/hook", "fields": "status,score"},
    )
    wf = {w["key"]: w for w in ops.list_workflows(t, "desk")}["webhook_on_change_customer"]
    assert wf["trigger"] == {"on": "field.changed", "fields": ["status", "score"]}


@pytest.mark.parametrize(
    ("recipe", "params", "message"),
    [
        ("follow_up_reminder", {}, "params.date_field: is required"),
        (
            "follow_up_reminder",
            {"date_field": "name"},
            'params.date_field: "name" is a text field; this parameter needs one of: date, '
            "datetime",
        ),
        (
            "follow_up_reminder",
            {"date_field": "nxt"},
            'params.date_field: customer has no field "nxt"',
        ),
        (
            "follow_up_reminder",
            {"date_field": "next_at", "offset": "soon"},
            "params.offset: 'soon' is not a duration",
        ),
        (
            "follow_up_reminder",
            {"date_field": "next_at", "colour": "red"},
            'params.colour: recipe "follow_up_reminder" has no parameter "colour"',
        ),
        (
            "webhook_on_change",
            {"url": "ftp://x", "fields": "status"},
            "params.url: 'ftp://x' is not an http(s) URL",
        ),
        (
            "satisfaction_survey",
            {"status_field": "status", "value": "vip", "to": "{{ record.email "},
            "workflows[0].actions[0].to: template does not parse",
        ),
        ("nope", {}, "no recipe 'nope'; known: dormant_detection"),
    ],
)
def test_bad_parameters_are_reported_with_paths(t, recipe, params, message):
    with pytest.raises(TemplateError) as err:
        recipes.install_recipe(t, "desk", "customer", recipe, params)
    assert message in str(err.value)
    assert recipes.installed(t) == []


def test_cli_install_list_runs_retry(t, quiet_app):
    runner = quiet_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "workflow",
            "install",
            "round_robin_assignment",
            "--app",
            "desk",
            "--record-type",
            "ticket",
            "--param",
            "role=support",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "installed workflow round_robin_assignment_ticket on desk.ticket" in result.output
    result = runner.invoke(
        args=[
            "workflow",
            "install",
            "follow_up_reminder",
            "--app",
            "desk",
            "--record-type",
            "customer",
            "--param",
            "date_field=name",
        ]
    )
    assert result.exit_code == 1 and '"name" is a text field' in result.output
    t.records.create("desk", "ticket", {"subject": "x"})
    drain(t)
    listed = runner.invoke(args=["workflow", "list", "desk"])
    assert (
        "round_robin_assignment_ticket\trecord.created\tticket\tenabled\tfailed=0" in listed.output
    )
    runs = runner.invoke(args=["workflow", "runs", "--app", "desk"])
    assert "round_robin_assignment_ticket\trecord.created\trecord=1\tdone" in runs.output
    retry = runner.invoke(args=["workflow", "retry", str(run_rows(t)[0]["id"])])
    assert retry.exit_code == 1 and "only failed or stopped runs can be retried" in retry.output
    worker = runner.invoke(args=["worker"])
    assert worker.exit_code == 1 and "the worker needs REDIS_URL" in worker.output
