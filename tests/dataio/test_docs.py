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
