"""The safe expression evaluator behind formula fields.

User text is never handed to ``eval``/``exec``/``compile``. :func:`parse` runs
``ast.parse(text, mode="eval")`` and then walks the tree, accepting only a whitelist
of node types; everything else is refused with an :class:`ExpressionError` naming the
construct and its position. The checked tree is then interpreted by a small tree
walker (:meth:`Expression.evaluate`).

The language:

- literals: numbers, 'strings', True, False, None, and (tuple or list) literals for
  ``x in ("a", "b")``;
- names are field keys; dotted names (``customer.tier``) read a linked record's field;
  names and attributes starting with ``_`` are refused;
- arithmetic ``+ - * / // % **``, comparisons (chains too, ``in``/``not in``),
  ``and``/``or``/``not``, ``a if cond else b``;
- calls to a whitelist of functions (see ``FUNCTIONS``); ``if(c, a, b)`` is accepted as
  a spelling of ``if_(c, a, b)`` because ``if`` is a Python keyword.

Semantics chosen for business users rather than Python programmers:

- arithmetic is None-propagating (None in, None out) and division (``/ // %``) by zero
  gives None instead of an error;
- number literals with a fraction are ``Decimal`` (``0.1 + 0.2 == 0.3``) and ``/``
  always yields a Decimal; float inputs are converted to Decimal through ``repr``;
- ``round`` rounds half away from zero, as on a calculator;
- ``date + n`` / ``date - n`` shift by days, ``date - date`` is a day count;
- a name missing from the values mapping reads as None.

Resource guards: source length (``MAX_SOURCE``), tree depth (``MAX_DEPTH``), node count
(``MAX_NODES``), exponent size (``MAX_EXPONENT``), integer size (``MAX_INT_BITS``) and
string length (``MAX_STRING``, which bounds ``"x" * n`` and concatenation).
Evaluation problems (``"a" - 1``, an over-large result) raise ExpressionError too.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import io
import math
import tokenize
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tessera.errors import TesseraError

MAX_SOURCE = 2000
MAX_DEPTH = 40
MAX_NODES = 400
MAX_EXPONENT = 100
MAX_INT_BITS = 1024
MAX_STRING = 10_000
MAX_ROUND_DIGITS = 10

_DECIMAL_CONTEXT = decimal.Context(prec=28, Emax=9999, Emin=-9999, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow,
])  # fmt: skip


class ExpressionError(TesseraError):
    """A formula could not be parsed or evaluated; ``position`` is a 0-based offset."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})"


# name -> (min args, max args or None); evaluated by _call below
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "round": (1, 2),
    "abs": (1, 1),
    "min": (1, None),
    "max": (1, None),
    "len": (1, 1),
    "upper": (1, 1),
    "lower": (1, 1),
    "concat": (0, None),
    "if_": (3, 3),
    "coalesce": (1, None),
    "days_between": (2, 2),
    "today": (0, 0),
    "now": (0, 0),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
}

_BINOPS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_CMPOPS: dict[type, str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
# friendly names for refused constructs; anything else is named by its AST class
_REFUSED: dict[type, str] = {
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Subscript: "subscripts (x[...])",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.Starred: "star arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


@dataclass(frozen=True)
class Expression:
    """A parsed, checked formula; evaluate it against a record's values."""

    source: str
    names: frozenset[str]
    _tree: ast.expr = field(repr=False, compare=False)
    _positions: Callable[[ast.AST], int] = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, Any], *, now: dt.datetime | None = None) -> Any:
        """The value of the expression for ``values`` (field key -> value)."""
        moment = now or dt.datetime.now(dt.UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return _Evaluator(values, moment.astimezone(dt.UTC), self._positions).run(self._tree)


def parse(source: str) -> Expression:
    """Parse and check ``source``; raise ExpressionError naming what is refused and where."""
    if not isinstance(source, str):
        raise ExpressionError("a formula must be text", 0)
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"formula is too long (at most {MAX_SOURCE} characters)", 0)
    text, lead = _normalise(source)
    if not text:
        raise ExpressionError("formula is empty", 0)
    text, inserts = _rewrite_if(text)
    positions = _Positions(text, lead, inserts)
    tree = _parse_tree(text, positions)
    names = _Checker(positions).check(tree)
    return Expression(source, frozenset(names), tree, positions)


