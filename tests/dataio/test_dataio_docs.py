"""Every data in/out setting the code reads is documented (STYLE point 10)."""

from __future__ import annotations

import re
from pathlib import Path

import tessera.dataio as package

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented():
    source = "".join(p.read_text() for p in Path(package.__file__).parent.glob("*.py"))
    used = set(re.findall(r'config\.get\("(IMPORT_[A-Z_]+)"', source))
    assert used == set(package.SETTINGS)
    readme = (REPO / "README.md").read_text()
    for key in package.SETTINGS:
        assert f"``{key}``" in package.__doc__, key
        assert f"`{key}`" in readme, key


def test_cli_commands_are_in_the_readme():
    readme = (REPO / "README.md").read_text()
    assert "`flask --app app import APP TYPE FILE" in readme
    assert "`flask --app app export APP VIEW" in readme


def test_template_import_block_is_checked_with_path_and_hint():
    import pytest
    import yaml

    import tessera.dataio.checks  # noqa: F401  (registers the check)
    from tessera.errors import TemplateError
    from tessera.meta import app_from_data

    text = """
id: shop
version: 1.0.0
record_types:
  - key: customer
    fields:
      - {key: name, type: text}
      - {key: phone, type: phone}
    import: {match: [phone, name+emial], aliases: {phon: [手机]}}
"""
    with pytest.raises(TemplateError) as info:
        app_from_data(yaml.safe_load(text))
    message = str(info.value)
    assert 'record_types[0].import.match[1]: customer has no field "emial"' in message
    assert 'record_types[0].import.aliases.phon: customer has no field "phon"' in message
    assert 'did you mean "phone"?' in message
    bad_shape = yaml.safe_load(text.replace("aliases: {phon: [手机]}", "aliases: {phone: 手机}"))
    with pytest.raises(TemplateError, match="import.aliases.phone"):
        app_from_data(bad_shape)
