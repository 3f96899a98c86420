"""Automation recipes: parameterised workflows in ``workflows/*.yaml`` (schema: recipe.json).

:func:`install_recipe` fills a recipe's ``${param}`` slots, checks the result like a
template's workflow (schema, conditions, fields, actions) and stores it in
``automation_recipes``; the automation layer then treats it like the app's own workflows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
import yaml

from tessera.automation import checks, tables
from tessera.automation.timing import parse_duration
from tessera.automation.workflows import workflows_of
from tessera.errors import Problem, TemplateError
from tessera.meta.load import TemplateLoader
from tessera.meta.model import App, RecordType

ROOT = Path(__file__).resolve().parents[3]
RECIPES_DIR = ROOT / "workflows"
SCHEMAS_DIR = ROOT / "schemas"
_SLOT = re.compile(r"\$\{([a-z][a-z0-9_]*)\}")
SYSTEM_DATES = ("created_at", "updated_at")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    from referencing import Registry, Resource

    schemas = [json.loads(p.read_text("utf-8")) for p in SCHEMAS_DIR.glob("*.json")]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    recipe = next(s for s in schemas if s["$id"].endswith("/recipe.json"))
    return jsonschema.Draft202012Validator(recipe, registry=registry)


def validate_recipe(data: Any, source: str = "<recipe>") -> list[Problem]:
    """Schema problems of recipe ``data``, each with its path."""
    return [
        Problem(".".join(map(str, e.absolute_path)) or "(recipe)", e.message, source=source)
        for e in sorted(
            _validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))
        )
    ]


def load_recipe(name_or_path: str | Path, directory: Path = RECIPES_DIR) -> dict[str, Any]:
    """A recipe by key (``workflows/<key>.yaml``) or path; TemplateError when invalid."""
    path = Path(name_or_path)
    if not path.suffix:
        path = directory / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(r["key"] for r in list_recipes(directory))
        raise TemplateError([Problem("recipe", f"no recipe {str(name_or_path)!r}; known: {known}")])
    data = yaml.load(path.read_text("utf-8"), Loader=TemplateLoader)  # noqa: S506 - safe loader
    found = validate_recipe(data, str(path))
    if found:
        raise TemplateError(found)
    return data


def list_recipes(directory: Path = RECIPES_DIR) -> list[dict[str, Any]]:
    """Every recipe in ``directory``: key, label, description, params."""
    out = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.load(path.read_text("utf-8"), Loader=TemplateLoader)  # noqa: S506
        out.append({k: data.get(k) for k in ("key", "label", "description", "params")})
    return out


def fill(recipe: Mapping[str, Any], rt: RecordType, params: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe's workflow with parameter values in place; TemplateError naming bad params."""
    values, problems = _params(recipe, rt, params)
    if problems:
        raise TemplateError(problems)
    return _substitute(recipe["workflow"], values)


def _params(recipe, rt: RecordType, given: Mapping[str, Any]) -> tuple[dict, list[Problem]]:
    specs = {p["key"]: p for p in recipe["params"]}
    problems = [
        Problem(
            f"params.{k}",
            f'recipe "{recipe["key"]}" has no parameter "{k}"',
            hint="known: " + ", ".join(specs),
        )
        for k in given
        if k not in specs
    ]
    values: dict[str, Any] = {}
    for key, spec in specs.items():
        if key not in given and "default" not in spec:
            if spec.get("required"):
                problems.append(Problem(f"params.{key}", "is required"))
            continue
        value = _coerce(spec, given.get(key, spec.get("default")))
        message = _param_problem(spec, value, rt)
        if message:
            problems.append(Problem(f"params.{key}", message))
        values[key] = value
    return values, problems


def _coerce(spec: Mapping[str, Any], value: Any) -> Any:
    """CLI values arrive as text: turn them into the parameter's type."""
    kind = spec["type"]
    if isinstance(value, str):
        if kind == "number":
            try:
                return float(value) if "." in value else int(value)
            except ValueError:
                return value
        if kind == "boolean":
            return value.lower() in ("1", "true", "yes", "on")
        if kind == "fields":
            return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _param_problem(spec: Mapping[str, Any], value: Any, rt: RecordType) -> str | None:
    kind = spec["type"]
    if kind == "number" and not isinstance(value, int | float):
        return f"{value!r} is not a number"
    if kind == "duration" and parse_duration(value) is None:
        return f"{value!r} is not a duration like 30m, 2h, -1d, 1w"
    if kind == "time" and not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", str(value)):
        return f"{value!r} is not a time of day HH:MM"
    if kind == "url" and not re.match(r"^https?://", str(value)):
        return f"{value!r} is not an http(s) URL"
    if kind in ("field", "fields"):
        for name in value if isinstance(value, list) else [value]:
            message = _field_problem(spec, name, rt)
            if message:
                return message
    return None


