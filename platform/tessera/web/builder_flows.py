"""The workflow builder's server side: what the page offers, and test mode for a draft.

Workflows live in the draft like everything else, so they are checked by the same
validator and compiler as a YAML template (:func:`tessera.meta.app_from_data`). Test mode
compiles the draft, takes the workflow from it and runs the automation engine's dry run
(:class:`tessera.automation.engine.RunState` with ``dry_run=True``) against a chosen
record of the installed app: the condition's result and what each step would do, with
its texts rendered from that record. Nothing is written.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from tessera.automation import actions as action_registry
from tessera.automation import builtin as _builtin  # noqa: F401  (registers the built-ins)
from tessera.automation.engine import RunState
from tessera.errors import NotFound, TesseraError
from tessera.meta import app_from_data

#: trigger kinds in the order the page offers them, with what each needs
TRIGGERS = (
    "record.created",
    "record.updated",
    "field.changed",
    "record.deleted",
    "date",
    "schedule",
    "form.submitted",
    "manual",
    "webhook",
)
#: parameters that hold longer texts (a text area with a preview)
LONG_TEXT = ("body", "message", "text", "markdown")


def trigger_names() -> dict[str, str]:
    """Each trigger kind in words."""
    return {
        "record.created": _("A record is created"),
        "record.updated": _("A record is changed"),
        "field.changed": _("Certain fields change"),
        "record.deleted": _("A record is deleted"),
        "date": _("At a time before or after a date in the record"),
        "schedule": _("On a schedule (every day, every Monday, …)"),
        "form.submitted": _("A form is submitted"),
        "manual": _("Someone starts it on chosen records"),
        "webhook": _("Another system calls its web address"),
    }


def action_names() -> dict[str, str]:
    """Each action in words (actions registered later show their own label or name)."""
    known = {
        "send_email": _("Send an e-mail"),
        "notify": _("Notify people in the app"),
        "update_record": _("Change fields of the record"),
        "create_record": _("Create a record"),
        "assign": _("Assign to someone with a role"),
        "increment": _("Add to a number"),
        "decrement": _("Subtract from a number"),
        "set_variable": _("Remember a value"),
        "wait": _("Wait"),
        "webhook": _("Send data to a web address"),
        "wecom": _("Post to a WeCom group"),
        "dingtalk": _("Post to a DingTalk group"),
        "feishu": _("Post to a Feishu group"),
        "if": _("If … then … otherwise"),
    }
    out = {}
    for name in action_registry.names():
        a = action_registry.get(name)
        out[name] = known.get(name) or a.label or name.replace("_", " ")
    return out


def param_names() -> dict[str, str]:
    """Action parameters in words."""
    return {
        "to": _("To"),
        "subject": _("Subject"),
        "body": _("Message"),
        "message": _("Message"),
        "values": _("Set these fields"),
        "record_type": _("Record type"),
        "record_id": _("Which record (its number)"),
        "as": _("Remember its number as"),
        "role": _("Role"),
        "field": _("Field"),
        "strategy": _("How to choose"),
        "by": _("By how much"),
        "fields": _("Fields and amounts"),
        "name": _("Name"),
        "value": _("Value"),
        "for": _("How long (30m, 2h, 1d)"),
        "until": _("Until"),
        "url": _("Web address"),
        "body_json": _("Data"),
        "headers": _("Headers"),
        "timeout": _("Time limit (seconds)"),
        "retries": _("Retries"),
        "text": _("Text"),
        "markdown": _("Formatted text"),
        "title": _("Title"),
        "mentions": _("Mention"),
        "secret": _("Secret"),
        "condition": _("Condition"),
        "then": _("Then"),
        "else": _("Otherwise"),
    }


def actions_spec() -> dict[str, dict[str, Any]]:
    """Every registered action: its parameters (required first) for the step editor."""
    return {
        name: {
            "required": list(action_registry.get(name).required),
            "optional": list(action_registry.get(name).optional),
            "raw": list(action_registry.get(name).raw),
        }
        for name in action_registry.names()
    }


def _latest_record(tessera: Any, app_id: str, rt_key: str) -> int | None:
    """The newest record's id, through the query layer (the web layer writes no SQL)."""
    rows = tessera.queries.list(app_id, rt_key, sort="-id", limit=1, fields=["id"]).rows
    return rows[0]["id"] if rows else None


def test_draft_workflow(
    tessera: Any, data: dict[str, Any], key: str, record_id: int | None
) -> dict[str, Any]:
    """Dry-run workflow ``key`` of the draft ``data`` against a record of the installed app.

    Without ``record_id`` the newest record of the workflow's record type is the sample.
    Raises TemplateError when the draft does not validate, NotFound for an unknown
    workflow or record, TesseraError when the app is not installed yet.
    """
    app_id = data.get("id")
    if app_id not in tessera.registry.apps:
        raise TesseraError(_("Install the app first: test mode runs against its records."))
    app = app_from_data(data, f"<builder {app_id}>")
    wf = next((w for w in app.workflows if w.key == key), None)
    if wf is None:
        raise NotFound(_("The draft has no workflow “%(wf)s”.", wf=key))
    installed = tessera.registry.apps[app_id]
    if wf.record_type and not installed.has_record_type(wf.record_type):
        raise TesseraError(
            _("Apply the draft first: the installed app has no “%(rt)s” yet.", rt=wf.record_type)
        )
    if record_id is None and wf.record_type:
        record_id = _latest_record(tessera, app_id, wf.record_type)
    run = {"id": None, "app_id": app_id, "workflow_key": key, "record_id": record_id,
           "record_type": wf.record_type, "depth": 0, "vars": {}, "context": {}}  # fmt: skip
    state = RunState(tessera.automation.engine, run, wf, dry_run=True)
    if record_id is not None and state.record is None:
        raise NotFound(_("Record #%(id)s does not exist.", id=record_id))
    ok = state.condition(wf.when) if wf.when else None
    state.run_steps(wf.actions, "")
    return {"workflow": key, "record_id": record_id, "condition": ok, "steps": state.preview}


__all__ = ["test_draft_workflow"]