def _normalise(source: str) -> tuple[str, int]:
    """One line (newlines become spaces, keeping offsets), leading blanks cut off."""
    text = source.replace("\r", " ").replace("\n", " ")
    stripped = text.lstrip(" \t\f")
    return stripped.rstrip(), len(text) - len(stripped)


def _rewrite_if(text: str) -> tuple[str, list[int]]:
    """Spell ``if(`` as ``if_(`` where it is a call, not a conditional expression."""
    if "if" not in text:
        return text, []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return text, []  # let ast.parse report the real syntax error
    inserts: list[int] = []
    prev = None
    for tok, nxt in zip(tokens, tokens[1:], strict=False):
        is_call = tok.type == tokenize.NAME and tok.string == "if" and nxt.string == "("
        if is_call and not _is_operand(prev):
            inserts.append(tok.start[1] + 2)
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            prev = tok
    for offset in reversed(inserts):
        text = text[:offset] + "_" + text[offset:]
    return text, inserts


_KEYWORDS = frozenset({"not", "and", "or", "if", "else", "in", "is", "lambda"})


def _is_operand(tok: tokenize.TokenInfo | None) -> bool:
    """True when ``tok`` ends an operand, so a following ``if (`` is a conditional."""
    if tok is None:
        return False
    if tok.type == tokenize.NAME:
        return tok.string not in _KEYWORDS
    return tok.type in (tokenize.NUMBER, tokenize.STRING) or tok.string in (")", "]", "}")


class _Positions:
    """Maps AST node positions in the rewritten text back to offsets in the source."""

    def __init__(self, text: str, lead: int, inserts: list[int]) -> None:
        self.encoded = text.encode("utf-8")
        self.lead = lead
        self.inserts = inserts

    def of_text(self, offset: int) -> int:
        """Source offset of a character offset in the rewritten text."""
        shift = sum(1 for at in self.inserts if at < offset)
        return max(0, offset - shift) + self.lead

    def __call__(self, node: ast.AST) -> int:
        col = getattr(node, "col_offset", 0) or 0
        return self.of_text(len(self.encoded[:col].decode("utf-8", errors="ignore")))


