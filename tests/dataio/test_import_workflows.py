"""Imports firing workflows: "one summary event" reaches ``import.finished`` triggers.

End to end through the automation engine (relay + worker in the test's thread, the way
tests/automation drives it): the import writes one outbox event, the relay hands it to
the workflows of the imported record type, the run's steps read ``vars.import``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import yaml

from tessera.automation import tables
from tessera.dataio.importer import Importer, ImportOptions
from tessera.errors import TemplateError
from tessera.records.actor import Actor
from tessera.storage.events import outbox

SHOP = {
    "id": "shop",
    "version": "1.0.0",
    "label": "Shop",
    "record_types": [
        {
            "key": "customer",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "phone", "type": "phone"},
            ],
        },
        {
            "key": "supplier",
            "title": "name",
            "fields": [{"key": "name", "type": "text", "required": True}],
        },
        {
            "key": "note",
            "title": "text",
            "fields": [
                {"key": "text", "type": "text", "required": True},
                {"key": "count", "type": "number"},
            ],
        },
    ],
    "workflows": [
        {
            "key": "after_import",
            "record_type": "customer",
            "trigger": {"on": "import.finished"},
            "actions": [
                {
                    "do": "create_record",
                    "record_type": "note",
                    "values": {
                        "text": "{{ vars.import.file_name }}: {{ vars.import.created }} new, "
                        "{{ vars.import.refused }} refused (import {{ vars.import.id }})",
                        "count": "{{ vars.import.rows }}",
                    },
                }
            ],
        },
        {  # another record type's imports never start it
            "key": "supplier_import",
            "record_type": "supplier",
            "trigger": {"on": "import.finished"},
            "actions": [{"do": "create_record", "record_type": "note", "values": {"text": "x"}}],
        },
        {  # summary mode: no per-row events, so this never runs for imported rows
            "key": "per_customer",
            "record_type": "customer",
            "trigger": {"on": "record.created"},
            "actions": [{"do": "create_record", "record_type": "note", "values": {"text": "row"}}],
        },
    ],
}


@pytest.fixture
def shop(flask_app):
    """The runtime with the shop app installed."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(SHOP), yaml.safe_dump(SHOP))
    t.registry.reload()
    return t


def _drain(t, rounds: int = 20) -> None:
    """Relay and work in this thread until nothing is left."""
    auto = t.automation
    for _ in range(rounds):
        relayed = auto.relay_once()
        worked = auto.make_worker().work(burst=True, logging_level="WARNING")
        if not relayed and not worked:
            return


def _import(t, path, workflows: str, ref: str = "7"):
    options = ImportOptions(
        mapping={"名称": "name", "手机": "phone"}, workflows=workflows, skip_invalid=True
    )
    actor = Actor(kind="import", ref=ref)
    return Importer(t, "shop", "customer", path, options, actor, file_name="客户.csv").run()


def _notes(t) -> list[tuple]:
    table = t.registry.table("shop", "note")
    with t.engine.connect() as conn:
        return list(conn.execute(sa.select(table.c.text, table.c.count).order_by(table.c.id)))


def test_summary_event_starts_one_import_finished_run_with_the_counts(shop, write_csv):
    path = write_csv("名称,手机\n甲,13800138000\n乙,13900139000\n,13700137000\n")
    result = _import(shop, path, "summary")
    assert result.counts["created"] == 2 and result.counts["refused"] == 1
    _drain(shop)
    assert _notes(shop) == [("客户.csv: 2 new, 1 refused (import 7)", 3)]
    with shop.engine.connect() as conn:
        runs = conn.execute(
            sa.select(tables.runs.c.workflow_key, tables.runs.c.trigger, tables.runs.c.status,
                      tables.runs.c.record_id)
        ).all()  # fmt: skip
        events = conn.execute(
            sa.select(outbox.c.event, outbox.c.record_type, outbox.c.delivered_at).where(
                outbox.c.record_type != "note"
            )  # the workflow's own write
        ).all()
    assert runs == [("after_import", "import.finished", "done", None)]
    # one event for the whole import, none per imported customer; delivered
    assert [e[:2] for e in events] == [("import.finished", "_import")] and events[0][2]


def test_per_row_and_none_do_not_fire_import_finished(shop, write_csv):
    path = write_csv("名称,手机\n甲,13800138000\n")
    _import(shop, path, "per_row", ref="1")
    _drain(shop)
    assert _notes(shop) == [("row", None)]  # record.created ran once, after_import never
    _import(shop, write_csv("名称,手机\n乙,13900139000\n", name="b.csv"), "none", ref="2")
    _drain(shop)
    assert _notes(shop) == [("row", None)]


def test_import_finished_needs_a_record_type_and_takes_no_options():
    from tessera.meta import app_from_data

    flows = [{"key": "w", "trigger": {"on": "import.finished"},
              "actions": [{"do": "notify", "to": "x", "message": "m"}]}]  # fmt: skip
    with pytest.raises(TemplateError) as err:
        app_from_data({**SHOP, "workflows": flows})
    assert "workflows[0].record_type" in str(err.value) and "import.finished" in str(err.value)
    flows = [{**flows[0], "record_type": "customer", "trigger": {"on": "import.finished",
                                                               "fields": ["name"]}}]  # fmt: skip
    with pytest.raises(TemplateError) as err:
        app_from_data({**SHOP, "workflows": flows})
    assert "workflows[0].trigger" in str(err.value)
