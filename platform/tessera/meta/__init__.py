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
from pathlib import Path
from typing import Any

from tessera.errors import TemplateError
from tessera.meta.compile import compile_app
from tessera.meta.dump import dump_app
from tessera.meta.load import load_source, template_file
from tessera.meta.model import App
from tessera.meta.validate import validate_data

__all__ = ["app_from_data", "dump_app", "load_app", "load_source", "validate_data"]


def app_from_data(data: Any, source_name: str = "<data>", lines: Any = None) -> App:
    """Validate template ``data`` and compile it into an App; TemplateError lists all problems."""
    problems = validate_data(data, lines, source=source_name)
    if problems:
        raise TemplateError(problems)
    return compile_app(copy.deepcopy(data), source_name)


def load_app(path: str | Path) -> App:
    """Load, validate and compile a template file or folder; TemplateError lists all problems."""
    data, lines = load_source(path)
    return app_from_data(data, str(template_file(Path(path))), lines)
