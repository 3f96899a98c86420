"""Workflow builder: the same validator as YAML, and test mode against a chosen record."""

from __future__ import annotations

import json
import re

from web_helpers import csrf

from tessera.records.actor import Actor


def _draft(client) -> dict:
    html = client.get("/builder/crm").get_data(as_text=True)
    return json.loads(re.search(r'id="builder-boot">(.*?)</script>', html, re.S).group(1))["draft"]


def _welcome(**extra) -> dict:
    return {
        "key": "welcome",
        "label": {"en": "Welcome mail"},
        "record_type": "customer",
        "trigger": {"on": "record.created"},
        "actions": [
            {
                "do": "send_email",
                "to": "{{ record.email }}",
                "subject": "Welcome",
                "body": "Dear {{ record.name }}, welcome!",
            }
        ],
        **extra,
    }


def _test(client, data: dict, record_id=None, key: str = "welcome"):
    token = csrf(client, "/builder/")
    body = {"data": data, "workflow": key, "record_id": record_id}
    return client.post("/builder/crm/workflows/test", json=body, headers={"X-CSRF-Token": token})


def test_a_draft_workflow_is_tried_on_a_record_and_nothing_is_sent(client, tessera):
    rec = tessera.records.create(
        "crm", "customer", {"name": "Ann", "email": "ann@example.com"}, Actor(kind="system")
    )
    data = _draft(client)
    data["workflows"].append(_welcome())
    r = _test(client, data, rec["id"])
    assert r.status_code == 200, r.get_data(as_text=True)
    result = r.get_json()
    assert result["record_id"] == rec["id"] and result["condition"] is None
    out = result["steps"][0]["output"]
    assert out["to"] == ["ann@example.com"] and out["body"] == "Dear Ann, welcome!"
    # the sample defaults to the newest record; a condition that fails says so
    data["workflows"][-1]["when"] = {"field": "tier", "op": "eq", "value": "high"}
    result = _test(client, data).get_json()
    assert result["record_id"] == rec["id"] and result["condition"] is False
    with tessera.engine.connect() as conn:
        from tessera.automation.tables import runs

        assert conn.execute(runs.select()).first() is None  # a dry run leaves no run


def test_a_bad_workflow_gets_the_yaml_validators_problem_in_words(client):
    data = _draft(client)
    data["workflows"].append(_welcome(actions=[{"do": "emial", "to": "x"}]))
    token = csrf(client, "/builder/")
    saved = client.post("/builder/crm/draft", json={"data": data}, headers={"X-CSRF-Token": token})
    problems = saved.get_json()["problems"]
    mine = [p for p in problems if p["path"].startswith(f"workflows[{len(data['workflows']) - 1}]")]
    assert mine and "emial" in mine[0]["message"] and 'did you mean "email"' not in mine[0]["where"]
    assert mine[0]["where"] == "The ‘Welcome mail’ workflow · Steps"
    assert mine[0]["nav"] == f"wf-{len(data['workflows']) - 1}"
    r = _test(client, data)
    assert r.status_code == 422 and r.get_json()["problems"]


def test_test_mode_refusals_are_messages(client):
    data = _draft(client)
    assert _test(client, data, key="nope").status_code == 409
    assert _test(client, data, record_id="abc").status_code == 400
    data["workflows"].append(_welcome())
    r = _test(client, data, record_id=999999)
    assert r.status_code == 409 and "999999" in r.get_json()["error"]
