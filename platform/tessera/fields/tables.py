"""The ``table`` field type: rows owned by the record (order lines, contact phones).

A value is a list of row dicts ``[{"product": 3, "qty": 2}, ...]`` in order; writing it
replaces the record's rows. Each cell is cleaned by its own row field's type, and every
problem is reported per row and field (``items[1].qty: required``) through
:class:`RowErrors`, so the caller can show it in the right grid cell and write nothing.
Computed row fields (formulas) are filled in by the records layer; values sent for them
are ignored, so a client can send back the rows it read. The rows live in their own
table (see ``meta.children``), so the field has no column (``stored = False``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType, for_field
from tessera.messages import Msg
from tessera.meta.children import row_fields
from tessera.meta.model import Field

DEFAULT_MAX_ROWS = 1000


class RowErrors(FieldValueError):
    """Problems of a table value, keyed ``<field>[<row>].<cell>`` (or ``<field>``)."""

    def __init__(self, errors: dict[str, list[str]], rows: list[dict] | None = None):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors
        #: the rows as far as they were readable (so later checks can report more at once)
        self.rows = rows or []


class TableType(FieldType):
    """Rows owned by the record, stored in a child table."""

    name = "table"
    stored = False
    #: of the rows as a whole (in workflows also ``changed``); ``items.qty`` looks into rows
    operators = frozenset({"is_empty", "is_not_empty"})

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Integer: the type of the child table's parent key (never a column here)."""
        return sa.Integer()

    def coerce(self, field: Field, raw: Any) -> Any:
        """A list of cleaned row dicts (JSON text is parsed; empty: None); raises RowErrors."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise FieldValueError("not a list of rows (expected a JSON array)") from None
        if not isinstance(raw, list | tuple):
            raise FieldValueError(Msg("must be a list of rows (objects of field values)"))
        rows, errors = [], {}
        for i, item in enumerate(raw):
            rows.append(self._row(field, i, item, errors))
        if errors:
            raise RowErrors(errors, rows)
        return rows

    def _row(self, field: Field, i: int, item: Any, errors: dict) -> dict[str, Any]:
        where = f"{field.key}[{i}]"
        if not isinstance(item, Mapping):
            errors[where] = ["must be an object of field values"]
            return {}
        cells = {f.key: f for f in row_fields(field)}
        for key in item:
            if key not in cells:
                errors.setdefault(f"{where}.{key}", []).append(Msg("unknown field"))
        row = {}
        for f in cells.values():
            ft = for_field(f)
            if ft.computed:
                continue
            try:
                row[f.key] = ft.clean(f, item.get(f.key, f.default))
            except FieldValueError as exc:
                errors.setdefault(f"{where}.{f.key}", []).append(str(exc))
        return row

    def clean(self, field: Field, raw: Any) -> Any:
        """Rows, checked against ``min_rows`` (``required``: at least one) and ``max_rows``."""
        rows = self.coerce(field, raw) or []
        low = max(int(field.opt("min_rows") or 0), 1 if field.required else 0)
        high = int(field.opt("max_rows") or DEFAULT_MAX_ROWS)
        if len(rows) < low:
            raise FieldValueError(
                Msg("required") if low == 1 else Msg("needs at least %(n)s rows", n=low)
            )
        if len(rows) > high:
            raise FieldValueError(Msg("at most %(n)s rows (got %(got)s)", n=high, got=len(rows)))
        return rows

    def json_schema(self, field: Field) -> dict[str, Any]:
        """OpenAPI: an array of row objects (the API's schema hook for this type)."""
        from tessera.api.schemas import field_schema  # the API layer describes cells

        cells = {f.key: field_schema(f) for f in row_fields(field)}
        row = {"type": "object", "properties": cells, "additionalProperties": False}
        low, high = int(field.opt("min_rows") or 0), int(field.opt("max_rows") or DEFAULT_MAX_ROWS)
        return {
            "type": "array",
            "items": row,
            "minItems": max(low, 1 if field.required else 0),
            "maxItems": high,
            "description": "the rows, in order; writing replaces them all",
        }

    def is_empty(self, value: Any) -> bool:
        """No rows."""
        return not value

    def to_json(self, field: Field, value: Any) -> Any:
        """Each row's cells as their own types' JSON."""
        fields = row_fields(field)
        return [
            {f.key: _json(f, row.get(f.key)) for f in fields if f.key in row} for row in value or ()
        ]

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``3 rows`` (nothing for no value)."""
        if value is None:
            return ""
        n = len(value)
        return f"{n} row" if n == 1 else f"{n} rows"


def _json(f: Field, value: Any) -> Any:
    return None if value is None else for_field(f).to_json(f, value)


builtin = [TableType()]
