"""Field behaviour on writes by people: ``read_only`` and ``set_once`` fields.

- ``read_only: true``: set by workflows, formulas' neighbours and imports, never by a
  person: a user or API token giving a value on create, or a different value on update,
  is refused with a message on that field (422, nothing written). Giving back the stored
  value unchanged is accepted (a client may PUT back what it read).
- ``set_once: true``: a person may give it when creating the record (or fill it while it
  is still empty); changing a stored value later is refused.

Workflows, imports and the system (every actor that is not a person) may write both:
that is how SLA timestamps and imported references get their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessera.errors import FieldValueError
from tessera.fields import for_field
from tessera.meta.model import Field, RecordType
from tessera.records.actor import Actor

#: the actor kinds that are a person typing or a client acting for one
PEOPLE = frozenset({"user", "api_token"})
READ_ONLY = "is read-only: only workflows and imports set it"
SET_ONCE = "can only be set when the record is created"


def read_only(f: Field) -> bool:
    """True when people may not write ``f`` (workflows and imports may)."""
    return bool(f.opt("read_only"))


def set_once(f: Field) -> bool:
    """True when ``f`` may be given at creation but not changed afterwards."""
    return bool(f.opt("set_once"))


def protected(rt: RecordType) -> tuple[Field, ...]:
    """The read_only and set_once fields of ``rt`` (computed once per record type)."""
    found = rt.__dict__.get("_protected")
    if found is None:
        found = tuple(f for f in rt.fields if read_only(f) or set_once(f))
        object.__setattr__(rt, "_protected", found)
    return found


def refusals(
    rt: RecordType,
    raw: Mapping[str, Any],
    cleaned: Mapping[str, Any],
    actor: Actor,
    current: Mapping[str, Any] | None = None,
) -> dict[str, list[str]]:
    """Per-field messages for protected fields a person tries to write (empty: allowed).

    ``raw`` is what the writer sent (only keys it names count: defaults are the
    system's), ``cleaned`` the cleaned values, ``current`` the stored record on update.
    """
    if actor.kind not in PEOPLE:
        return {}
    errors: dict[str, list[str]] = {}
    for f in protected(rt):
        if f.key not in raw or f.key not in cleaned:
            continue
        new = cleaned[f.key]
        ft = for_field(f)
        if current is None:
            if read_only(f) and not ft.is_empty(new):
                errors[f.key] = [READ_ONLY]
            continue
        old = current.get(f.key)
        if _same(ft, f, old, new):
            continue
        if read_only(f):
            errors[f.key] = [READ_ONLY]
        elif not ft.is_empty(old):
            errors[f.key] = [SET_ONCE]
    return errors


def _same(ft: Any, f: Field, old: Any, new: Any) -> bool:
    """True when ``new`` is the stored ``old`` (read back through the type: SQLite hands
    back naive date-times, the cleaned value is aware)."""
    if isinstance(old, list | tuple) or isinstance(new, list | tuple):
        return sorted(old or []) == sorted(new or [])
    try:
        return ft.coerce(f, old) == new
    except (FieldValueError, TypeError, ValueError):
        return old == new
