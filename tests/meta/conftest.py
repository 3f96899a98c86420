"""Helpers for template tests: write YAML text to a file, load it, collect problems."""

from __future__ import annotations

import textwrap

import pytest

from tessera.errors import Problem, TemplateError
from tessera.meta import load_app


@pytest.fixture
def problems(tmp_path):
    """problems(text, name="t.yaml") -> list of Problem from loading ``text``."""

    def run(text: str, name: str = "t.yaml") -> list[Problem]:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        with pytest.raises(TemplateError) as info:
            load_app(path)
        return info.value.problems

    return run


@pytest.fixture
def one(problems):
    """one(text) -> the single Problem of ``text`` (fails if there are more)."""

    def run(text: str, name: str = "t.yaml") -> Problem:
        found = problems(text, name)
        assert len(found) == 1, "\n".join(map(str, found))
        return found[0]

    return run
