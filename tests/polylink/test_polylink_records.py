"""Polymorphic links through the records service and the query layer, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tessera.errors import Conflict, ValidationFailed
from tessera.query import conditions

NOW = dt.datetime(2026, 12, 8, 9, tzinfo=dt.UTC)


@pytest.fixture
def world(sales):
    r = sales.records
    acme = r.create("sales", "customer", {"name": "Acme", "email": "buy@acme.cn"})
    lead = r.create("sales", "lead", {"name": "Lin"})
    deal = r.create("sales", "deal", {"name": "Big deal", "amount": "1000"})
    return sales, acme, lead, deal


def test_stored_as_one_indexed_text_column(world):
    sales, acme, *_ = world
    r = sales.records
    fu = r.create(
        "sales",
        "follow_up",
        {"subject": "call", "regarding": {"type": "customer", "id": acme["id"]}},
    )
    assert fu["regarding"] == f"customer:{acme['id']}"
    insp = sa.inspect(sales.engine)
    cols = {c["name"]: c for c in insp.get_columns("rt_sales_follow_up")}
    assert isinstance(cols["regarding"]["type"], sa.String)
    fks = [fk["constrained_columns"] for fk in insp.get_foreign_keys("rt_sales_follow_up")]
    assert ["regarding"] not in fks  # no foreign key: integrity is the service's
    indexed = [ix["column_names"] for ix in insp.get_indexes("rt_sales_follow_up")]
    assert ["regarding"] in indexed
    assert r.get("sales", "follow_up", fu["id"])["regarding"] == f"customer:{acme['id']}"


def test_every_input_form_and_the_by_value_reference(world):
    sales, acme, lead, deal = world
    r = sales.records
    made = [
        r.create("sales", "follow_up", {"subject": "a", "regarding": f"lead:{lead['id']}"}),
        r.create(
            "sales",
            "follow_up",
            {"subject": "b", "regarding": {"type": "deal", "id": str(deal["id"])}},
        ),
        r.create(
            "sales",
            "follow_up",
            {
                "subject": "c",
                "regarding": {"type": "customer", "by": "email", "value": "BUY@acme.cn"},
            },
        ),
        r.create(
            "sales",
            "follow_up",
            {"subject": "d", "regarding": {"type": "lead", "by": "title", "value": "Lin"}},
        ),
    ]
    assert [m["regarding"] for m in made] == [
        f"lead:{lead['id']}",
        f"deal:{deal['id']}",
        f"customer:{acme['id']}",
        f"lead:{lead['id']}",
    ]
    changed = r.update("sales", "follow_up", made[0]["id"], {"regarding": None})
    assert changed["regarding"] is None


BAD_VALUES = [
    ({"type": "customer", "id": 999}, "no Customer with id 999"),
    (
        {"type": "stage", "id": 1},
        '"stage" is not a record type this link points at (one of lead, customer, deal)',
    ),
    ({"id": 1}, "needs a record type: one of lead, customer, deal"),
    ({"type": "customer", "id": -1}, "not a record id (expected a positive whole number)"),
    (7, 'expected {"type": …, "id": …} naming a lead / customer / deal record'),
    ({"type": "customer", "by": "name", "value": "Nobody"}, "no customer with name 'Nobody'"),
    (
        {"by": "name", "value": "Acme"},
        "name the record type too: {type: lead | customer | deal, by: …, value: …}",
    ),
    (
        {"type": "customer", "by": "colour", "value": "x"},
        "customer has no stored field 'colour' to find records by",
    ),
]


def test_bad_values_name_the_field_and_write_nothing(world):
    sales, *_ = world
    for value, message in BAD_VALUES:
        with pytest.raises(ValidationFailed) as info:
            sales.records.create("sales", "follow_up", {"subject": "x", "regarding": value})
        assert info.value.fields == {"regarding": [message]}, value
    assert sales.queries.list("sales", "follow_up").rows == []


def test_bulk_create_checks_each_row(world):
    sales, acme, lead, _deal = world
    rows = [
        {"subject": "ok", "regarding": {"type": "customer", "id": acme["id"]}},
        {"subject": "gone", "regarding": {"type": "lead", "id": lead["id"] + 50}},
    ]
    with pytest.raises(ValidationFailed) as info:
        sales.records.bulk_create("sales", "follow_up", rows)
    assert info.value.rows == {"1": {"regarding": [f"no Lead with id {lead['id'] + 50}"]}}


def test_on_delete_cascade_restrict_and_set_null(world):
    sales, acme, lead, deal = world
    r = sales.records
    fu = r.create(
        "sales", "follow_up", {"subject": "s", "regarding": {"type": "customer", "id": acme["id"]}}
    )
    other = r.create(
        "sales", "follow_up", {"subject": "t", "regarding": {"type": "deal", "id": deal["id"]}}
    )
    note = r.create("sales", "note", {"body": "n", "about": {"type": "deal", "id": deal["id"]}})
    task = r.create(
        "sales", "task", {"title": "t", "about": {"type": "customer", "id": acme["id"]}}
    )
    r.create("sales", "task", {"title": "u", "about": {"type": "lead", "id": lead["id"]}})
    r.delete("sales", "customer", acme["id"])
    left = {row["id"] for row in sales.queries.list("sales", "follow_up").rows}
    assert left == {other["id"]}  # the customer's follow-up went with it (cascade), not the deal's
    assert fu["id"] not in left
    assert r.get("sales", "task", task["id"])["about"] is None  # set_null
    with pytest.raises(Conflict):  # restrict: the note still speaks about the deal
        r.delete("sales", "deal", deal["id"])
    r.delete("sales", "note", note["id"])
    r.delete("sales", "deal", deal["id"])
    assert sales.queries.list("sales", "follow_up").rows == []
    actions = [h["action"] for h in r.history("sales", "task", task["id"])]
    assert actions == ["create", "update"]  # set_null is an audited update


def test_same_id_of_another_type_is_not_touched(world):
    sales, acme, lead, deal = world
    r = sales.records
    assert acme["id"] == lead["id"] == deal["id"] == 1  # the point: equal ids, other types
    keep = r.create(
        "sales", "follow_up", {"subject": "lead", "regarding": {"type": "lead", "id": 1}}
    )
    r.create("sales", "follow_up", {"subject": "cust", "regarding": {"type": "customer", "id": 1}})
    r.delete("sales", "customer", 1)
    assert [row["id"] for row in sales.queries.list("sales", "follow_up").rows] == [keep["id"]]


FILTERS = [
    ({"field": "regarding", "op": "eq", "value": {"type": "customer", "id": 1}}, {"c"}),
    (
        {"field": "regarding", "op": "ne", "value": {"type": "customer", "id": 1}},
        {"l", "d", "none"},
    ),
    ({"field": "regarding", "op": "eq", "value": "deal:1"}, {"d"}),
    ({"field": "regarding", "op": "eq", "value": {"type": "lead"}}, {"l"}),
    ({"field": "regarding", "op": "ne", "value": {"type": "lead"}}, {"c", "d", "none"}),
    (
        {"field": "regarding", "op": "in", "value": [{"type": "lead"}, {"type": "deal", "id": 1}]},
        {"l", "d"},
    ),
    (
        {"field": "regarding", "op": "not_in", "value": [{"type": "customer", "id": 1}]},
        {"l", "d", "none"},
    ),
    ({"field": "regarding", "op": "is_empty"}, {"none"}),
    ({"field": "regarding", "op": "is_not_empty"}, {"c", "l", "d"}),
]


def test_filters_agree_in_sql_and_python(world):
    sales, *_ = world
    r = sales.records
    for subject, value in [("c", "customer:1"), ("l", "lead:1"), ("d", "deal:1"), ("none", None)]:
        r.create("sales", "follow_up", {"subject": subject, "regarding": value})
    app = sales.registry.apps["sales"]
    rt = app.record_type("follow_up")
    everything = sales.queries.list("sales", "follow_up").rows
    for cond, expected in FILTERS:
        rows = sales.queries.list("sales", "follow_up", filter=cond).rows
        assert {row["subject"] for row in rows} == expected, cond
        in_python = {
            row["subject"]
            for row in everything
            if conditions.evaluate(cond, row, rt, app, me=None, now=NOW)
        }
        assert in_python == expected, cond


BAD_FILTERS = [
    (
        {"field": "regarding", "op": "eq", "value": {"type": "stage"}},
        '"stage" is not a record type this link points at',
    ),
    (
        {"field": "regarding", "op": "contains", "value": "x"},
        '"contains" is not valid for poly_link field "regarding"',
    ),
    ({"field": "regarding", "op": "eq", "value": 3}, "is not a valid poly_link"),
    (
        {"field": "regarding.name", "op": "eq", "value": "x"},
        '"regarding" on follow_up is not a link',
    ),
]


def test_bad_filters_are_explained():
    import yaml
    from polylink_app import SALES

    from tessera.meta import app_from_data

    app = app_from_data(yaml.safe_load(SALES))
    for cond, message in BAD_FILTERS:
        problems = conditions.check(cond, app.record_type("follow_up"), app)
        assert problems and message in str(problems[0]), (cond, problems)


def test_expand_gives_type_title_and_record(world):
    sales, acme, lead, _deal = world
    r = sales.records
    r.create(
        "sales", "follow_up", {"subject": "a", "regarding": {"type": "customer", "id": acme["id"]}}
    )
    r.create(
        "sales", "follow_up", {"subject": "b", "regarding": {"type": "lead", "id": lead["id"]}}
    )
    page = sales.queries.list("sales", "follow_up", expand=["regarding"], sort="id")
    found = page.expanded["regarding"]
    assert found[f"customer:{acme['id']}"]["name"] == "Acme"
    assert found[f"lead:{lead['id']}"]["number"].startswith("LEAD-")


def test_merging_duplicates_repoints_polymorphic_links_and_export_keeps_the_pair(world):
    from tessera.dataio import merge
    from tessera.dataio.export import field_value
    from tessera.records.actor import SYSTEM

    sales, acme, *_ = world
    r = sales.records
    dup = r.create("sales", "customer", {"name": "ACME Ltd"})
    fu = r.create("sales", "follow_up", {"subject": "s", "regarding": f"customer:{dup['id']}"})
    merge.merge(sales, "sales", "customer", acme["id"], [dup["id"]], {}, SYSTEM)
    assert r.get("sales", "follow_up", fu["id"])["regarding"] == f"customer:{acme['id']}"
    f = sales.registry.apps["sales"].record_type("follow_up").field("regarding")
    assert field_value(f, f"customer:{acme['id']}", "en") == f"customer:{acme['id']}"


def test_renaming_a_target_record_type_rewrites_stored_links(world):
    import yaml
    from polylink_app import SALES

    from tessera.meta import app_from_data
    from tessera.storage import installer

    sales, acme, lead, _deal = world
    r = sales.records
    fu = r.create("sales", "follow_up", {"subject": "s", "regarding": f"customer:{acme['id']}"})
    other = r.create("sales", "follow_up", {"subject": "t", "regarding": f"lead:{lead['id']}"})
    data = yaml.safe_load(
        SALES.replace("- key: customer\n", "- key: client\n    renamed_from: customer\n")
    )
    data["record_types"][4]["fields"][1]["to"] = ["lead", "client", "deal"]
    data["record_types"][5]["fields"][1]["to"] = ["client", "deal"]
    data["record_types"][6]["fields"][1]["to"] = ["client", "lead"]
    data["version"] = "1.1.0"
    plan = installer.upgrade(sales.engine, app_from_data(data), yaml.safe_dump(data))
    sales.registry.reload()
    assert any("regarding values at client (was customer)" in line for line in plan.describe())
    assert r.get("sales", "follow_up", fu["id"])["regarding"] == f"client:{acme['id']}"
    assert r.get("sales", "follow_up", other["id"])["regarding"] == f"lead:{lead['id']}"


def test_dropping_a_target_type_is_refused_while_rows_point_at_it(world):
    import yaml
    from polylink_app import SALES

    from tessera.errors import InstallError
    from tessera.meta import app_from_data
    from tessera.storage import installer

    sales, acme, lead, _deal = world
    r = sales.records
    held = r.create("sales", "follow_up", {"subject": "s", "regarding": f"lead:{lead['id']}"})
    data = yaml.safe_load(SALES)
    data["record_types"][4]["fields"][1]["to"] = ["customer", "deal"]
    data["version"] = "1.1.0"
    with pytest.raises(InstallError, match="1 record"):
        installer.upgrade(sales.engine, app_from_data(data), yaml.safe_dump(data))
    assert r.get("sales", "follow_up", held["id"])["regarding"] == f"lead:{lead['id']}"
    r.update("sales", "follow_up", held["id"], {"regarding": f"customer:{acme['id']}"})
    installer.upgrade(sales.engine, app_from_data(data), yaml.safe_dump(data))
    sales.registry.reload()
    assert r.get("sales", "follow_up", held["id"])["regarding"] == f"customer:{acme['id']}"


def test_rollup_counts_records_regarding_each_target(world):
    sales, acme, lead, _deal = world
    r = sales.records
    one = r.create("sales", "follow_up", {"subject": "a", "regarding": f"customer:{acme['id']}"})
    r.create("sales", "follow_up", {"subject": "b", "regarding": f"customer:{acme['id']}"})
    r.create("sales", "follow_up", {"subject": "c", "regarding": f"lead:{lead['id']}"})
    assert r.get("sales", "customer", acme["id"])["follow_ups"] == 2  # lead:1 is not customer:1
    r.update("sales", "follow_up", one["id"], {"regarding": f"lead:{lead['id']}"})
    assert r.get("sales", "customer", acme["id"])["follow_ups"] == 1
    r.delete("sales", "follow_up", one["id"])
    assert r.get("sales", "customer", acme["id"])["follow_ups"] == 1
