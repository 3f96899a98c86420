"""Column-to-field mapping: suggestions, template import defaults, and checks.

A column is suggested for a field when its header equals (ignoring case, blanks,
punctuation and full-width forms) the field's key, its label in any language, or an
alias the template declares under the record type's ``import.aliases``. A remembered
mapping (the last one used for this record type) wins over suggestions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tessera.fields import for_field
from tessera.fields.spreadsheet import halfwidth
from tessera.meta.model import App, Field, RecordType, thaw
from tessera.storage.naming import SYSTEM_COLUMNS

_NOISE = re.compile(r"[\s_\-.:：*（）()\[\]【】]+")


def norm_header(text: str) -> str:
    """A header reduced for comparison: ``"E-mail *"`` and ``"email"`` are equal."""
    return _NOISE.sub("", halfwidth(str(text)).casefold())


def importable_fields(rt: RecordType) -> list[Field]:
    """Fields an import may write (not computed)."""
    return [f for f in rt.fields if not for_field(f).computed and f.key not in SYSTEM_COLUMNS]


def import_defaults(app: App, rt: RecordType) -> dict[str, Any]:
    """The record type's declared ``import`` block: ``{match: [...], aliases: {...}}``."""
    data = thaw((app.source or {}).get("data") or {})
    for source_rt in data.get("record_types", ()):
        if source_rt.get("key") == rt.key:
            block = source_rt.get("import") or {}
            return {
                "match": list(block.get("match", ())),
                "aliases": dict(block.get("aliases", {})),
            }
    return {"match": [], "aliases": {}}


def names_of(f: Field, aliases: Mapping[str, Any]) -> set[str]:
    """Every normalised name a column may carry for ``f``."""
    names = {f.key}
    label = f.label
    if isinstance(label, str):
        names.add(label)
    elif isinstance(label, Mapping):
        names.update(str(v) for v in label.values())
    names.update(str(a) for a in aliases.get(f.key, ()))
    return {norm_header(n) for n in names if n}


def suggest(
    app: App, rt: RecordType, headers: list[str], remembered: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """{header: field key or None}: remembered choices, then key/label/alias matches."""
    aliases = import_defaults(app, rt)["aliases"]
    fields = importable_fields(rt)
    valid = {f.key for f in fields}
    by_name: dict[str, str] = {}
    for f in fields:
        for name in names_of(f, aliases):
            by_name.setdefault(name, f.key)
    out: dict[str, str | None] = {}
    used: set[str] = set()
    for h in headers:
        choice = (remembered or {}).get(h)
        if choice not in valid or choice in used:
            choice = by_name.get(norm_header(h))
        if choice in used:
            choice = None
        out[h] = choice
        if choice:
            used.add(choice)
    return out


def check(rt: RecordType, headers: list[str], mapping: Mapping[str, str | None]) -> list[str]:
    """Problems of a mapping: unknown columns/fields, a field fed by two columns."""
    problems = []
    valid = {f.key for f in importable_fields(rt)}
    seen: dict[str, str] = {}
    for column, key in mapping.items():
        if not key:
            continue
        if column not in headers:
            problems.append(
                f'--map: the file has no column "{column}" (columns: {", ".join(headers)})'
            )
        if key not in valid:
            problems.append(
                f'--map {column}={key}: {rt.key} has no field "{key}" an import can set'
            )
        elif key in seen:
            problems.append(f'columns "{seen[key]}" and "{column}" both map to field "{key}"')
        seen.setdefault(key, column)
    if not any(mapping.values()):
        problems.append("no column is mapped to a field: map at least one (--map COLUMN=FIELD)")
    return problems
