"""Every action and every automation setting is documented (STYLE point 10)."""

from __future__ import annotations

import tessera.automation as package
from tessera.automation import actions
from tessera.automation.service import DEFAULTS


def test_every_action_is_documented():
    for name in actions.names():
        action = actions.get(name)
        assert action.label, f"action {name} has no label"
        assert type(action).__doc__, f"action {name} has no docstring"
        assert name in package.__doc__, f"action {name} is not listed in tessera.automation"


def test_every_setting_is_documented():
    for key in DEFAULTS:
        assert f"``{key}``" in package.__doc__, f"setting {key} is not documented"
