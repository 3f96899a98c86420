"""Roles in the template language: the schema, the semantic checks, Meta and the CRM's roles."""

from __future__ import annotations

import pytest
import yaml
from access_world import CRM

from tessera.errors import TemplateError
from tessera.meta import app_from_data, load_app
from tessera.meta.dump import dump_app

BASE = """
id: shop
version: 1.0.0
record_types:
  - key: customer
    fields:
      - {key: name, type: text}
      - {key: owner, type: user}
      - {key: tier, type: select, options: [{value: a}]}
      - {key: credit_limit, type: currency}
  - key: order
    fields:
      - {key: customer, type: link, to: customer}
      - {key: rep, type: user}
"""


def _app(roles: str):
    return app_from_data(yaml.safe_load(BASE + roles))


def _problems(roles: str) -> list[str]:
    with pytest.raises(TemplateError) as err:
        _app(roles)
    return [str(p) for p in err.value.problems]


def test_roles_compile_into_meta():
    app = _app(
        """
roles:
  - key: rep
    label: {en: Sales rep, zh-CN: 销售代表}
    permissions:
      customer: {create: all, read: own, update: team, fields: {credit_limit: none, tier: read}}
      order: {read: {field: customer.owner, op: eq, value: $me}, owner: rep}
      "*": {read: all}
"""
    )
    rep = app.role("rep")
    assert [r.key for r in app.roles] == ["rep"]
    assert rep.label == {"en": "Sales rep", "zh-CN": "销售代表"}
    customer = rep.permission("customer")
    assert (customer.create, customer.read, customer.update, customer.delete) == (
        "all",
        "own",
        "team",
        "none",
    )
    assert dict(customer.fields) == {"credit_limit": "none", "tier": "read"}
    assert rep.permission("order").owner == "rep"
    assert rep.permission("order").read["field"] == "customer.owner"
    assert rep.permission("anything").record_type == "*"
    with pytest.raises(KeyError):
        app.role("nope")
    assert app_from_data(dump_app(app)) == app  # the builder keeps roles


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (
            "roles: [{key: r, permissions: {custmer: {read: all}}}]",
            'roles[0].permissions.custmer: record type "custmer" does not exist'
            ' — did you mean "customer"?',
        ),
        (
            "roles: [{key: r, permissions: {customer: {read: sometimes}}}]",
            "roles[0].permissions.customer.read",
        ),
        (
            "roles: [{key: r, permissions: {customer: {read: {field: ownr, op: eq, value: $me}}}}]",
            'roles[0].permissions.customer.read.field: unknown field "ownr" on customer'
            ' — did you mean "owner"?',
        ),
        (
            "roles: [{key: r, permissions: {customer: {read: own, owner: name}}}]",
            'roles[0].permissions.customer.owner: "name" is a text, not a user field',
        ),
        (
            "roles: [{key: r, permissions: {customer: {fields: {tierr: none}}}}]",
            'roles[0].permissions.customer.fields.tierr: unknown field "tierr" on customer'
            ' — did you mean "tier"?',
        ),
        (
            "roles: [{key: r, permissions: {customer: {fields: {tier: hidden}}}}]",
            "roles[0].permissions.customer.fields.tier",
        ),
        (
            "roles: [{key: r, permissions: {customer: {raed: all}}}]",
            'roles[0].permissions.customer.raed: unknown key "raed" — did you mean "read"?',
        ),
        ("roles: [{key: admin}]", 'roles[0].key: role "admin" is built in'),
        ("roles: [{key: r}, {key: r}]", 'roles[1].key: duplicate role key "r"'),
        (
            'roles: [{key: r, permissions: {"*": {read: {field: name, op: eq, value: x}}}}]',
            "roles[0].permissions.*.read: a condition needs a named record type, not *",
        ),
    ],
)
def test_bad_roles_are_reported_with_path_and_hint(roles, expected):
    problems = _problems(roles)
    assert any(expected in p for p in problems), problems


def test_the_crm_ships_the_roles_with_english_and_chinese_labels():
    app = load_app(CRM)
    keys = [r.key for r in app.roles]
    for key in ("sales_rep", "sales_manager", "service_agent", "finance", "marketing", "viewer"):
        assert key in keys
        assert {"en", "zh-CN"} <= set(app.role(key).label)
    assert app.role("finance").permission("customer").fields["credit_limit"] == "write"
    assert app.role("sales_rep").permission("customer").fields["tier"] == "read"
    assert app.version == "2.0.0"


def _flow(key: str, **extra) -> dict:
    action = {"do": "notify", "to": "1", "message": "m"}
    trigger = {"on": "record.created"}
    return {"key": key, "record_type": "order", "trigger": trigger, "actions": [action], **extra}


def test_workflow_run_as_defaults_to_system():
    data = yaml.safe_load(BASE)
    data["workflows"] = [_flow("a"), _flow("b", run_as="triggering_user")]
    assert [w.run_as for w in app_from_data(data).workflows] == ["system", "triggering_user"]
    data["workflows"] = [_flow("a", run_as="bob")]
    with pytest.raises(TemplateError) as err:
        app_from_data(data)
    assert "workflows[0].run_as" in str(err.value)
