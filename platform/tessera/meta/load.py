"""Read a template from disk: YAML or JSON file, or a folder holding ``template.yaml``.

Besides the data, loading returns a *source map*: JSON path (``record_types[1].fields[3]``,
the same spelling :class:`~tessera.errors.Problem` uses) -> ``(file, line)``, so every
later problem can point at the line to fix.

The YAML dialect is YAML 1.1 as PyYAML reads it, with three changes made because
template authors trip on them: ``on``/``off``/``yes``/``no`` stay strings (``trigger:
{on: schedule}`` must not become ``{True: ...}``), dates stay strings (JSON has no
date type), and duplicate mapping keys are an error instead of last-one-wins.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tessera.errors import Problem, TemplateError

#: JSON path -> (source file, 1-based line)
SourceMap = dict[str, tuple[str | None, int]]

FOLDER_ENTRY = "template.yaml"
#: lists an ``include``d file may contribute; they are appended to the main file's
MERGED_LISTS = ("record_types", "views", "forms", "workflows")

_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_DROPPED_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}


# libyaml's parser is ~10x faster; marks (lines) and errors are the same
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TemplateLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader without yes/no/on/off booleans or timestamps (see module docstring)."""


TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
TemplateLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))


def join_path(base: str, part: str | int) -> str:
    """Append a key or list index to a JSON path in Problem spelling."""
    if isinstance(part, int):
        return f"{base}[{part}]"
    return f"{base}.{part}" if base else str(part)


def _walk(node: yaml.Node, path: str, source: str | None, out: SourceMap, dups: list) -> None:
    """Record the line of every node under ``node`` and any duplicate mapping keys."""
    out.setdefault(path, (source, node.start_mark.line + 1))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, join_path(path, i), source, out, dups)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            child = join_path(path, key)
            if key in seen:
                dups.append(
                    Problem(
                        child,
                        f'duplicate key "{key}" (first at line {seen[key]})',
                        line,
                        "remove one of them; YAML would silently keep only the last",
                        source,
                    )
                )
                continue
            seen[key] = line
            out[child] = (source, line)  # the key's own line beats its value's
            _walk(value_node, child, source, out, dups)


#: bounds on one template: nesting depth, and nodes once every alias is expanded (a
#: "billion laughs" document of a few hundred bytes expands to billions)
MAX_DEPTH = 64
MAX_NODES = 200_000


def _size_problem(root: yaml.Node, source: str) -> Problem | None:
    """A Problem when the document nests too deep or its aliases expand too far."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = _children(node)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[key] > MAX_DEPTH or size[key] > MAX_NODES:
                return _too_big(node, source, depth[key] > MAX_DEPTH)
            continue
        if key in size:
            continue
        if key in open_:
            return Problem("", "an alias refers to itself", node.start_mark.line + 1, None, source)
        open_.add(key)
        stack.append((node, True))
        stack += [(k, False) for k in kids if id(k) not in size]
    return None


def data_size_problem(data: Any, source: str | None = None) -> Problem | None:
    """The same bounds for data from JSON or the builder: a Problem when too deep or large."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            over = depth > MAX_DEPTH
            what = f"nests more than {MAX_DEPTH} levels deep" if over else "is too large"
            return Problem("", f"the template {what}", None, None, source)
        if isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _too_big(node: yaml.Node, source: str, deep: bool) -> Problem:
    line = node.start_mark.line + 1
    if deep:
        msg = f"the template nests more than {MAX_DEPTH} levels deep"
        return Problem(
            "", msg, line, "flatten it: lists and conditions take any number of items", source
        )
    msg = (
        f"the template expands to more than {MAX_NODES} values (YAML aliases repeat whole subtrees)"
    )
    return Problem("", msg, line, "write the values out instead of nesting aliases", source)


def _syntax_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    """A Problem for a YAML syntax error, with its line and column."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    column = f", column {mark.column + 1}" if mark else ""
    what = " ".join(x for x in (exc.context, exc.problem) if x) or "malformed YAML"
    return Problem("", f"malformed YAML{column}: {what}", line, None, source)


def parse_yaml(text: str, source: str) -> tuple[Any, SourceMap]:
    """Parse YAML text into plain data and its source map; TemplateError when malformed."""
    loader = TemplateLoader(text)
    try:
        node = loader.get_single_node()
        lines: SourceMap = {}
        dups: list[Problem] = []
        too_big = _size_problem(node, source) if node is not None else None
        if too_big:
            raise TemplateError([too_big])
        if node is not None:
            _walk(node, "", source, lines, dups)
        if dups:
            raise TemplateError(dups)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise TemplateError([_syntax_problem(exc, source)]) from None
    except yaml.YAMLError as exc:
        raise TemplateError([Problem("", f"malformed YAML: {exc}", None, None, source)]) from None
    except RecursionError:
        msg = f"the template nests more than {MAX_DEPTH} levels deep"
        raise TemplateError([Problem("", msg, None, None, source)]) from None
    finally:
        loader.dispose()
    return data, lines


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object_pairs_hook refusing duplicate keys."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f'duplicate key "{key}"')
        out[key] = value
    return out


def parse_json(text: str, source: str) -> tuple[Any, SourceMap]:
    """Parse JSON text; lines come from reading it again as YAML (a JSON superset) if it can."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        msg = f"malformed JSON, column {exc.colno}: {exc.msg}"
        raise TemplateError([Problem("", msg, exc.lineno, None, source)]) from None
    except ValueError as exc:
        _lines_or_empty(text, source)  # raises with a line when YAML can locate the duplicate
        raise TemplateError([Problem("", str(exc), None, None, source)]) from None
    return data, _lines_or_empty(text, source)[1]


