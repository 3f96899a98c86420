"""Templates: load (YAML/JSON), validate (schemas/ + semantic checks), compile into Meta.

Public API::

    load_app(path) -> App                      file or folder; raises TemplateError
    app_from_data(data, source_name) -> App    already-parsed data; raises TemplateError
    validate_data(data, lines=None) -> list[Problem]
    load_source(path) -> (data, lines)         parse only (includes resolved)
    dump_app(app) -> dict                      plain data; app_from_data(dump_app(a)) == a
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tessera.errors import Problem, TemplateError
from tessera.meta.compile import compile_app
from tessera.meta.dump import dump_app
from tessera.meta.load import data_size_problem, load_source, template_file
from tessera.meta.model import App
from tessera.meta.validate import locate, validate_data

__all__ = [
    "app_from_data",
    "dump_app",
    "load_app",
    "load_source",
    "register_app_check",
    "validate_data",
]


def app_from_data(
    data: Any, source_name: str = "<data>", lines: Any = None, *, app_checks: bool = True
) -> App:
    """Validate template ``data`` and compile it into an App; TemplateError lists all problems.

    ``app_checks=False`` skips the downstream checks (for an app already installed: it
    passed them then, and must keep loading if a later release tightens them).
    """
    too_big = data_size_problem(data, source_name)
    if too_big:
        raise TemplateError([too_big])
    problems = validate_data(data, lines, source=source_name)
    if problems:
        raise TemplateError(problems)
    app = compile_app(copy.deepcopy(data), source_name)
    checks = APP_CHECKS if app_checks else []
    later = [locate(p, lines, source_name) for check in checks for p in check(app)]
    if later:
        raise TemplateError(later)
    return app


#: Checks run on the compiled App by layers downstream of meta (e.g. automation checks
#: workflow actions), registered through :func:`register_app_check` so meta imports none.
APP_CHECKS: list[Callable[[App], list[Problem]]] = []


def register_app_check(check: Callable[[App], list[Problem]]) -> None:
    """Add a check every loaded template must pass (idempotent)."""
    if check not in APP_CHECKS:
        APP_CHECKS.append(check)


def load_app(path: str | Path) -> App:
    """Load, validate and compile a template file or folder; TemplateError lists all problems."""
    data, lines = load_source(path)
    return app_from_data(data, str(template_file(Path(path))), lines)
