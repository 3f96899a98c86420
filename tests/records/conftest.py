"""A small non-CRM app (projects, tasks) installed on a fresh database for each test."""

from __future__ import annotations

import pytest
import yaml

TRACKER = """
id: tracker
version: 1.0.0
label: {en: Tracker, zh-CN: 跟踪}
record_types:
  - key: project
    title: name
    fields:
      - {key: code, type: auto_number, prefix: "PRJ-", padding: 4}
      - {key: name, type: text, required: true, max_length: 50, unique: true}
      - {key: budget, type: currency, currency: CNY, min: 0}
      - key: status
        type: select
        default: active
        options: [{value: active}, {value: paused}, {value: done}]
      - {key: tags, type: multi_select, options: [{value: red}, {value: blue}]}
      - {key: owner, type: user}
      - {key: members, type: link_many, to: person}
      - {key: task_count, type: rollup, from: task, via: project, aggregate: count}
      - {key: hours_total, type: rollup, from: task, via: project, aggregate: sum, field: hours}
  - key: person
    title: name
    fields:
      - {key: name, type: text, required: true}
      - {key: email, type: email, unique: true}
  - key: task
    title: title
    fields:
      - {key: title, type: text, required: true}
      - {key: project, type: link, to: project, required: true, on_delete: cascade}
      - {key: hours, type: number, scale: 1, min: 0}
      - {key: done, type: boolean, default: false}
      - {key: due, type: date}
      - {key: cost, type: formula, formula: "hours * 100", result: number}
      - {key: project_status, type: lookup, link: project, field: status}
    validations:
      - when: {any: [{field: done, op: ne, value: true}, {field: hours, op: is_not_empty}]}
        message: {en: a done task needs its hours, zh-CN: 已完成的任务需要工时}
        fields: [hours]
  - key: note
    fields:
      - {key: body, type: long_text}
      - {key: project, type: link, to: project, on_delete: set_null}
  - key: milestone
    fields:
      - {key: name, type: text}
      - {key: project, type: link, to: project, on_delete: restrict}
"""


@pytest.fixture
def tessera(flask_app):
    """The runtime object of an app with the tracker template installed."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(yaml.safe_load(TRACKER)), TRACKER)
    t.registry.reload()
    return t


@pytest.fixture
def records(tessera):
    """The records service of that app."""
    return tessera.records
