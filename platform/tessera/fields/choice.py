"""Choice field types: boolean, select, multi_select.

boolean: ``Boolean`` column; JSON true/false, or form strings ``true/on/1/yes`` and
``false/off/0/no`` (any case). Display ``Yes``/``No`` (``是``/``否`` in zh-CN).

select: one of the declared ``options`` ([{value, label, color}]); stored as the
option's value in a ``String(100)`` column. Input may also be an option's label in any
locale (handy for imports); output is always the value. Display is the label.

multi_select: a list of option values in a ``JSON`` column, kept in the declared
option order without duplicates. Input is a JSON list, or a form string ``"a,b"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields import spreadsheet
from tessera.fields.base import FieldType
from tessera.messages import Msg
from tessera.meta.model import Field, pick_label

_TRUE = frozenset({"true", "on", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "off", "0", "no", "n", "f"})
_YES_NO = {"en": ("Yes", "No"), "zh": ("是", "否")}
SELECT_LENGTH = 100


class BooleanType(FieldType):
    """Yes or no."""

    name = "boolean"
    operators = frozenset({"eq", "ne", "is_empty", "is_not_empty"})

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Boolean."""
        return sa.Boolean()

    def coerce(self, field: Field, raw: Any) -> Any:
        """True/False from JSON booleans, 0/1 or the usual form words."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        word = raw.strip().lower() if isinstance(raw, str) else None
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise FieldValueError(Msg("not yes or no (expected true or false)"))

    def from_cell(self, field: Field, cell: Any) -> Any:
        """是/否, yes/no, 1/0, ✓/✗."""
        return spreadsheet.cell_boolean(cell)

    def is_empty(self, value: Any) -> bool:
        """Only None is empty: False is an answer."""
        return value is None

    def validate(self, field: Field, value: Any) -> list[str]:
        """A required yes/no is a consent: it must be ticked (False is refused)."""
        return ["must be ticked"] if field.required and value is False else []

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """Yes/No, 是/否 in Chinese."""
        if value is None:
            return ""
        yes, no = _YES_NO.get(locale.split("-")[0], _YES_NO["en"])
        return yes if value else no


def options_of(field: Field) -> list[Mapping[str, Any]]:
    """The declared options of a select field, as mappings with a ``value``."""
    return list(_options(field)[0])


def option_values(field: Field) -> list[str]:
    """The declared option values, in order."""
    return list(_options(field)[1])


def _options(field: Field) -> tuple[tuple, tuple[str, ...], frozenset[str]]:
    """(options, values, set of values) of a field, computed once per Field object.

    A compiled Field is frozen (its options are read-only), so the result is kept in
    the instance's ``__dict__`` like a cached_property: every clean of a select value
    reads it, and rebuilding the lists per value dominated bulk writes.
    """
    cached = field.__dict__.get("_choice_options")
    if cached is None or cached[0] is not field.options:
        options = tuple(
            o if isinstance(o, Mapping) else {"value": o} for o in field.opt("options", ())
        )
        values = tuple(str(o["value"]) for o in options)
        cached = (field.options, (options, values, frozenset(values)))
        object.__setattr__(field, "_choice_options", cached)
    return cached[1]


def option_label(field: Field, value: str, locale: str) -> str:
    """The label of option ``value`` in ``locale`` (the value itself when unlabelled)."""
    for option in options_of(field):
        if str(option["value"]) == value:
            label = option.get("label")
            if isinstance(label, str):
                return label
            return pick_label(label, locale, value)
    return value


def _match(field: Field, raw: Any) -> str:
    """The option value ``raw`` names (a value, or a label in any locale)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise FieldValueError(Msg("must be one of the options (text)"))
    text = raw.strip() if isinstance(raw, str) else str(raw).strip()
    options, values, known = _options(field)
    if text in known:
        return text
    for option in options:
        label = option.get("label")
        labels = [label] if isinstance(label, str) else list((label or {}).values())
        if any(text.casefold() == str(x).casefold() for x in labels):
            return str(option["value"])
    raise FieldValueError(
        Msg('"%(value)s" is not one of: %(options)s', value=text, options=", ".join(values))
    )


class SelectType(FieldType):
    """One value from a declared list of options."""

    name = "select"

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """String(100)."""
        return sa.String(SELECT_LENGTH)

    def coerce(self, field: Field, raw: Any) -> Any:
        """The option value named by ``raw``."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return _match(field, raw)

    def from_cell(self, field: Field, cell: Any) -> Any:
        """An option value or label, full-width characters folded."""
        return spreadsheet.cell_text(cell)

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """The option's label in ``locale``."""
        return "" if value is None else option_label(field, value, locale)

    def convert(self, old_field: Field, new_field: Field, value: Any) -> Any:
        """A one-item list (from multi_select) converts to its item."""
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, list):
            raise FieldValueError(Msg("has more than one value"))
        return self.coerce_valid(new_field, value)


class MultiSelectType(FieldType):
    """Any number of values from a declared list of options."""

    name = "multi_select"
    operators = frozenset({"contains", "not_contains", "is_empty", "is_not_empty"})

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """JSON list of option values."""
        return sa.JSON()

    def coerce(self, field: Field, raw: Any) -> Any:
        """A list of option values in declared order, from a list or ``"a,b"``."""
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list | tuple):
            raw = [raw]
        chosen = {_match(field, item) for item in raw}
        return [v for v in _options(field)[1] if v in chosen] or None

    def from_cell(self, field: Field, cell: Any) -> Any:
        """Items split on ``,`` ``;`` ``、`` (values or labels)."""
        return spreadsheet.cell_list(cell)

    def is_empty(self, value: Any) -> bool:
        """None or an empty list."""
        return not value

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """Labels joined with commas (the Chinese list comma in zh)."""
        if not value:
            return ""
        sep = "、" if locale.startswith("zh") else ", "
        return sep.join(option_label(field, v, locale) for v in value)


builtin = [BooleanType(), SelectType(), MultiSelectType()]
