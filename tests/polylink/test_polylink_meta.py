"""Template validation of polymorphic links, naming series and link kanbans: path, line, hint."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from polylink_app import SALES

from tessera.errors import TemplateError
from tessera.meta import app_from_data, dump_app, load_app

BASE = """\
id: shop
version: "1.0"
record_types:
  - key: customer
    title: name
    fields:
      - {key: name, type: text}
      - {key: amount, type: currency, currency: CNY}
  - key: lead
    fields:
      - {key: name, type: text}
      - {key: stage, type: link, to: customer}
  - key: note
    fields:
      - {key: about, type: link, to: [customer, lead]}
      - {key: number, type: auto_number, format: "N-{YYYY}-{###}"}
"""


def problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_app(path)
    return [str(p) for p in info.value.problems]


ABOUT = "{key: about, type: link, to: [customer, lead]}"
NUMBER = '{key: number, type: auto_number, format: "N-{YYYY}-{###}"}'
CASES = [
    (ABOUT, "{key: about, type: link, to: [customer, leed]}", "record_types[2].fields[0].to[1]",
     'record type "leed" does not exist — did you mean "lead"?', 15),
    (ABOUT, "{key: about, type: link, to: [customer]}", "record_types[2].fields[0].to", "", 15),
    (ABOUT, "{key: about, type: link, to: [customer, customer]}", "record_types[2].fields[0].to",
     "", 15),
    (NUMBER, '{key: number, type: auto_number, format: "N-{MM}-{###}"}',
     "record_types[2].fields[1].format", "{MM} without a year — add {YYYY}", 16),
    (NUMBER, '{key: number, type: auto_number, format: "N-{YYYY}"}',
     "record_types[2].fields[1].format", "needs exactly one counter", 16),
    (NUMBER, '{key: number, type: auto_number, format: "N-{Y}-{##}"}',
     "record_types[2].fields[1].format", 'unknown placeholder "{Y}" — use {YYYY}', 16),
    (NUMBER, '{key: number, type: auto_number, format: "N-{##}", prefix: "X"}',
     "record_types[2].fields[1].prefix", "prefix cannot be used with format", 16),
    (NUMBER, '{key: number, type: auto_number, format: "N-{YYYY}-{##}", timezone: Mars/Base}',
     "record_types[2].fields[1].timezone", 'unknown timezone "Mars/Base"', 16),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path", "message", "line"), CASES)
def test_field_problems(tmp_path, old, new, path, message, line):
    found = problems(tmp_path, BASE.replace(old, new))
    hit = [p for p in found if f"{path}:" in p or f"{path} " in p]
    assert hit, found
    assert message in hit[0]
    assert f"t.yaml:{line}" in hit[0]


VIEW = "views:\n  - {key: board, type: kanban, record_type: lead, group_by: %s%s}\n"
VIEW_CASES = [
    (("stage", ""), None),
    (("stage", ", lane_order: name"), None),
    (("stage", ", lane_order: nope"), 'views[0].lane_order: "nope" is not a field of customer'),
    (("name", ", lane_order: name"), "views[0].group_by: kanban group_by must be a select or link"),
    (("name", ""), 'kanban group_by must be a select or link field; "name" is a text'),
    (("stage", ", sums: [name]"), 'views[0].sums[0]: cannot total "name" in lane headers'),
]


@pytest.mark.parametrize(("args", "message"), VIEW_CASES)
def test_kanban_on_link_fields(tmp_path, args, message):
    text = BASE + VIEW % args
    if message is None:
        path = tmp_path / "ok.yaml"
        path.write_text(text, encoding="utf-8")
        assert load_app(path).views[0].group_by == "stage"
        return
    assert any(message in p for p in problems(tmp_path, text)), problems(tmp_path, text)


def test_poly_group_by_and_dotted_paths_are_refused(tmp_path):
    text = BASE + (
        "views:\n"
        "  - {key: board, type: kanban, record_type: note, group_by: about}\n"
        "  - {key: list, type: table, record_type: note, columns: [about.name]}\n"
    )
    found = problems(tmp_path, text)
    assert any("is a link to several types" in p for p in found), found
    assert any('"about" links several record types, so "about.name"' in p for p in found), found


def test_compiles_to_poly_link_and_dumps_back_as_link():
    app = app_from_data(yaml.safe_load(SALES))
    f = app.record_type("follow_up").field("regarding")
    assert (f.type, f.opt("to"), f.opt("on_delete")) == (
        "poly_link",
        ("lead", "customer", "deal"),
        "cascade",
    )
    dumped = dump_app(app)
    field = dumped["record_types"][4]["fields"][1]
    assert field["type"] == "link" and field["to"] == ["lead", "customer", "deal"]
    number = app.record_type("lead").field("number")
    assert "prefix" not in number.options and number.opt("format") == "LEAD-{YYYY}-{####}"
    assert app_from_data(dumped) == app


def test_field_type_coerces_formats_and_serialises():
    from tessera import fields
    from tessera.errors import FieldValueError
    from tessera.meta.model import Field, freeze

    ft = fields.get("poly_link")
    f = Field(key="regarding", type="poly_link", label=freeze({"en": "R"}),
              options=freeze({"to": ("lead", "customer")}))  # fmt: skip
    assert ft.coerce(f, {"type": "lead", "id": 3}) == "lead:3"
    assert ft.coerce(f, " customer : 12 ") == "customer:12"
    assert ft.coerce(f, {"type": "lead", "id": ""}) is None  # a type picked, no record yet
    assert ft.to_json(f, "customer:12") == {"type": "customer", "id": 12}
    assert ft.format(f, "customer:12") == "customer #12"
    for bad in ({"type": "deal", "id": 1}, "lead:x", [1], {"kind": "lead"}, True):
        with pytest.raises(FieldValueError):
            ft.coerce(f, bad)
