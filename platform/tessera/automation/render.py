"""Message texts and action parameters, rendered with Jinja2's SandboxedEnvironment.

Templates see ``record`` (link fields follow to the linked record, user fields to the
user), ``old`` (values before the change), ``user`` (who caused the event), ``vars`` (set
by ``set_variable``) and ``now``. A parameter that is exactly one ``{{ expression }}``
keeps the expression's native type (a number stays a number); anything else is text.

Work is bounded so a template cannot freeze a process: no constant folding at compile
time (``9**(9**8)`` is not computed while compiling), ``**``, ``*`` and ``%`` refuse
operands that would build huge numbers or strings, ``range`` stops at ``MAX_RANGE``,
``namespace`` (the only way to grow a value across loop turns) is not offered, output
stops at ``MAX_OUTPUT`` characters, and any failure (a Python error included) is a
RenderError. :func:`template_problems` is the static check run when a template is
validated: it parses and compiles the text and refuses deep nesting and deep loops.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from tessera.automation import datefilters
from tessera.errors import TesseraError

MAX_RANGE = 10_000
MAX_OUTPUT = 100_000  # characters one rendered text may have
MAX_SOURCE = 20_000  # characters of one template text
MAX_LOOP_DEPTH = 3
MAX_NEST = 60  # nesting of the template's syntax tree
_FORMAT_WIDTH = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a length-checked join (Jinja's own is unchecked)."""

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:  # noqa: N802 - Jinja API
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with the arithmetic that can explode checked before it runs."""

    intercepted_binops = frozenset({"**", "*", "%", "+"})
    code_generator_class = _BoundedCodeGenerator

    @staticmethod
    def bounded_concat(items: tuple) -> str:
        """``a ~ b ~ ...`` as text, refused beyond MAX_OUTPUT characters."""
        parts = [str(item) for item in items]
        if sum(map(len, parts)) > MAX_OUTPUT:
            raise SecurityError(f"the text would be longer than {MAX_OUTPUT} characters")
        return "".join(parts)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        check, apply = _BINOPS[operator_name]
        check(left, right)
        return apply(left, right)


def _size(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return value.bit_length()
    return 64


def _check_pow(base: Any, exponent: Any) -> None:
    if not isinstance(exponent, int) or isinstance(exponent, bool):
        return
    if abs(exponent) > 4096 or _size(base) * abs(exponent) > 16_384:
        raise SecurityError("the power is too large to compute")


def _check_mul(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if (
            isinstance(seq, str | bytes)
            and isinstance(times, int)
            and len(seq) * times > MAX_OUTPUT
        ):
            raise SecurityError("the repeated text would be too long")
        if (
            isinstance(seq, list | tuple)
            and isinstance(times, int)
            and len(seq) * times > MAX_RANGE
        ):
            raise SecurityError("the repeated list would be too long")
    both_ints = isinstance(left, int) and isinstance(right, int)
    if both_ints and _size(left) + _size(right) > 65_536:
        raise SecurityError("the product is too large to compute")


def _check_mod(left: Any, right: Any) -> None:
    if isinstance(left, str):
        for width, precision in _FORMAT_WIDTH.findall(left):
            for n in (width, precision):
                if n == "*" or (n and int(n) > 1000):
                    raise SecurityError("the format width is too large")


def _check_add(left: Any, right: Any) -> None:
    sized = isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple)
    if sized and len(left) + len(right) > MAX_OUTPUT:
        raise SecurityError(f"the value would be longer than {MAX_OUTPUT} characters")


def _width(n: Any) -> None:
    if isinstance(n, int) and abs(n) > 1000:
        raise SecurityError("the width is too large (at most 1000)")


def _bounded_filter(name: str, check: Callable[..., None]) -> Callable[..., Any]:
    original = _ENV.filters[name]
    passes = getattr(original, "jinja_pass_arg", None)  # e.g. the eval context first

    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(*(args[1:] if passes else args), **kwargs)
        return original(*args, **kwargs)

    if passes is not None:
        bounded.jinja_pass_arg = passes  # type: ignore[attr-defined]
    return bounded


def _check_width_args(value: Any, *args: Any, **kwargs: Any) -> None:
    for n in (*args, *kwargs.values()):
        _width(n)


def _check_replace(value: Any, old: Any = "", new: Any = "", *args: Any, **kw: Any) -> None:
    text, old, new = str(value), str(old), str(new)
    count = (len(text) + 1) if old == "" else text.count(old)
    if len(text) + count * len(new) > MAX_OUTPUT:
        raise SecurityError(f"the value would be longer than {MAX_OUTPUT} characters")


def _check_join(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, list | tuple) and sum(len(str(v)) for v in value) > MAX_OUTPUT:
        raise SecurityError(f"the text would be longer than {MAX_OUTPUT} characters")


def _check_format(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_mod(str(value), args)


def _bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(f"range() gives at most {MAX_RANGE} numbers in a workflow text")
    return rng


_BINOPS: dict[str, tuple[Callable[[Any, Any], None], Callable[[Any, Any], Any]]] = {
    "**": (_check_pow, operator.pow),
    "*": (_check_mul, operator.mul),
    "%": (_check_mod, operator.mod),
    "+": (_check_add, operator.add),
}
_ENV = _BoundedEnvironment(undefined=StrictUndefined, autoescape=False, optimized=False)
_ENV.globals["range"] = _bounded_range
_ENV.globals.pop("namespace", None)
_ENV.filters.update(datefilters.FILTERS)
for _name, _check in {
    "center": _check_width_args,
    "indent": _check_width_args,
    "wordwrap": _check_width_args,
    "truncate": _check_width_args,
    "replace": _check_replace,
    "format": _check_format,
    "join": _check_join,
}.items():
    _ENV.filters[_name] = _bounded_filter(_name, _check)
_WHOLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


class RenderError(TesseraError):
    """A template in a workflow action could not be rendered."""


class UserView:
    """A user as templates see it: prints as the id; ``.name``, ``.email``, ``.username``."""

    def __init__(self, user_id: int, load: Callable[[int], Mapping[str, Any] | None]):
        self.id = user_id
        self._load = load
        self._row: Mapping[str, Any] | None = None

    def _get(self, key: str) -> Any:
        if self._row is None:
            self._row = self._load(self.id) or {}
        return self._row.get(key)

    @property
    def name(self) -> Any:
        """Display name, else username."""
        return self._get("display_name") or self._get("username")

    @property
    def email(self) -> Any:
        """E-mail address."""
        return self._get("email")

    @property
    def username(self) -> Any:
        """Login name."""
        return self._get("username")

    def __str__(self) -> str:
        return str(self.id)


class Moment(datetime):
    """A date-time field's value in a workflow's text: prints as the wall-clock time in the
    record owner's (else the app's) zone — "2026-12-08 10:00", not a UTC ISO string.
    It is still the same moment (a datetime) when a step writes it into a field."""

    def __str__(self) -> str:
        zone = getattr(self, "zone", None) or UTC
        return f"{datetime.astimezone(self, zone):%Y-%m-%d %H:%M}"

    @classmethod
    def of(cls, value: datetime, zone: tzinfo) -> Moment:
        """``value`` (aware, or naive meaning UTC) as a Moment shown in ``zone``."""
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = cls.fromtimestamp(aware.timestamp(), UTC)
        moment.zone = zone
        return moment


class RecordView:
    """A record as templates see it: fields as attributes; links and users followed lazily."""

    def __init__(
        self,
        values: Mapping[str, Any],
        follow: Callable[[str, Any], Any],
        title: str | None = None,
    ):
        self._values = values
        self._follow = follow
        self._title = title

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        if key not in self._values:
            raise AttributeError(f"record has no field {key!r}")
        return self._follow(key, self._values[key])

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            raise KeyError(key)
        return self._follow(key, self._values[key])

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __str__(self) -> str:
        # In message text a record reads as its title ("Acme"), not its id; a lone
        # ``{{ record }}`` in an action parameter still yields the id (see plain()).
        title = self._values.get(self._title) if self._title else None
        return str(title if title not in (None, "") else self._values.get("id", ""))


def plain(value: Any) -> Any:
    """Views back to plain values (ids), recursively; everything else unchanged."""
    if isinstance(value, UserView):
        return value.id
    if isinstance(value, RecordView):
        return value._values.get("id")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=1024)
def _template(text: str) -> Any:
    _check_source(text)
    return _ENV.from_string(text)


@lru_cache(maxsize=1024)
def _compiled_expression(source: str) -> Any:
    _check_source(source)
    return _ENV.compile_expression(source, undefined_to_none=False)


def _check_source(text: str) -> None:
    problem = template_problem(text)
    if problem:
        raise SecurityError(problem)


def template_problem(text: str) -> str | None:
    """Why ``text`` may not be used as a workflow template, or None (parse + static bounds)."""
    if len(text) > MAX_SOURCE:
        return f"a template has at most {MAX_SOURCE} characters"
    try:
        tree = _ENV.parse(text)
    except TemplateError as exc:
        return f"template does not parse: {getattr(exc, 'message', None) or exc}"
    except RecursionError:
        return "the template is nested too deeply"
    return _tree_problem(tree)


def _tree_problem(tree: nodes.Node) -> str | None:
    stack = [(tree, 0, 0)]
    while stack:
        node, depth, loops = stack.pop()
        if depth > MAX_NEST:
            return f"the template is nested more than {MAX_NEST} levels deep"
        loops += isinstance(node, nodes.For)
        if loops > MAX_LOOP_DEPTH:
            return f"loops nest at most {MAX_LOOP_DEPTH} deep in a workflow text"
        if isinstance(node, nodes.BinExpr):
            try:
                _constant(node)
            except SecurityError as exc:
                return f"a constant expression is too large: {exc}"
            except Exception:  # noqa: BLE001, S110 - not constant, or fails at run time
                pass
        stack += [(child, depth + 1, loops) for child in node.iter_child_nodes()]
    return None


def _constant(node: nodes.Node) -> Any:
    """The value of a constant arithmetic expression, with the same bounds as at run time."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        return -_constant(node.node)
    if isinstance(node, nodes.BinExpr) and node.operator in _BINOPS:
        check, apply = _BINOPS[node.operator]
        left, right = _constant(node.left), _constant(node.right)
        check(left, right)
        return apply(left, right)
    raise ValueError("not a constant")


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Render one template string to text (at most MAX_OUTPUT characters); RenderError else."""
    try:
        out, size = [], 0
        for chunk in _template(text).generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise SecurityError(f"the text would be longer than {MAX_OUTPUT} characters")
            out.append(chunk)
        return "".join(out)
    except RenderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a user's template is theirs
        raise RenderError(f"cannot render {_short(text)}: {_reason(exc)}") from None


def _short(text: str) -> str:
    return repr(text if len(text) <= 200 else text[:200] + "…")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it calls itself too deeply"
    return str(exc)[:500] or type(exc).__name__


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside ``value``; a lone ``{{ expr }}`` keeps its native type."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        whole = _WHOLE.match(value)
        if whole and "{{" not in whole.group(1) and "}}" not in whole.group(1):
            return plain(_expression(whole.group(1), context, value))
        return render_text(value, context)
    if isinstance(value, list | tuple):
        return [render_value(v, context) for v in value]
    if isinstance(value, Mapping):
        return {k: render_value(v, context) for k, v in value.items()}
    return value


def _expression(source: str, context: Mapping[str, Any], original: str) -> Any:
    try:
        result = _compiled_expression(source)(**context)
        if isinstance(result, Undefined):
            result._fail_with_undefined_error()
        if isinstance(result, str) and len(result) > MAX_OUTPUT:
            raise SecurityError(f"the value would be longer than {MAX_OUTPUT} characters")
        return result
    except Exception as exc:  # noqa: BLE001 - any failure of a user's template is theirs
        raise RenderError(f"cannot render {_short(original)}: {_reason(exc)}") from None
