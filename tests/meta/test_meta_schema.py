"""The JSON Schema files in schemas/: well-formed, linked by $id, usable on their own."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from meta_helpers import BASE, TEMPLATES

from tessera.meta import load_source
from tessera.meta.validate import SCHEMA_DIR, registry, validator

FILES = [
    "template.json", "record_type.json", "field.json", "view.json", "form.json",
    "workflow.json", "condition.json", "label.json",
]  # fmt: skip


@pytest.mark.parametrize("name", FILES)
def test_schema_file_is_a_draft_2020_12_schema_with_an_id(name):
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://tessera.dev/schemas/{name}"


def test_every_ref_resolves():
    reg = registry()

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for name in FILES:
        uri = f"https://tessera.dev/schemas/{name}"
        resolver = reg.resolver(base_uri=uri)
        for ref in refs(reg.contents(uri)):
            assert resolver.lookup(ref).contents is not None, (name, ref)


def test_field_schema_has_one_definition_per_field_type():
    schema = registry().contents("https://tessera.dev/schemas/field.json")
    types = schema["properties"]["type"]["enum"]
    assert len(types) == len(set(types)) >= 23  # the registry test below pins the names
    for name in types:
        definition = schema["$defs"][name]
        assert definition["additionalProperties"] is False, name
        assert definition["properties"]["type"] == {"const": name}


def test_field_types_match_the_fields_registry():
    from tessera import fields

    registered = set(fields.names())
    if not registered:
        pytest.skip("no field types registered yet")
    schema = registry().contents("https://tessera.dev/schemas/field.json")
    # poly_link is written `type: link` with a list `to` (fields.WRITTEN_AS)
    written = {fields.WRITTEN_AS.get(name, name) for name in registered}
    assert set(schema["properties"]["type"]["enum"]) == written
    assert set(fields.WRITTEN_AS) <= registered


def test_schema_alone_accepts_the_library_template():
    data, _ = load_source(TEMPLATES / "library")
    assert list(validator().iter_errors(data)) == []


def test_unknown_type_gives_one_problem_even_with_other_keys(one):
    problem = one(BASE.replace("{key: name, type: text}", "{key: name, type: emial, foo: 1}"))
    assert str(problem).endswith(
        'record_types[0].fields[0].type: unknown type "emial" — did you mean "email"?'
    )