def _field_problem(spec: Mapping[str, Any], name: Any, rt: RecordType) -> str | None:
    wanted = spec.get("field_types")
    if name in SYSTEM_DATES:
        ok = not wanted or "datetime" in wanted
        return None if ok else f'"{name}" is a system date, not one of {", ".join(wanted)}'
    if not isinstance(name, str) or not rt.has_field(name):
        return f'{rt.key} has no field "{name}"'
    ftype = rt.field(name).type
    if wanted and ftype not in wanted:
        return f'"{name}" is a {ftype} field; this parameter needs one of: {", ".join(wanted)}'
    return None


def _substitute(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _SLOT.fullmatch(value)
        if whole:
            return values.get(whole.group(1))
        return _SLOT.sub(lambda m: str(values.get(m.group(1), "")), value)
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    if isinstance(value, Mapping):
        return {_substitute(k, values): _substitute(v, values) for k, v in value.items()}
    return value


def install_recipe(
    tessera: Any,
    app_id: str,
    record_type: str,
    recipe: str,
    params: Mapping[str, Any],
    key: str | None = None,
) -> str:
    """Install ``recipe`` onto ``app_id``.``record_type`` with ``params``; the workflow key.

    Raises TemplateError listing every problem (unknown record type or parameter, a field
    that does not exist or has the wrong type, a resulting workflow that does not check).
    """
    data = load_recipe(recipe)
    app = tessera.registry.app(app_id)
    if not app.has_record_type(record_type):
        raise TemplateError(
            [Problem("record_type", f'app "{app_id}" has no record type "{record_type}"')]
        )
    wf_data = fill(data, app.record_type(record_type), params)
    wf_key = key or f"{data['key']}_{record_type}"[:40]
    wf_data = {"key": wf_key, "record_type": record_type, "label": data["label"], **wf_data}
    _check(tessera, app, wf_data)
    with tessera.engine.begin() as conn:
        conn.execute(
            tables.installed_recipes.insert().values(
                app_id=app_id,
                workflow_key=wf_key,
                recipe=data["key"],
                params=dict(params),
                workflow=wf_data,
                installed_at=datetime.now(UTC),
            )  # fmt: skip
        )
    return wf_key


def _check(tessera: Any, app: App, wf_data: dict[str, Any]) -> None:
    """The workflow checks like one written in the template (schema, semantics, actions)."""
    from tessera.meta import app_from_data, dump_app, validate_data

    if any(w.key == wf_data["key"] for w in workflows_of(tessera, app.id)):
        raise TemplateError(
            [Problem("key", f'app "{app.id}" already has a workflow "{wf_data["key"]}"')]
        )
    data = dump_app(app)
    index = len(data.get("workflows", []))
    data["workflows"] = [*data.get("workflows", []), wf_data]
    prefix = f"workflows[{index}]"
    found = [p for p in validate_data(data) if p.path.startswith(prefix)]
    if not found:
        candidate = app_from_data(data)
        found = checks.problems(candidate, [candidate.workflows[index]], prefix="workflows")
        found = [
            Problem(p.path.replace("workflows[0]", prefix, 1), p.message, hint=p.hint)
            for p in found
        ]
    if found:
        raise TemplateError(found)


def uninstall_recipe(tessera: Any, app_id: str, workflow_key: str) -> None:
    """Remove an installed recipe workflow (its runs stay in the log)."""
    t = tables.installed_recipes
    with tessera.engine.begin() as conn:
        gone = conn.execute(
            t.delete().where(t.c.app_id == app_id, t.c.workflow_key == workflow_key)
        ).rowcount
    if not gone:
        raise TemplateError(
            [Problem("workflow", f'no recipe workflow "{workflow_key}" in "{app_id}"')]
        )


def installed(tessera: Any, app_id: str | None = None) -> list[dict[str, Any]]:
    """Installed recipe workflows: app, key, recipe, params, installed_at."""
    t = tables.installed_recipes
    query = sa.select(t.c.app_id, t.c.workflow_key, t.c.recipe, t.c.params, t.c.installed_at)
    if app_id:
        query = query.where(t.c.app_id == app_id)
    with tessera.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(t.c.id)).mappings()]
