"""Static checks of workflows: action parameters and templates, and write/trigger loops.

:func:`problems` finds definition errors (unknown action, missing or unknown parameter,
a field that does not exist, a template that does not parse), each with its path, for
the template loader and the recipe installer. :func:`loop_warnings` finds workflows whose
writes can trigger themselves or each other in a cycle; they are warnings, since a ``when``
condition may stop the loop (and the depth guard stops it at run time anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tessera.automation import actions as registry
from tessera.automation import builtin  # noqa: F401  (registers the built-in actions)
from tessera.automation.render import template_problem
from tessera.errors import Problem
from tessera.meta import register_app_check
from tessera.meta.model import App, RecordType, Workflow, thaw


def problems(
    app: App, workflows: Iterable[Workflow] | None = None, prefix: str = "workflows"
) -> list[Problem]:
    """Every problem in the actions of ``workflows`` (default: the app's)."""
    found: list[Problem] = []
    for i, wf in enumerate(app.workflows if workflows is None else workflows):
        rt = (
            app.record_type(wf.record_type)
            if wf.record_type and app.has_record_type(wf.record_type)
            else None
        )
        found += action_problems(thaw(wf.actions), app, rt, f"{prefix}[{i}].actions")
        found += _webhook_problems(wf, f"{prefix}[{i}].trigger")
    return found


#: shortest secret an incoming-webhook trigger may have
WEBHOOK_SECRET_MIN = 16


def _webhook_problems(wf: Workflow, path: str) -> list[Problem]:
    """An incoming webhook needs a secret (callers send it in the X-Tessera-Secret header)."""
    trigger = thaw(wf.trigger)
    if trigger.get("on") != "webhook":
        return []
    secret = trigger.get("secret")
    if isinstance(secret, str) and len(secret) >= WEBHOOK_SECRET_MIN:
        return []
    return [
        Problem(
            f"{path}.secret",
            f"an incoming webhook needs a secret of at least {WEBHOOK_SECRET_MIN} characters",
            hint="e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            "; callers send it in the X-Tessera-Secret header",
        )
    ]


def action_problems(actions: Any, app: App, rt: RecordType | None, path: str) -> list[Problem]:
    """Problems of one list of actions (recursing into if/else)."""
    if not isinstance(actions, list):
        return [Problem(path, "must be a list of actions")]
    found: list[Problem] = []
    for j, action in enumerate(actions):
        where = f"{path}[{j}]"
        if not isinstance(action, Mapping) or not isinstance(action.get("do"), str):
            found.append(Problem(where, 'an action is a mapping with "do: ACTION"'))
            continue
        try:
            impl = registry.get(action["do"])
        except KeyError as exc:
            found.append(Problem(f"{where}.do", str(exc.args[0])))
            continue
        found += [_at(where, p) for p in impl.check(action, app, rt)]
        found += _template_problems(action, impl.raw, where)
        if action["do"] == "if":
            found += action_problems(action.get("then", []), app, rt, f"{where}.then")
            found += action_problems(action.get("else", []), app, rt, f"{where}.else")
    return found


def _at(where: str, problem: Problem) -> Problem:
    return Problem(f"{where}.{problem.path}", problem.message, hint=problem.hint)


def _template_problems(value: Any, raw: Sequence[str], where: str) -> list[Problem]:
    found: list[Problem] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key not in raw:
                found += _template_problems(item, (), f"{where}.{key}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            found += _template_problems(item, (), f"{where}[{k}]")
    elif isinstance(value, str) and ("{{" in value or "{%" in value):
        problem = template_problem(value)
        if problem:
            found.append(Problem(where, problem))
    return found


# --------------------------------------------------------------------------- loops


def writes(wf: Workflow) -> set[tuple[str, str | None]]:
    """(record type, field) pairs the workflow's actions can write; field None = a new record."""
    out: set[tuple[str, str | None]] = set()
    for action in _flatten(thaw(wf.actions)):
        do = action.get("do")
        if do == "update_record":
            rt = action.get("record_type") or wf.record_type
            out |= {(rt, key) for key in (action.get("values") or {})}
        elif do == "create_record":
            out.add((action.get("record_type"), None))
        elif do == "assign":
            out.add((wf.record_type, action.get("field", "owner")))
        elif do in ("increment", "decrement"):
            rt = action.get("record_type") or wf.record_type
            keys = [action["field"]] if "field" in action else list(action.get("fields") or {})
            out |= {(rt, key) for key in keys}
    return out


def _flatten(actions: Any) -> Iterable[Mapping[str, Any]]:
    for action in actions or ():
        if isinstance(action, Mapping):
            yield action
            if action.get("do") == "if":
                yield from _flatten(action.get("then"))
                yield from _flatten(action.get("else"))


def triggered_by(wf: Workflow, write: tuple[str, str | None]) -> bool:
    """True when a write of ``write`` (record type, field or None for create) can fire ``wf``."""
    rt, field = write
    on = wf.trigger.get("on")
    if not wf.enabled or wf.record_type != rt:
        return False
    if field is None:
        return on in ("record.created", "field.changed")
    if on == "record.updated":
        return True
    return on == "field.changed" and field in wf.trigger.get("fields", ())


def loop_warnings(app: App, workflows: Sequence[Workflow] | None = None) -> list[Problem]:
    """Warnings for workflows that re-trigger themselves or form a cycle with others."""
    wfs = list(app.workflows if workflows is None else workflows)
    edges = {w.key: {v.key for v in wfs if any(triggered_by(v, x) for x in writes(w))} for w in wfs}
    found: list[Problem] = []
    for i, wf in enumerate(wfs):
        if wf.key in edges[wf.key]:
            found.append(Problem(
                f"workflows[{i}]",
                f'workflow "{wf.key}" writes fields that trigger it again; make sure its "when" '
                "stops the loop (otherwise the depth guard, AUTOMATION_MAX_DEPTH, stops it)",
            ))  # fmt: skip
            continue
        cycle = _cycle(wf.key, edges)
        if cycle:
            found.append(Problem(
                f"workflows[{i}]",
                "workflows can trigger each other in a cycle: " + " -> ".join([*cycle, wf.key]),
            ))  # fmt: skip
    return found


def _cycle(start: str, edges: Mapping[str, set[str]]) -> list[str] | None:
    stack = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                return trail
            if nxt not in trail:
                stack.append((nxt, [*trail, nxt]))
    return None


def _template_check(app: App) -> list[Problem]:
    return problems(app)


register_app_check(_template_check)
