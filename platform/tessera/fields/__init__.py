"""Field types: the registry and the built-in types, registered like any plug-in."""

from tessera.fields.base import FieldType, for_field, get, names, register

__all__ = ["FieldType", "for_field", "get", "names", "register"]
