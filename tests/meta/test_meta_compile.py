"""Compiling to Meta, dumping back, the library and DESIGN.md templates, label forms."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from meta_helpers import BASE, TEMPLATES

from tessera.errors import TemplateError
from tessera.meta import app_from_data, dump_app, load_app, load_source, validate_data
from tessera.meta.model import pick_label

LIBRARY = TEMPLATES / "library"
ALL_FIELD_TYPES = {
    "text", "long_text", "number", "currency", "percent", "boolean", "date", "datetime",
    "email", "phone", "url", "select", "multi_select", "link", "link_many", "user",
    "attachment", "auto_number", "formula", "rollup", "lookup", "rating",
}  # fmt: skip


@pytest.fixture(scope="module")
def library():
    return load_app(LIBRARY)


def test_library_uses_every_field_view_and_trigger_type(library):
    used = {f.type for rt in library.record_types for f in rt.fields}
    assert used == ALL_FIELD_TYPES
    assert {v.type for v in library.views} == {"table", "kanban", "calendar", "chart"}
    assert {v.options["chart_type"] for v in library.views if v.type == "chart"} == {
        "bar",
        "line",
        "pie",
    }
    triggers = {w.trigger["on"] for w in library.workflows}
    assert triggers == {
        "record.created", "record.updated", "record.deleted", "field.changed",
        "schedule", "date", "form.submitted", "webhook", "manual",
    }  # fmt: skip


def test_library_compiles_to_meta(library):
    assert library.id == "library" and library.version == "1.2.0"
    assert library.label == {"en": "Library", "zh-CN": "图书馆"}
    book = library.record_type("book")
    assert book.title == "title"
    assert book.indexes == (("genre", "published_on"), ("isbn",))
    assert book.field("isbn").unique and book.field("isbn").opt("pattern") == "^97[89][0-9]{10}$"
    assert book.field("authors").opt("to") == "author"
    assert book.field("genre").default == "fiction"
    assert book.field("tags").default == ("new",)
    assert book.field("price").opt("currency") == "CNY"
    assert book.field("sale_price").opt("result") == "currency"
    assert book.field("fines_collected").options == {
        "from": "loan", "via": "book", "aggregate": "sum", "field": "fine",
    }  # fmt: skip
    loan = library.record_type("loan")
    assert loan.title == "status" or loan.title is None or loan.has_field(loan.title)
    assert loan.validations[0].condition == {
        "field": "due_on", "op": "gte", "value": {"field": "borrowed_on"},
    }  # fmt: skip
    assert loan.validations[1].message == {"en": "A book cannot be returned before it was borrowed"}
    assert loan.validations[0].fields == ("due_on",)


def test_compile_fills_documented_defaults(library):
    book, member, loan = (library.record_type(k) for k in ("book", "member", "loan"))
    assert book.field("pages").opt("scale") == 0
    assert book.field("weight_kg").opt("scale") == 2
    assert book.field("stars").opt("max") == 5
    assert book.field("cover").opt("multiple") is False
    assert book.field("scans").opt("multiple") is True
    assert book.field("code").options == {"prefix": "BK-", "padding": 5, "start": 1}
    assert member.field("card_no").opt("start") == 1000
    assert loan.field("book").opt("on_delete") == "restrict"
    assert loan.field("days_out").opt("result") == "number"
    chart = next(v for v in library.views if v.key == "books_by_genre")
    assert chart.options["aggregate"] == "count" and chart.options["x"] == "genre"
    open_loans = next(v for v in library.views if v.key == "open_loans")
    assert open_loans.sort == ({"field": "due_on", "dir": "asc"},)


def test_labels_are_normalised(library):
    author = library.record_type("author")
    assert author.field("name").label == {"en": "Name", "zh-CN": "姓名"}
    assert author.field("born").label == {"en": "Born"}  # derived from the key
    assert author.field("bio").help == {"en": "A few lines about the author"}
    country = author.field("country").opt("options")
    assert country[0] == {"value": "cn", "label": {"en": "China", "zh-CN": "中国"}, "color": "red"}
    assert country[1]["label"] == {"en": "United Kingdom"}
    assert country[2] == {"value": "other", "label": {"en": "Other"}}
    loan = library.record_type("loan")
    assert loan.field("returned_on").label == {"en": "Returned on"}
    signup = next(f for f in library.forms if f.key == "member_signup")
    assert signup.sections[0].title == {"en": "About you", "zh-CN": "个人信息"}
    assert signup.sections[1].title == {"en": "Membership"}
    assert signup.options["submit_label"] == {"en": "Sign up", "zh-CN": "提交"}
    desk = next(f for f in library.forms if f.key == "loan_desk")
    assert desk.sections[0].title is None
    assert pick_label(loan.label, "zh-CN", "loan") == "借阅"


def test_label_only_in_chinese_gets_english_from_key(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        BASE.replace("  - key: order\n", "  - key: sales_order\n    label: {zh-CN: 订单}\n")
    )
    app = load_app(path)
    assert app.record_type("sales_order").label == {"zh-CN": "订单", "en": "Sales order"}


@pytest.mark.parametrize(
    ("label", "path", "message"),
    [
        ("42", "record_types[1].label", "expected text or mapping, found the number 42"),
        ("{EN: Order}", "record_types[1].label.EN", '"EN" is not a locale code'),
        ("{en: 42}", "record_types[1].label.en", "expected text, found the number 42"),
        ("{}", "record_types[1].label", "must not be empty"),
        ('""', "record_types[1].label", "must not be empty"),
    ],
)
def test_bad_labels(one, label, path, message):
    problem = one(BASE.replace("  - key: order\n", f"  - key: order\n    label: {label}\n"))
    assert (problem.path, problem.message, problem.line) == (path, message, 12)


def test_form_and_workflow_compile(library):
    signup = next(f for f in library.forms if f.key == "member_signup")
    assert signup.public and signup.record_type == "member"
    assert signup.sections[0].fields == ("name", "email", "phone")
    assert signup.visible_when == {"notes": {"field": "membership", "op": "eq", "value": "premium"}}
    wfs = {w.key: w for w in library.workflows}
    assert wfs["signup_received"].record_type == "member"  # taken from the form
    assert wfs["recount_copies"].enabled is False
    assert wfs["due_tomorrow"].trigger == {
        "on": "date", "field": "due_on", "offset": "-1d", "at": "09:00",
    }  # fmt: skip
    returned = wfs["book_returned"].actions[0]
    assert returned["do"] == "if" and returned["else"][0]["values"] == {"status": "returned"}


def test_meta_is_immutable(library):
    book = library.record_type("book")
    with pytest.raises(TypeError):
        book.field("genre").options["options"] = ()
    with pytest.raises(TypeError):
        library.workflows[0].trigger["on"] = "manual"
    with pytest.raises(AttributeError):
        book.key = "x"


def test_round_trip_dump_compile(library):
    data = dump_app(library)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data  # plain JSON data
    again = app_from_data(data)
    assert again == library
    assert dump_app(again) == data
    # and through YAML text, as `template export` would write it
    assert app_from_data(yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))) == library


def test_round_trip_keeps_everything(tmp_path):
    app = load_app(TEMPLATES / "design_complete.yaml")
    assert app_from_data(dump_app(app)) == app


def test_design_sketch_validates_but_for_the_undeclared_type(tmp_path):
    data, lines = load_source(TEMPLATES / "design_sketch.yaml")
    (problem,) = validate_data(data, lines)
    assert problem.path == "views[1].record_type"
    assert problem.message == 'record type "opportunity" does not exist'


def test_completed_design_sketch_loads():
    app = load_app(TEMPLATES / "design_complete.yaml")
    assert [rt.key for rt in app.record_types] == ["customer", "follow_up", "opportunity"]
    assert app.record_type("customer").field("tier").opt("options")[0]["label"] == {
        "en": "High value",
        "zh-CN": "高价值",
    }
    assert app.workflows[0].trigger == {"on": "schedule", "cron": "0 9 * * *"}
    assert app.views[1].group_by == "stage"


def test_app_from_data_reports_every_problem_at_once():
    data = yaml.safe_load(BASE)
    data["record_types"][0]["fields"][0]["type"] = "emial"
    data["record_types"][0]["fields"].append({"key": "id", "type": "text"})
    data["record_types"][1]["fields"][0]["to"] = "client"
    data["views"] = [{"key": "v", "type": "kanban", "record_type": "customer", "group_by": "name"}]
    with pytest.raises(TemplateError) as info:
        app_from_data(data, source_name="inline")
    found = [(p.path, p.message) for p in info.value.problems]
    assert found == [
        ("record_types[0].fields[0].type", 'unknown type "emial"'),
        ("record_types[0].fields[4].key", '"id" is a reserved field name'),
        ("record_types[1].fields[0].to", 'record type "client" does not exist'),
        ("views[0].group_by", 'kanban group_by must be a select or link field; "name" is a emial'),
    ]
    assert all(p.source == "inline" and p.line is None for p in info.value.problems)
    assert str(info.value).startswith("template has 4 problems:\n  record_types[0]")


def test_several_problems_in_a_file_come_in_line_order(problems):
    text = BASE.replace("{key: name, type: text}", "{key: name, type: txt}")
    text = text.replace("title: name", "title: nme").replace("to: customer", "to: client")
    text += "views:\n  - {key: v, type: table, record_type: order, columns: [totl]}\n"
    found = problems(text)
    assert [(p.line, p.path) for p in found] == [
        (5, "record_types[0].title"),
        (7, "record_types[0].fields[0].type"),
        (13, "record_types[1].fields[0].to"),
        (16, "views[0].columns[0]"),
    ]


def test_validate_data_accepts_plain_line_numbers():
    data = yaml.safe_load(BASE.replace("title: name", "title: nme"))
    (problem,) = validate_data(data, {"record_types[0].title": 5})
    assert problem.line == 5 and problem.source is None


def test_include_in_data_is_refused():
    data = yaml.safe_load(BASE)
    data["include"] = ["more.yaml"]
    with pytest.raises(TemplateError, match="include is resolved only when loading"):
        app_from_data(data)


def test_input_data_is_not_changed():
    data = yaml.safe_load(BASE)
    before = copy.deepcopy(data)
    app_from_data(data)
    assert data == before


def test_not_a_mapping():
    problems = validate_data(["id", "shop"])
    assert [(p.path, p.message) for p in problems] == [("", "expected mapping, found a list")]


def _paths(node, base=()):
    yield base
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for k, v in items:
        yield from _paths(v, (*base, k))


def test_damaged_templates_give_problems_never_crashes():
    """Replace each node of a valid template by a wrong value: problems, not exceptions."""
    data, _ = load_source(TEMPLATES / "design_complete.yaml")
    for path in list(_paths(data))[1:]:
        damaged = copy.deepcopy(data)
        target = damaged
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = 7
        problems = validate_data(damaged)
        if not problems:  # a few spots accept a number (e.g. min); then it must compile
            app_from_data(damaged)
