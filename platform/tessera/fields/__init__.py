"""Field types: the registry and the built-in types, registered like any plug-in.

Each built-in family module exposes a ``builtin`` list of FieldType instances; this
package registers them with :func:`register`, exactly as a third-party package would
register its own types.
"""

from tessera.fields import (
    choice,
    clock,
    computed,
    files,
    links,
    numbers,
    polylinks,
    richtext,
    tables,
    temporal,
    text,
)
from tessera.fields.base import WRITTEN_AS, FieldType, for_field, get, names, register

BUILTIN_MODULES = (
    text, numbers, temporal, clock, choice, links, polylinks, files, computed, tables, richtext
)  # fmt: skip
builtin: list[FieldType] = [ft for module in BUILTIN_MODULES for ft in module.builtin]

for _field_type in builtin:
    register(_field_type)

__all__ = ["WRITTEN_AS", "FieldType", "builtin", "for_field", "get", "names", "register"]
