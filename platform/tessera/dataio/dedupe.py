"""Matching rows to existing records: normalised keys, looked up set-based.

A match key is one field or several joined with ``+`` (``name+company``). Phones
compare by their digits (a leading ``+86``/``0086`` dropped), e-mails lower-cased,
text case-folded with blanks collapsed. A row matches a record when any of the
chosen keys is equal. Existing records are found with one query per key and batch:
the database side is normalised in SQL (nested ``replace``/``lower``), so it works on
SQLite and PostgreSQL alike without a stored normalised column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from tessera.fields.spreadsheet import halfwidth
from tessera.meta.model import Field, RecordType

_PHONE_NOISE = (" ", "-", "(", ")", "+", ".", "\u00a0")
_BLANKS = re.compile(r"\s+")
COMPANY_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "集团",
    "股份",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd",
    "limited",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
    "llc",
    "corp.",
    "corp",
    "co.",
)


def norm_phone(value: Any) -> str | None:
    """Digits only, without a +86 / 0086 country prefix on an 11-digit mobile."""
    digits = "".join(c for c in halfwidth(str(value)) if c.isdigit()) if value else ""
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
    return digits or None


def norm_text(value: Any) -> str | None:
    """Case-folded, trimmed, inner blanks collapsed, full-width folded."""
    if value is None:
        return None
    text = _BLANKS.sub(" ", halfwidth(str(value))).strip().casefold()
    return text or None


def norm_company(value: Any) -> str | None:
    """A name without blanks, punctuation or a company-form suffix (有限公司, Ltd...)."""
    text = norm_text(value)
    if not text:
        return None
    text = text.replace(" ", "")
    changed = True
    while changed:
        changed = False
        for suffix in COMPANY_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)].rstrip(",.，")
                changed = True
    return re.sub(r"[()（）,.，。·\-]", "", text) or None


def normaliser(f: Field):
    """The Python normalisation for a match on field ``f``."""
    if f.type == "phone":
        return norm_phone
    return norm_text


def sql_norm(f: Field, column):
    """The same normalisation in SQL (phone: punctuation removed; else lower(trim()))."""
    if f.type == "phone":
        expr = column
        for ch in _PHONE_NOISE:
            expr = sa.func.replace(expr, ch, "")
        return expr
    return sa.func.lower(sa.func.trim(column))


def sql_candidates(f: Field, normalised: Iterable[str]) -> set[str]:
    """Values the SQL-normalised column may hold for these Python-normalised values."""
    out = set(normalised)
    if f.type == "phone":
        out |= {p + v for v in list(out) for p in ("86", "0086") if len(v) == 11}
    return out


def parse_keys(rt: RecordType, specs: Iterable[str]) -> list[tuple[str, ...]]:
    """``["phone", "name+company"]`` as key tuples; ValueError naming an unknown field."""
    keys = []
    for spec in specs:
        parts = tuple(p.strip() for p in str(spec).split("+") if p.strip())
        for p in parts:
            if not rt.has_field(p):
                raise ValueError(f'--match {spec}: {rt.key} has no field "{p}"')
        if parts:
            keys.append(parts)
    return keys


def row_key(rt: RecordType, key: tuple[str, ...], values: dict) -> tuple | None:
    """The normalised key of a row's values (None when any part is empty)."""
    out = []
    for k in key:
        f = rt.field(k)
        v = normaliser(f)(values.get(k))
        if v is None:
            return None
        out.append(v)
    return tuple(out)


def find_existing(
    conn, rt: RecordType, table: sa.Table, key: tuple[str, ...], wanted: set[tuple]
) -> dict[tuple, list[int]]:
    """{normalised key: [ids]} of stored records matching any of ``wanted`` (chunked)."""
    found: dict[tuple, list[int]] = {}
    wanted = list(wanted)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        conds = []
        for i, k in enumerate(key):
            f = rt.field(k)
            values = sql_candidates(f, {w[i] for w in chunk})
            conds.append(sql_norm(f, table.c[k]).in_(sorted(values)))
        cols = [table.c.id, *(table.c[k] for k in key)]
        for row in conn.execute(sa.select(*cols).where(*conds).order_by(table.c.id)):
            norm = row_key(rt, key, dict(zip(key, row[1:], strict=True)))
            if norm is not None:
                found.setdefault(norm, []).append(row[0])
    return found


class KeyIndex:
    """Every stored record's normalised key, read once per import pass (one streamed scan).

    Matching a batch against it costs nothing per batch; the per-batch SQL lookup
    (:func:`find_existing`) normalises every stored row again, so on a large table it
    is used only above ``limit`` rows, where the index would cost too much memory.
    """

    def __init__(self, conn, rt: RecordType, table: sa.Table, key: tuple[str, ...]):
        self.found: dict[tuple, list[int]] = {}
        cols = [table.c.id, *(table.c[k] for k in key)]
        query = sa.select(*cols).execution_options(yield_per=5000)
        for row in conn.execute(query):
            norm = row_key(rt, key, dict(zip(key, row[1:], strict=True)))
            if norm is not None:
                self.found.setdefault(norm, []).append(row[0])

    @classmethod
    def build(cls, conn, rt, table, key, limit: int) -> KeyIndex | None:
        """An index, or None when the table holds more than ``limit`` records."""
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        return cls(conn, rt, table, key) if count <= limit else None

    def lookup(self, wanted: set[tuple]) -> dict[tuple, list[int]]:
        """{key: [ids]} for the wanted keys that exist."""
        return {k: self.found[k] for k in wanted if k in self.found}
