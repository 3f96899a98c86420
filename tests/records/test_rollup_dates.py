"""Min/max rollups over date fields ("last contact") store, filter and show as dates."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from tessera.errors import TemplateError
from tessera.fields.temporal import parse_datetime
from tessera.meta import app_from_data

CONTACTS = """
id: contacts
version: 1.0.0
record_types:
  - key: account
    title: name
    fields:
      - {key: name, type: text, required: true}
      - {key: last_call, type: rollup, from: call, via: account, aggregate: max, field: day}
      - {key: first_call, type: rollup, from: call, via: account, aggregate: min, field: day}
      - {key: last_seen, type: rollup, from: call, via: account, aggregate: max, field: at}
  - key: call
    fields:
      - {key: account, type: link, to: account, required: true, on_delete: cascade}
      - {key: day, type: date}
      - {key: at, type: datetime}
"""


@pytest.fixture
def t(flask_app):
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(CONTACTS)), CONTACTS)
    t.registry.reload()
    return t


def test_date_rollups_follow_the_dates(t):
    acme = t.records.create("contacts", "account", {"name": "Acme"})
    other = t.records.create("contacts", "account", {"name": "Quiet"})
    for day in ("2026-03-05", "2026-11-20", "2026-07-01"):
        t.records.create("contacts", "call", {"account": acme["id"], "day": day})
    t.records.create("contacts", "call", {"account": acme["id"], "at": "2026-11-30T08:15:00Z"})
    got = t.records.get("contacts", "account", acme["id"])
    assert got["last_call"] == dt.date(2026, 11, 20)
    assert got["first_call"] == dt.date(2026, 3, 5)
    assert parse_datetime(got["last_seen"]) == dt.datetime(2026, 11, 30, 8, 15, tzinfo=dt.UTC)
    assert t.records.get("contacts", "account", other["id"])["last_call"] is None

    recent = {"field": "last_call", "op": "gte", "value": "2026-11-01"}
    page = t.queries.list("contacts", "account", filter=recent)
    assert [r["name"] for r in page.rows] == ["Acme"]
    never = {"field": "last_call", "op": "is_empty"}
    assert [r["name"] for r in t.queries.list("contacts", "account", filter=never).rows] == [
        "Quiet"
    ]


def test_latest_date_moves_back_when_the_latest_call_goes(t):
    acme = t.records.create("contacts", "account", {"name": "Acme"})
    t.records.create("contacts", "call", {"account": acme["id"], "day": "2026-01-02"})
    late = t.records.create("contacts", "call", {"account": acme["id"], "day": "2026-02-03"})
    t.records.delete("contacts", "call", late["id"])
    assert t.records.get("contacts", "account", acme["id"])["last_call"] == dt.date(2026, 1, 2)


def test_max_of_text_is_refused_by_name():
    bad = yaml.safe_load(CONTACTS.replace("field: day}", "field: account}", 1))
    bad["record_types"][1]["fields"].append({"key": "topic", "type": "text"})
    bad["record_types"][0]["fields"][1]["field"] = "topic"
    with pytest.raises(TemplateError) as info:
        app_from_data(bad)
    text = str(info.value)
    assert 'cannot take the max of "topic": it is a text' in text
    assert "record_types[0].fields[1].field" in text
