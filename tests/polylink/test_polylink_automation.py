"""Workflows see through a polymorphic link: ``{{ record.regarding.name }}``, and a
workflow condition filters by the linked record's type."""

from __future__ import annotations

import yaml
from polylink_app import SALES

from tessera import users
from tessera.automation import tables
from tessera.meta import app_from_data
from tessera.storage import installer


def _drain(t, rounds: int = 20) -> None:
    """Relay and work until two rounds in a row find nothing (one idle round can be a
    relay that lost its lease turn on a loaded machine)."""
    auto = t.automation
    idle = 0
    for _ in range(rounds):
        relayed = auto.relay_once()
        worked = auto.make_worker().work(burst=True, logging_level="WARNING")
        idle = 0 if relayed or worked else idle + 1
        if idle == 2:
            return


def test_message_names_the_record_a_follow_up_is_about(flask_app):
    t = flask_app.extensions["tessera"]
    data = yaml.safe_load(SALES)
    data["workflows"] = [
        {
            "key": "tell_ann",
            "record_type": "follow_up",
            "trigger": {"on": "record.created"},
            "when": {"field": "regarding", "op": "eq", "value": {"type": "customer"}},
            "actions": [
                {"do": "notify", "to": "ann", "message": "About {{ record.regarding.name }}"}
            ],
        }
    ]
    installer.install(t.engine, app_from_data(data), yaml.safe_dump(data))
    t.registry.reload()
    users.create_user(t.engine, "ann", "password123", display_name="Ann")
    acme = t.records.create("sales", "customer", {"name": "Acme"})
    lead = t.records.create("sales", "lead", {"name": "Lin"})
    t.records.create("sales", "follow_up", {"subject": "a", "regarding": f"customer:{acme['id']}"})
    t.records.create("sales", "follow_up", {"subject": "b", "regarding": f"lead:{lead['id']}"})
    _drain(t)
    with t.engine.connect() as conn:
        messages = [r.message for r in conn.execute(tables.notifications.select())]
    assert messages == ["About Acme"]  # the lead's follow-up did not match the condition
