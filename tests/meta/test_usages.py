"""The usage finder: every place a field or record type is used, and removal with its uses."""

from __future__ import annotations

from pathlib import Path

from tessera.meta import validate_data
from tessera.meta.load import load_source
from tessera.meta.usages import (
    field_usages,
    record_type_usages,
    remove_field,
    remove_record_type,
)

CRM = Path(__file__).resolve().parents[2] / "templates_builtin" / "crm" / "template.yaml"


def crm() -> dict:
    return load_source(CRM)[0]


def _where(usages) -> set[tuple[str, str, str]]:
    return {(u.area, u.key, u.kind) for u in usages}


def test_a_field_is_found_in_views_forms_conditions_formulas_indexes_and_workflows():
    uses = field_usages(crm(), "opportunity", "stage")
    where = _where(uses)
    assert ("views", "pipeline", "group_by") in where  # a kanban grouped by it
    assert ("views", "forecast_by_stage", "x") in where  # a chart of it
    assert ("record_types", "opportunity", "index") in where
    assert ("record_types", "opportunity", "validation") in where
    assert ("forms", "opportunity_form", "section") in where
    assert ("forms", "opportunity_form", "rule") in where  # lost_reason shows when stage=lost
    assert ("views", "opportunities", "column") in where
    # paths point into the original data, never at a shifted index
    data = crm()
    for u in uses:
        assert data[u.area][u.index]["key"] == u.key


def test_removing_a_field_removes_its_uses_and_the_result_validates():
    data = crm()
    new, uses = remove_field(data, "opportunity", "stage")
    assert uses
    assert validate_data(new) == []
    assert "pipeline" not in {v["key"] for v in new["views"]}  # kanban cannot live without it
    form = next(f for f in new["forms"] if f["key"] == "opportunity_form")
    assert "stage" not in [k for s in form["sections"] for k in s["fields"]]
    assert "visible_when" not in form  # the only rule tested stage: the field now always shows
    assert data == crm()  # the input is untouched


def test_formulas_lookups_and_rollups_over_the_field_go_with_it():
    data = crm()
    new, uses = remove_field(data, "opportunity", "amount")
    assert ("record_types", "opportunity", "computed_field") in _where(uses)
    opp = next(r for r in new["record_types"] if r["key"] == "opportunity")
    assert "forecast" not in [f["key"] for f in opp["fields"]]  # formula amount * probability
    # ...and the forecast chart that summed the formula loses its value (counts instead)
    chart = next(v for v in new["views"] if v["key"] == "forecast_by_stage")
    assert "value" not in chart and chart["aggregate"] == "count"
    assert validate_data(new) == []

    new, uses = remove_field(crm(), "customer", "tier")
    follow = next(r for r in new["record_types"] if r["key"] == "follow_up")
    assert "customer_tier" not in [f["key"] for f in follow["fields"]]  # lookup customer.tier
    assert ("roles", "sales_rep", "permission") in _where(uses)
    assert validate_data(new) == []

    new, uses = remove_field(crm(), "opportunity", "customer")  # the rollup counts via it
    customer = next(r for r in new["record_types"] if r["key"] == "customer")
    assert "open_opportunities" not in [f["key"] for f in customer["fields"]]
    assert validate_data(new) == []


def test_a_workflow_condition_step_and_trigger_are_uses():
    uses = field_usages(crm(), "follow_up", "next_at")
    assert ("workflows", "follow_up_reminder", "trigger") in _where(uses)
    new, _ = remove_field(crm(), "follow_up", "next_at")
    assert "follow_up_reminder" not in {w["key"] for w in new["workflows"]}
    # a step whose text mentions the field is taken out, the rest of the workflow stays
    data = crm()
    rfm = next(w for w in data["workflows"] if w["key"] == "customer_rfm")
    told = {"do": "notify", "to": "role:sales_manager", "message": "{{ record.owner.name }}"}
    rfm["actions"].insert(0, told)
    kept = [a["do"] for a in rfm["actions"][1:]]
    new, uses = remove_field(data, "customer", "owner")
    rfm = next(w for w in new["workflows"] if w["key"] == "customer_rfm")
    assert [a["do"] for a in rfm["actions"]] == kept
    assert validate_data(new) == []


def test_a_permission_rule_that_tested_the_field_denies_instead_of_granting_more():
    new, uses = remove_field(crm(), "ticket", "assignee")
    agent = next(r for r in new["roles"] if r["key"] == "service_agent")
    assert agent["permissions"]["ticket"]["update"] == "none"
    assert validate_data(new) == []


def test_an_unused_field_has_no_uses():
    assert field_usages(crm(), "ticket", "attachments") == [
        u for u in field_usages(crm(), "ticket", "attachments") if u.area == "forms"
    ]
    assert record_type_usages(crm(), "no_such_type") == []


def test_removing_a_record_type_takes_links_views_forms_workflows_and_roles():
    data = crm()
    new, uses = remove_record_type(data, "customer")
    where = _where(uses)
    assert ("views", "customers", "record_type") in where
    assert ("forms", "customer_form", "record_type") in where
    assert ("workflows", "dormant_win_back", "record_type") in where
    assert ("record_types", "follow_up", "link_field") in where
    assert ("roles", "finance", "permission") in where
    assert "customer" not in {r["key"] for r in new["record_types"]}
    for rt in new["record_types"]:
        assert all(f.get("to") != "customer" for f in rt["fields"])
    assert validate_data(new) == []


def test_a_renamed_away_filter_leaf_through_a_link_is_found():
    data = crm()
    data["views"].append(
        {"key": "vip_tickets", "type": "table", "record_type": "ticket",
         "filter": {"all": [{"field": "customer.tier", "op": "eq", "value": "high"},
                            {"field": "status", "op": "ne", "value": "closed"}]}}
    )  # fmt: skip
    new, uses = remove_field(data, "customer", "tier")
    assert ("views", "vip_tickets", "filter") in _where(uses)
    view = next(v for v in new["views"] if v["key"] == "vip_tickets")
    assert view["filter"] == {"all": [{"field": "status", "op": "ne", "value": "closed"}]}


def test_a_polymorphic_link_keeps_its_other_targets():
    data = crm()
    follow = next(r for r in data["record_types"] if r["key"] == "follow_up")
    follow["fields"].append(
        {"key": "regarding", "type": "link", "to": ["customer", "opportunity", "ticket"]}
    )
    new, uses = remove_record_type(data, "ticket")
    assert ("record_types", "follow_up", "link_target") in _where(uses)
    follow = next(r for r in new["record_types"] if r["key"] == "follow_up")
    regarding = next(f for f in follow["fields"] if f["key"] == "regarding")
    assert regarding["to"] == ["customer", "opportunity"]
    assert validate_data(new) == []
    new, _ = remove_record_type(new, "opportunity")
    follow = next(r for r in new["record_types"] if r["key"] == "follow_up")
    assert next(f for f in follow["fields"] if f["key"] == "regarding")["to"] == "customer"


def test_a_dashboard_tile_of_a_removed_view_goes_and_an_empty_dashboard_too():
    data = crm()
    data["views"].append(
        {"key": "only_funnel", "type": "dashboard", "widgets": [{"view": "pipeline_funnel"}]}
    )
    new, uses = remove_field(data, "opportunity", "stage")
    keys = {v["key"] for v in new["views"]}
    assert "pipeline_funnel" not in keys and "only_funnel" not in keys
    shown = {w["view"] for v in new["views"] for w in v.get("widgets") or []}
    assert shown <= keys
    assert ("views", "only_funnel", "widget") in _where(uses)
    assert validate_data(new) == []