def _parse_tree(text: str, positions: _Positions) -> ast.expr:
    """``ast.parse`` in eval mode; every failure becomes an ExpressionError."""
    try:
        with warnings.catch_warnings():  # e.g. "1if": user text must not print warnings
            warnings.simplefilter("ignore")
            return ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        offset = positions.of_text(max((exc.offset or 1) - 1, 0))
        raise ExpressionError(f"syntax error: {exc.msg}", offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot read formula: {exc}", positions.lead) from None


class _Checker:
    """Walks the tree once: refuses anything off the whitelist, collects names."""

    def __init__(self, positions: _Positions) -> None:
        self.pos = positions
        self.names: set[str] = set()
        self.count = 0

    def check(self, tree: ast.expr) -> set[str]:
        """The referenced names of ``tree``; raises ExpressionError on refusal."""
        self.visit(tree, 1)
        return self.names

    def fail(self, node: ast.AST, message: str) -> None:
        raise ExpressionError(message, self.pos(node))

    def visit(self, node: ast.AST, depth: int) -> None:
        self.count += 1
        if depth > MAX_DEPTH:
            self.fail(node, f"formula is nested too deeply (at most {MAX_DEPTH} levels)")
        if self.count > MAX_NODES:
            self.fail(node, f"formula is too complex (at most {MAX_NODES} parts)")
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            what = _REFUSED.get(type(node), f"'{type(node).__name__}' expressions")
            self.fail(node, f"{what} are not allowed")
        for child in method(node):
            self.visit(child, depth + 1)

    def visit_Constant(self, node: ast.Constant) -> list[ast.AST]:
        if node.value is not None and not isinstance(node.value, bool | int | float | str):
            self.fail(node, f"{type(node.value).__name__} literals are not allowed")
        if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
            self.fail(node, "number is too large")
        if isinstance(node.value, float) and not math.isfinite(node.value):
            self.fail(node, "number is too large")
        return []

    def visit_Name(self, node: ast.Name) -> list[ast.AST]:
        self._check_identifier(node, node.id)
        if node.id in FUNCTIONS or node.id == "if":
            self.fail(node, f"{node.id} is a function: call it as {node.id}(...)")
        self.names.add(node.id)
        return []

    def visit_Attribute(self, node: ast.Attribute) -> list[ast.AST]:
        self.names.add(self._dotted(node))
        return []

    def _dotted(self, node: ast.expr) -> str:
        """``a.b.c`` as text; only plain names may be dotted."""
        if isinstance(node, ast.Name):
            self._check_identifier(node, node.id)
            return node.id
        if isinstance(node, ast.Attribute):
            self._check_identifier(node, node.attr)
            return f"{self._dotted(node.value)}.{node.attr}"
        self.fail(node, "attribute access is only allowed on field names (like customer.tier)")
        return ""

    def _check_identifier(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self.fail(node, f"names starting with '_' are not allowed ({name})")

    def visit_BinOp(self, node: ast.BinOp) -> list[ast.AST]:
        if type(node.op) not in _BINOPS:
            self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant):
            exponent = node.right.value
            if isinstance(exponent, int | float) and abs(exponent) > MAX_EXPONENT:
                self.fail(node, f"exponent is too large (at most {MAX_EXPONENT})")
        return [node.left, node.right]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> list[ast.AST]:
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            self.fail(node, "operator ~ is not allowed")
        return [node.operand]

    def visit_BoolOp(self, node: ast.BoolOp) -> list[ast.AST]:
        return list(node.values)

    def visit_Compare(self, node: ast.Compare) -> list[ast.AST]:
        for op in node.ops:
            if type(op) not in _CMPOPS:
                word = "is" if isinstance(op, ast.Is | ast.IsNot) else type(op).__name__
                self.fail(node, f"comparison '{word}' is not allowed (use == or !=)")
        return [node.left, *node.comparators]

    def visit_IfExp(self, node: ast.IfExp) -> list[ast.AST]:
        return [node.test, node.body, node.orelse]

    def visit_Tuple(self, node: ast.Tuple) -> list[ast.AST]:
        return list(node.elts)

    visit_List = visit_Tuple

    def visit_Call(self, node: ast.Call) -> list[ast.AST]:
        if not isinstance(node.func, ast.Name):
            self.fail(node, "only the built-in functions can be called (like round(x, 2))")
        name = node.func.id
        self._check_identifier(node.func, name)
        shown = "if" if name == "if_" else name
        if name not in FUNCTIONS:
            self.fail(node, f"unknown function '{name}'; known: {', '.join(_known())}")
        if node.keywords:
            self.fail(node, f"{shown}() does not take keyword arguments")
        low, high = FUNCTIONS[name]
        n = len(node.args)
        if n < low or (high is not None and n > high):
            self.fail(node, f"{shown}() takes {_arity(low, high)}, got {n}")
        return list(node.args)


def _known() -> list[str]:
    return sorted(("if" if n == "if_" else n) for n in FUNCTIONS)


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} argument{'s' if low != 1 else ''}"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _kind(value: Any) -> str:
    """The user-facing name of a value's type, for error messages."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.datetime):
        return "date-time"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _num(value: Any) -> Any:
    """Floats become Decimals (through repr) so mixing with Decimal works exactly."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class _Evaluator:
    """Interprets a checked tree for one mapping of values."""

    def __init__(self, values: Mapping[str, Any], now: dt.datetime, pos: Callable) -> None:
        self.values = values
        self.now = now
        self.pos = pos

    def run(self, node: ast.expr) -> Any:
        """Evaluate ``node``, turning arithmetic failures into ExpressionError."""
        try:
            with decimal.localcontext(_DECIMAL_CONTEXT):
                return self.eval(node)
        except ExpressionError:
            raise
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            raise ExpressionError(f"cannot evaluate: {exc}", self.pos(node)) from None

    def fail(self, node: ast.AST, message: str) -> None:
        raise ExpressionError(message, self.pos(node))

    def eval(self, node: ast.expr) -> Any:
        return getattr(self, f"eval_{type(node).__name__}")(node)

    def eval_Constant(self, node: ast.Constant) -> Any:
        return _num(node.value)

    def eval_Name(self, node: ast.Name) -> Any:
        return _num(self.values.get(node.id))

    def eval_Attribute(self, node: ast.Attribute) -> Any:
        dotted = _dotted_text(node)
        if dotted in self.values:
            return _num(self.values[dotted])
        base = self.eval(node.value)
        if isinstance(base, Mapping):
            return _num(base.get(node.attr))
        return None

    def eval_Tuple(self, node: ast.Tuple) -> Any:
        return [self.eval(e) for e in node.elts]

    eval_List = eval_Tuple

    def eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if value is None:
            return None
        if not isinstance(value, int | Decimal):
            self.fail(node, f"cannot negate {_kind(value)}")
        return -value if isinstance(node.op, ast.USub) else +value

    def eval_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for child in node.values:
            result = self.eval(child)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def eval_IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def eval_Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node)
            result = self._compare(node, _CMPOPS[type(op)], left, right)
            if not result:
                return result
            left = right
        return True

    def _compare(self, node: ast.AST, op: str, left: Any, right: Any) -> Any:
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if op in ("in", "not in"):
            if right is None:
                return None
            if not isinstance(right, list | str) or (isinstance(right, str) and left is None):
                self.fail(node, f"'{op}' needs a list or text on the right, got {_kind(right)}")
            found = left in right
            return found if op == "in" else not found
        if left is None or right is None:
            return None
        if _kind(left) != _kind(right):
            self.fail(node, f"cannot compare {_kind(left)} with {_kind(right)} using {op}")
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]

    def eval_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.eval(node.left), self.eval(node.right)
        if left is None or right is None:
            return None
        op = _BINOPS[type(node.op)]
        result = _arith(self, node, op, left, right)
        return self._bounded(node, result)

    def _bounded(self, node: ast.AST, result: Any) -> Any:
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            self.fail(node, "number is too large")
        if isinstance(result, str) and len(result) > MAX_STRING:
            self.fail(node, f"text is too long (at most {MAX_STRING} characters)")
        return result

    def eval_Call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]  # checked by _Checker
        if name == "if_":  # lazy: only the chosen branch is evaluated
            test, yes, no = node.args
            return self.eval(yes) if self.eval(test) else self.eval(no)
        args = [self.eval(a) for a in node.args]
        return self._bounded(node, _CALLS[name](self, node, args))