def _lines_or_empty(text: str, source: str) -> tuple[Any, SourceMap]:
    """Best-effort source map of JSON text (YAML 1.1 rejects a few JSON escapes)."""
    try:
        return parse_yaml(text, source)
    except TemplateError as exc:
        dup = [p for p in exc.problems if p.message.startswith("duplicate key")]
        if dup:
            raise TemplateError(dup) from None
        return None, {}


def read_file(path: Path) -> tuple[Any, SourceMap]:
    """Parse one YAML or JSON file (by extension; ``.json`` is JSON, anything else YAML)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = Problem("", f"cannot read file: {exc.strerror}", None, None, source)
        raise TemplateError([problem]) from None
    if path.suffix.lower() == ".json":
        return parse_json(text, source)
    return parse_yaml(text, source)


def _shift(lines: SourceMap, key: str, offset: int) -> SourceMap:
    """Re-index an included file's ``key[i]...`` paths by ``offset``."""
    out: SourceMap = {}
    prefix = f"{key}["
    for path, loc in lines.items():
        if path.startswith(prefix):
            index, rest = path[len(prefix) :].split("]", 1)
            out[f"{key}[{int(index) + offset}]{rest}"] = loc
    return out


def _merge_include(data: dict, lines: SourceMap, inc_path: Path, where: str) -> list[Problem]:
    """Append the lists of one included file to ``data``; problems if it cannot be."""
    try:
        inc, inc_lines = read_file(inc_path)
    except TemplateError as exc:
        return exc.problems
    if not isinstance(inc, dict):
        return [Problem(where, f'included file "{inc_path.name}" must hold a mapping')]
    extra = sorted(set(inc) - set(MERGED_LISTS))
    if extra:
        allowed = ", ".join(MERGED_LISTS)
        msg = f'included file "{inc_path.name}" has keys it cannot contribute: {", ".join(extra)}'
        return [Problem(where, msg, hint=f"an included file may only hold {allowed}")]
    for key in MERGED_LISTS:
        items = inc.get(key) or []
        if not isinstance(items, list):
            return [Problem(where, f'"{key}" in "{inc_path.name}" must be a list')]
        if not isinstance(data.get(key, []), list):
            continue  # the schema reports the main file's bad list
        base = data.setdefault(key, [])
        lines.update(_shift(inc_lines, key, len(base)))
        base.extend(items)
    return []


def apply_includes(data: Any, lines: SourceMap, folder: Path) -> None:
    """Resolve ``include: [...]`` (relative to ``folder``) in place; TemplateError on failure."""
    if not isinstance(data, dict) or "include" not in data:
        return
    includes = data.pop("include")
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise TemplateError([Problem("include", "include must be a list of file names")])
    problems: list[Problem] = []
    for i, name in enumerate(includes):
        where = f"include[{i}]"
        inc_path = folder / name
        if not inc_path.is_file():
            problems.append(Problem(where, f'included file "{name}" not found in {folder}'))
            continue
        problems += _merge_include(data, lines, inc_path, where)
    if problems:
        src, line = lines.get("include", (None, None))
        raise TemplateError([p if p.line else _locate(p, src, line) for p in problems])


def _locate(problem: Problem, source: str | None, line: int | None) -> Problem:
    """A copy of ``problem`` pointing at ``source:line``."""
    return Problem(problem.path, problem.message, line, problem.hint, problem.source or source)


def template_file(path: Path) -> Path:
    """The file to read for ``path``: itself, or ``template.yaml``/``.json`` in a folder."""
    if path.is_dir():
        for name in (FOLDER_ENTRY, "template.yml", "template.json"):
            if (path / name).is_file():
                return path / name
        msg = f"folder {path} holds no {FOLDER_ENTRY}"
        raise TemplateError([Problem("", msg, None, "a template folder needs a template.yaml")])
    if not path.exists():
        raise TemplateError([Problem("", f"no such file or folder: {path}")])
    return path


def load_source(path: str | Path) -> tuple[Any, SourceMap]:
    """Read a template file or folder (includes resolved) into ``(data, source map)``."""
    file = template_file(Path(path))
    data, lines = read_file(file)
    apply_includes(data, lines, file.parent)
    return data, lines
