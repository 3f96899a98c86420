"""Validate template data: the JSON Schema in ``schemas/`` first, then semantic checks.

Every problem is collected (never stop at the first) and turned into a
:class:`~tessera.errors.Problem` with a path in the spelling
``record_types[1].fields[3].max_length``, the source line when a source map is given,
and a hint where the fix is likely (``unknown type "emial" — did you mean "email"?``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from tessera.errors import Problem
from tessera.meta.load import join_path

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
SCHEMA_BASE = "https://tessera.dev/schemas/"
IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]{0,39}$"

#: source map values: a line, or (source file, line) as load_source returns them
Lines = Mapping[str, Any]

#: how an enum's key reads in "unknown X" messages, when the key name itself reads badly
_ENUM_NAMES = {"on": "trigger", "op": "operator", "dir": "sort direction"}

_TYPE_NAMES = {
    "string": "text",
    "object": "mapping",
    "array": "list",
    "integer": "whole number",
    "number": "number",
    "boolean": "true or false",
    "null": "nothing",
}


@cache
def registry() -> Registry:
    """All schemas in ``schemas/``, addressable by their ``$id``."""
    resources = []
    for file in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(file.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator(name: str = "template.json") -> Draft202012Validator:
    """A validator for the schema ``name`` (template.json by default)."""
    schema = registry().contents(SCHEMA_BASE + name)
    return Draft202012Validator(schema, registry=registry())


def suggest(word: Any, choices: Iterable[str]) -> str | None:
    """``did you mean "x"?`` for the closest choice, or None."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