def _dotted_text(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted_text(node.value)}.{node.attr}"
    return node.id  # type: ignore[attr-defined]


def _arith(ev: _Evaluator, node: ast.AST, op: str, left: Any, right: Any) -> Any:
    """One arithmetic operation with the rules in the module docstring."""
    if isinstance(left, dt.date) or isinstance(right, dt.date):
        return _date_arith(ev, node, op, left, right)
    if isinstance(left, str) or isinstance(right, str):
        return _text_arith(ev, node, op, left, right)
    if not (isinstance(left, int | Decimal) and isinstance(right, int | Decimal)):
        ev.fail(node, f"cannot use {op} on {_kind(left)} and {_kind(right)}")
    if op in ("/", "//", "%") and right == 0:
        return None
    if op == "/":
        return Decimal(left) / Decimal(right)
    if op == "**":
        return _power(ev, node, left, right)
    return _PLAIN[op](left, right)


_PLAIN: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
}


def _power(ev: _Evaluator, node: ast.AST, base: Any, exponent: Any) -> Any:
    if abs(exponent) > MAX_EXPONENT:
        ev.fail(node, f"exponent is too large (at most {MAX_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if base.bit_length() * exponent > MAX_INT_BITS * 2:
            ev.fail(node, "number is too large")
        return base**exponent
    if base == 0 and exponent < 0:
        return None
    return Decimal(base) ** Decimal(exponent)


def _text_arith(ev: _Evaluator, node: ast.AST, op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > MAX_STRING:
            ev.fail(node, f"text is too long (at most {MAX_STRING} characters)")
        return left + right
    if op == "*" and isinstance(left, str) != isinstance(right, str):
        text, times = (left, right) if isinstance(left, str) else (right, left)
        if isinstance(times, int) and not isinstance(times, bool):
            if len(text) * max(times, 0) > MAX_STRING:
                ev.fail(node, f"text is too long (at most {MAX_STRING} characters)")
            return text * times
    hint = " (use concat() to join text and numbers)" if op == "+" else ""
    ev.fail(node, f"cannot use {op} on {_kind(left)} and {_kind(right)}{hint}")


def _date_arith(ev: _Evaluator, node: ast.AST, op: str, left: Any, right: Any) -> Any:
    is_int = isinstance(right, int) and not isinstance(right, bool)
    if op in "+-" and isinstance(left, dt.date) and is_int:
        delta = dt.timedelta(days=right)
        return left + delta if op == "+" else left - delta
    if op == "+" and isinstance(right, dt.date) and isinstance(left, int):
        return right + dt.timedelta(days=left)
    if op == "-" and isinstance(left, dt.date) and isinstance(right, dt.date):
        return _days(left, right, ev, node)
    ev.fail(node, f"cannot use {op} on {_kind(left)} and {_kind(right)}")


def _days(later: Any, earlier: Any, ev: _Evaluator, node: ast.AST) -> int:
    """Whole days from ``earlier`` to ``later`` (date-times count by their UTC date)."""
    return (_as_date(later, ev, node) - _as_date(earlier, ev, node)).days


def _as_date(value: Any, ev: _Evaluator, node: ast.AST) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    ev.fail(node, f"expected a date, got {_kind(value)}")
    raise AssertionError  # unreachable: fail raises


def _fn_round(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
    value, digits = args[0], (args[1] if len(args) > 1 else 0)
    if value is None or digits is None:
        return None
    if not isinstance(digits, int) or not 0 <= digits <= MAX_ROUND_DIGITS:
        ev.fail(node, f"round() digits must be a whole number from 0 to {MAX_ROUND_DIGITS}")
    if not isinstance(value, int | Decimal):
        ev.fail(node, f"round() needs a number, got {_kind(value)}")
    exp = Decimal(1).scaleb(-digits)
    rounded = Decimal(value).quantize(exp, rounding=decimal.ROUND_HALF_UP)
    return int(rounded) if digits == 0 else rounded


def _numeric(fn: Callable[[Any], Any], label: str) -> Callable:
    def call(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
        if args[0] is None:
            return None
        if not isinstance(args[0], int | Decimal):
            ev.fail(node, f"{label}() needs a number, got {_kind(args[0])}")
        return fn(args[0])

    return call


def _text_fn(fn: Callable[[str], Any], label: str) -> Callable:
    def call(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
        if args[0] is None:
            return None
        if not isinstance(args[0], str) and not (label == "len" and isinstance(args[0], list)):
            ev.fail(node, f"{label}() needs text, got {_kind(args[0])}")
        return fn(args[0])

    return call


def _extreme(pick: Callable) -> Callable:
    """min/max over the arguments (or one list argument), ignoring empty values."""

    def call(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        present = [v for v in items if v is not None]
        if not present:
            return None
        kinds = {_kind(v) for v in present}
        if len(kinds) > 1:
            ev.fail(node, f"cannot compare {' with '.join(sorted(kinds))}")
        return pick(present)

    return call


def _fn_concat(ev: _Evaluator, node: ast.AST, args: list[Any]) -> str:
    parts = ["" if a is None else _text_of(a) for a in args]
    if sum(len(p) for p in parts) > MAX_STRING:
        ev.fail(node, f"text is too long (at most {MAX_STRING} characters)")
    return "".join(parts)


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _fn_coalesce(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
    return next((a for a in args if a is not None and a != ""), None)


def _fn_days_between(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
    start, end = args
    if start is None or end is None:
        return None
    return _days(end, start, ev, node)


def _date_part(part: str) -> Callable:
    def call(ev: _Evaluator, node: ast.AST, args: list[Any]) -> Any:
        if args[0] is None:
            return None
        return getattr(_as_date(args[0], ev, node), part)

    return call


_CALLS: dict[str, Callable[[_Evaluator, ast.AST, list[Any]], Any]] = {
    "round": _fn_round,
    "abs": _numeric(abs, "abs"),
    "min": _extreme(min),
    "max": _extreme(max),
    "len": _text_fn(len, "len"),
    "upper": _text_fn(str.upper, "upper"),
    "lower": _text_fn(str.lower, "lower"),
    "concat": _fn_concat,
    "coalesce": _fn_coalesce,
    "days_between": _fn_days_between,
    "today": lambda ev, node, args: ev.now.date(),
    "now": lambda ev, node, args: ev.now,
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
}
