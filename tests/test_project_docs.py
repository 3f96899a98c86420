"""The documentation stays true: the generated reference is current, every setting the code
reads is in the deployment guide's table, and no page points outside the repository."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tessera.meta import reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCE = ROOT / "platform" / "tessera"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

#: ``config.get("X"``, ``app.config["X"]``, ``cfg.setdefault("X"``, ``os.environ.get("X"``
SETTING_READ = re.compile(
    r"""\b\w*(?:config|cfg|environ)(?:\.get|\.setdefault)?\s*[\[(]\s*["']([A-Z][A-Z0-9_]+)["']"""
)


# -- the template-language reference ---------------------------------------------------


def test_template_language_reference_is_current():
    committed = (DOCS / "template-language.md").read_text(encoding="utf-8")
    fresh = reference.Reference(reference.load_schemas()).render()
    assert committed == fresh, (
        "docs/template-language.md is out of date with schemas/ (or the field-type and action "
        "registries): run `make docs` and commit the result"
    )


def test_reference_covers_every_field_type_action_and_operator():
    from tessera import fields
    from tessera.automation import actions
    from tessera.query.conditions import OPERATORS

    text = (DOCS / "template-language.md").read_text(encoding="utf-8")
    for name in fields.names():
        written = fields.WRITTEN_AS.get(name, name)  # poly_link is a `link` with a list `to`
        assert f"### Field type `{written}`" in text, name
    for name in actions.names():
        assert f"| `{name}` |" in text, name
    for op in OPERATORS:
        assert f"| `{op}` |" in text, op


def test_reference_takes_new_keys_and_types_without_code_changes(tmp_path):
    folder = tmp_path / "schemas"
    shutil.copytree(reference.SCHEMA_DIR, folder)
    path = folder / "field.json"
    field = json.loads(path.read_text(encoding="utf-8"))
    field["properties"]["type"]["enum"].append("stars")
    field["allOf"].append(
        {
            "if": {"properties": {"type": {"const": "stars"}}, "required": ["type"]},
            "then": {"$ref": "#/$defs/stars"},
        }
    )
    field["$defs"]["stars"] = {
        "description": "a made-up type",
        "type": "object",
        "properties": {
            **field["$defs"]["rating"]["properties"],
            "type": {"const": "stars"},
            "glow": {"type": "boolean", "default": False, "description": "they shine"},
        },
    }
    path.write_text(json.dumps(field), encoding="utf-8")
    (folder / "extra.json").write_text(
        json.dumps({"$id": "https://tessera.dev/schemas/extra.json", "title": "Extra",
                    "type": "object", "properties": {
                        "n": {"type": "integer"},
                        "anything": True,
                        "scope": {"oneOf": [{"enum": ["own", "all"]},
                                            {"$ref": "https://tessera.dev/schemas/condition.json"}]},
                    }}),
        encoding="utf-8",
    )  # fmt: skip

    ref = reference.Reference(reference.load_schemas(folder))
    text = ref.render()

    assert "### Field type `stars`" in text
    assert "| `glow` | `true`/`false` |  | `false` | they shine | `glow: true` |" in text
    assert "[`stars`](#field-type-stars)" in text
    assert "## Extra" in text and "| `n` | whole number |" in text
    assert "| `anything` | any value |" in text
    assert "| `scope` | one of `own`, `all` or [condition](#condition) |" in text
    assert "`scope: own`" in text
    assert "Extra: n: no description" in ref.missing


def test_reference_main_prints_the_page(capsys):
    assert reference.main([]) == 0
    assert capsys.readouterr().out == (DOCS / "template-language.md").read_text("utf-8")


# -- settings ------------------------------------------------------------------------------


def settings_in_code() -> set[str]:
    """Every configuration key the code reads or defaults."""
    from tessera import config
    from tessera.automation.service import DEFAULTS

    found = set(config.ENV_KEYS) | set(DEFAULTS) | set(config.load_config())
    for path in SOURCE.rglob("*.py"):
        found |= set(SETTING_READ.findall(path.read_text(encoding="utf-8")))
    return found


def settings_in_deploy_doc() -> set[str]:
    """The first column of the settings table in docs/deploy.md."""
    text = (DOCS / "deploy.md").read_text(encoding="utf-8")
    table = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, re.M))


def test_the_scan_finds_settings_read_all_ways():
    found = settings_in_code()
    for key in ("DATABASE_URL", "IMPORT_DIR", "MAX_CONTENT_LENGTH", "API_TOKEN_CACHE_SECONDS",
                "PUBLIC_FORM_LIMIT", "SMTP_HOST", "AUTOMATION_RETRY_INTERVALS"):  # fmt: skip
        assert key in found, key


def test_every_setting_is_in_the_deploy_guide():
    missing = sorted(settings_in_code() - settings_in_deploy_doc())
    assert not missing, (
        f"settings read by the code but missing from the settings table in docs/deploy.md: "
        f"{', '.join(missing)} — add a row (setting, set by, default, what it does)"
    )


def test_automation_settings_in_the_docstring_are_in_the_deploy_guide():
    from tessera import automation

    listed = set(re.findall(r"``([A-Z][A-Z0-9_]+)``", automation.__doc__ or ""))
    assert listed - {"REDIS_URL"} <= settings_in_deploy_doc()


# -- pages stand on their own ---------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pages_point_only_inside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    for bad in ("../", "DESIGN.md", "/work/", "shared/"):
        assert bad not in text, f"{page.name} mentions {bad!r}: point at files in this repository"
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        resolved = (page.parent / target.split("#", 1)[0]).resolve()
        assert ROOT in resolved.parents or resolved == ROOT, (
            f"{page.name}: {target} leaves the repo"
        )
        assert resolved.exists(), f"{page.name}: link to {target}, which does not exist"


def test_docs_pages_are_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


# -- examples in the schemas are valid -------------------------------------------------------


def schema_examples():
    """(file, JSON pointer, example) for every ``examples`` entry in schemas/."""
    for name, schema in reference.load_schemas().items():
        yield from _examples_in(name, schema, "")


def _examples_in(name, node, pointer):
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and pointer.rsplit("/", 1)[-1] != "properties":
            for example in node["examples"]:
                yield name, pointer, example
        for key, value in node.items():
            if key not in ("examples", "default", "const", "enum", "x-enumDescriptions"):
                escaped = key.replace("~", "~0").replace("/", "~1")
                yield from _examples_in(name, value, f"{pointer}/{escaped}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _examples_in(name, value, f"{pointer}/{i}")


def test_every_example_in_the_schemas_is_valid():
    from jsonschema import Draft202012Validator

    from tessera.meta.validate import SCHEMA_BASE, registry

    checked = 0
    for name, pointer, example in schema_examples():
        ref = {"$ref": f"{SCHEMA_BASE}{name}#{pointer}"}
        errors = list(Draft202012Validator(ref, registry=registry()).iter_errors(example))
        assert not errors, (
            f"schemas/{name} {pointer or '/'}: example {example!r}: {errors[0].message}"
        )
        checked += 1
    assert checked > 100