def describe(value: Any) -> str:
    """A short, user-facing description of a found value."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if value is None:
        return "nothing"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the text "{value}"'
    return "a list" if isinstance(value, list) else "a mapping"


def _path(parts: Iterable[str | int]) -> str:
    """A jsonschema path as a Problem path."""
    out = ""
    for part in parts:
        out = join_path(out, part)
    return out


def _last_name(parts: list[str | int]) -> str:
    """The last mapping key in a path (``type`` for ``fields[3].type``)."""
    names = [p for p in parts if isinstance(p, str)]
    return names[-1] if names else "value"


def _unknown_keys(err: ValidationError, path: str) -> list[Problem]:
    """One problem per key an ``additionalProperties: false`` schema refused."""
    props = err.schema.get("properties", {})
    if "patternProperties" in err.schema:  # a label map: the keys are locales
        hint = "use locale codes such as en, zh-CN"
        patterns = [re.compile(p) for p in err.schema["patternProperties"]]
        return [
            Problem(join_path(path, k), f'"{k}" is not a locale code', hint=hint)
            for k in err.instance
            if not any(p.search(k) for p in patterns)
        ]
    out = []
    for key in err.instance:
        if key in props:
            continue
        hint = suggest(key, props) or ("allowed keys: " + ", ".join(props))
        out.append(Problem(join_path(path, str(key)), f'unknown key "{key}"', hint=hint))
    return out


def _pattern(err: ValidationError, path: str) -> Problem:
    """A readable problem for a string that does not match its pattern."""
    if err.validator_value == IDENTIFIER_PATTERN:
        fixed = "".join(c if c.isalnum() else "_" for c in str(err.instance).lower())[:40]
        hint = err.schema.get("description", "")
        if fixed and fixed[0].isalpha():
            hint += f' (e.g. "{fixed}")'
        return Problem(path, f'"{err.instance}" is not a valid key', hint=hint)
    msg = f'"{err.instance}" is not in the expected format'
    return Problem(path, msg, hint=err.schema.get("description"))


def _enum(err: ValidationError, path: str, parts: list) -> Problem:
    """``unknown type "emial"`` with the closest allowed value as hint."""
    allowed = [str(v) for v in err.validator_value]
    hint = suggest(err.instance, allowed) or ("expected one of: " + ", ".join(allowed))
    if not isinstance(err.instance, str):
        return Problem(
            path, f"expected one of {', '.join(allowed)}, found {describe(err.instance)}"
        )
    what = _ENUM_NAMES.get(_last_name(parts), _last_name(parts))
    return Problem(path, f'unknown {what} "{err.instance}"', hint=hint)


def _type(err: ValidationError, path: str) -> Problem:
    """``expected a number, found the text "x"``."""
    expected = err.validator_value
    names = [_TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)]
    msg = f"expected {' or '.join(names)}, found {describe(err.instance)}"
    return Problem(path, msg, hint=err.schema.get("description"))


_SIMPLE = {
    "minItems": lambda e: "must not be empty" if e.validator_value == 1 else None,
    "minLength": lambda e: "must not be empty" if e.validator_value == 1 else None,
    "minProperties": lambda e: "must not be empty",
    "minimum": lambda e: f"must be at least {e.validator_value}, found {e.instance}",
    "maximum": lambda e: f"must be at most {e.validator_value}, found {e.instance}",
    "exclusiveMinimum": lambda e: f"must be more than {e.validator_value}, found {e.instance}",
    "uniqueItems": lambda e: "has duplicate entries",
    "maxProperties": lambda e: (
        "a condition is exactly one of {all: [...]}, {any: [...]}, {not: ...} "
        "or {field: F, op: OP, value: V}"
    ),
}


def schema_problem(err: ValidationError) -> list[Problem]:
    """Turn one jsonschema error into readable Problems (without lines yet)."""
    parts = list(err.absolute_path)
    path = _path(parts)
    kind = err.validator
    if kind == "additionalProperties":
        return _unknown_keys(err, path)
    if kind == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return [Problem(path, f'missing required key "{k}"') for k in missing]
    if kind == "enum":
        return [_enum(err, path, parts)]
    if kind == "type":
        return [_type(err, path)]
    if kind == "pattern":
        return [_pattern(err, path)]
    if kind in ("oneOf", "anyOf") and err.context:
        return schema_problem(best_match(err.context))
    text = _SIMPLE[kind](err) if kind in _SIMPLE else None
    # "must be at least 1" says it all; the key's description (reference text) would not help
    hint = None if text else err.schema.get("description")
    return [Problem(path, text or err.message, hint=hint)]


def schema_problems(data: Any) -> list[Problem]:
    """Every JSON Schema violation of ``data``, as Problems (without lines)."""
    out: list[Problem] = []
    for err in validator().iter_errors(data):
        out.extend(schema_problem(err))
    return out


def locate(problem: Problem, lines: Lines | None, source: str | None = None) -> Problem:
    """``problem`` with the line (and file) of its path, or of the nearest parent with one."""
    if problem.line or not lines:
        return problem if problem.source or not source else _with(problem, problem.line, source)
    path = problem.path
    while True:
        if path in lines:
            loc = lines[path]
            src, line = loc if isinstance(loc, tuple) else (source, loc)
            return _with(problem, line, problem.source or src or source)
        if not path:
            return _with(problem, None, problem.source or source)
        path = _parent(path)


def _with(p: Problem, line: int | None, source: str | None) -> Problem:
    """A copy of ``p`` with another line and source."""
    return Problem(p.path, p.message, line, p.hint, source)


def _parent(path: str) -> str:
    """``a.b[2]`` -> ``a.b`` -> ``a`` -> ``""``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def validate_data(
    data: Any, lines: Lines | None = None, source: str | None = None
) -> list[Problem]:
    """Every problem in template ``data`` (schema, then semantic), located via ``lines``."""
    from tessera.meta.checks import semantic_problems

    problems = schema_problems(data)
    try:
        problems += semantic_problems(data)
    except (TypeError, AttributeError, KeyError, ValueError):
        if not problems:  # on schema-valid data a crash is a bug, not a template problem
            raise
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(locate(p, lines, source))
    # in file order, so the list reads top to bottom like the template (stable sort)
    return sorted(out, key=lambda p: (p.source or "", p.line or 0))
