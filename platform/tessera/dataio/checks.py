"""Semantic checks of a record type's ``import`` block (the schema checks its shape).

Each match field and alias key must be a field an import can write; the problem names
the path and the fix, like every template check.
"""

from __future__ import annotations

import difflib

from tessera.errors import Problem
from tessera.meta import register_app_check
from tessera.meta.model import App, thaw


def import_problems(app: App) -> list[Problem]:
    """Problems of every record type's ``import`` block."""
    data = thaw((app.source or {}).get("data") or {})
    found = []
    for i, rt in enumerate(data.get("record_types", ())):
        block = rt.get("import") or {}
        keys = [f.get("key") for f in rt.get("fields", ())]
        base = f"record_types[{i}].import"
        for j, spec in enumerate(block.get("match", ())):
            for part in str(spec).split("+"):
                if part not in keys:
                    found.append(_unknown(f"{base}.match[{j}]", part, rt.get("key"), keys))
        for key in block.get("aliases", {}):
            if key not in keys:
                found.append(_unknown(f"{base}.aliases.{key}", key, rt.get("key"), keys))
    return found


def _unknown(path: str, name: str, rt_key: str, keys: list[str]) -> Problem:
    close = difflib.get_close_matches(name, keys, n=1)
    hint = f'did you mean "{close[0]}"?' if close else f"fields: {', '.join(keys)}"
    return Problem(path, f'{rt_key} has no field "{name}"', hint=hint)


register_app_check(import_problems)
