"""The OpenAPI document: valid 3.1, one path set and schema per record type, true to responses."""

from __future__ import annotations

import jsonschema
import pytest
from jsonschema import Draft202012Validator

BASE = "/api/v1/sales"


@pytest.fixture
def doc(api):
    resp = api.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def test_document_is_valid_openapi_3_1(doc):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)
    assert doc["openapi"] == "3.1.0"


def test_every_component_schema_is_valid_json_schema(doc):
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises naming the bad keyword


def test_paths_per_record_type(doc):
    expected = {
        "/apps",
        "/openapi.json",
        *(
            f"/sales/{rt}{suffix}"
            for rt in ("customer", "order")
            for suffix in ("", "/{id}", "/bulk", "/{id}/history")
        ),
    }
    assert set(doc["paths"]) == expected
    assert set(doc["paths"]["/sales/customer"]) == {"get", "post"}
    assert set(doc["paths"]["/sales/customer/{id}"]) == {"parameters", "get", "patch", "delete"}
    ops = [
        op["operationId"] for p in doc["paths"].values() for k, op in p.items() if k != "parameters"
    ]
    assert len(ops) == len(set(ops))


def test_field_schemas_carry_type_format_enum(doc):
    props = doc["components"]["schemas"]["sales.customer"]["properties"]
    assert props["name"] == {"type": ["string", "null"], "maxLength": 50, "title": "Name"}
    assert props["email"] == {"type": ["string", "null"], "format": "email", "title": "Email"}
    assert props["tier"] == {
        "type": ["string", "null"],
        "enum": ["high", "low", None],
        "title": "Tier",
    }
    assert props["spent"]["type"] == ["string", "null"] and props["spent"]["format"] == "decimal"
    assert props["spent"]["x-currency"] == "CNY"
    assert props["visits"] == {"type": ["integer", "null"], "minimum": 0, "title": "Visits"}
    assert props["vip"]["type"] == ["boolean", "null"]
    assert props["since"]["format"] == "date"
    assert props["order_count"]["readOnly"] is True
    order = doc["components"]["schemas"]["sales.order"]["properties"]
    assert order["placed_at"]["format"] == "date-time"
    assert order["customer"]["type"] == ["integer", "null"]


def test_create_schema_requires_required_fields(doc):
    create = doc["components"]["schemas"]["sales.customer.create"]
    assert create["required"] == ["name"]
    assert "order_count" not in create["properties"] and create["additionalProperties"] is False
    assert create["properties"]["name"]["type"] == "string"
    patch = doc["components"]["schemas"]["sales.customer.patch"]
    assert "required" not in patch and patch["properties"]["version"]["type"] == "integer"


def _resolved(doc, name):
    """The component schema with its $refs resolvable against the whole document."""
    return {**doc["components"]["schemas"][name], "components": doc["components"]}


def test_real_responses_match_their_schemas(api, doc):
    created = api.post(
        f"{BASE}/customer",
        json={"name": "Acme", "email": "a@b.cn", "spent": "1.5", "since": "2026-01-02"},
    ).get_json()
    jsonschema.validate(created, _resolved(doc, "sales.customer"))
    order = api.post(f"{BASE}/order", json={"ref": "O", "customer": 1, "amount": 3}).get_json()
    jsonschema.validate(order, _resolved(doc, "sales.order"))
    body = {"name": "Acme", "email": "a@b.cn", "spent": "1.5", "tier": "high"}
    jsonschema.validate(body, _resolved(doc, "sales.customer.create"))
    error = api.post(f"{BASE}/customer", json={}).get_json()
    jsonschema.validate(error, _resolved(doc, "Error"))


def test_document_follows_upgrades(api, tessera, doc):
    from tessera.meta import app_from_data
    from tessera.storage import installer

    extra = {
        "id": "crm2",
        "version": "1.0.0",
        "record_types": [{"key": "lead", "fields": [{"key": "name", "type": "text"}]}],
    }
    installer.install(tessera.engine, app_from_data(extra), None)
    tessera.registry.reload()
    again = api.get("/api/v1/openapi.json").get_json()
    assert "/crm2/lead" in again["paths"] and "crm2.lead" in again["components"]["schemas"]
