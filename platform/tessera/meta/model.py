"""Meta: the immutable, compiled form of a template that every other layer reads.

Nothing here knows how a template is written (YAML, JSON, the builder) or how it is
stored; the compiler (``meta.compile``) builds these objects from a validated
template and storage turns them into tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

Label = Mapping[str, str]  # locale -> text; always has "en" after compiling


def freeze(value: Any) -> Any:
    """Deep-freeze plain data (dict -> read-only mapping, list -> tuple)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain dicts and lists again (for JSON/YAML output)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def pick_label(label: Label | None, locale: str, fallback: str) -> str:
    """The label in ``locale``, else its language, else English, else ``fallback``."""
    if not label:
        return fallback
    for key in (locale, locale.split("-")[0], "en"):
        if key in label:
            return label[key]
    return next(iter(label.values()), fallback)


@dataclass(frozen=True)
class Field:
    """One field of a record type. ``options`` holds the type-specific settings."""

    key: str
    type: str
    label: Label
    required: bool = False
    unique: bool = False
    default: Any = None
    help: Label | None = None
    renamed_from: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def opt(self, name: str, default: Any = None) -> Any:
        """A type-specific option (``max_length``, ``to``, ``options``...)."""
        return self.options.get(name, default)


@dataclass(frozen=True)
class Validation:
    """A record-level rule: the record is valid only when ``condition`` holds."""

    condition: Mapping[str, Any]
    message: Label
    fields: tuple[str, ...] = ()  # where the message is shown; empty = whole record


#: field types whose values a text search looks in (and a declared ``search:`` may name)
SEARCHABLE = frozenset({"text", "long_text", "email", "phone", "url", "auto_number"})


@dataclass(frozen=True)
class RecordType:
    """A kind of record; becomes one real table ``rt_<app>_<key>``."""

    key: str
    label: Label
    fields: tuple[Field, ...]
    title: str | None = None
    indexes: tuple[tuple[str, ...], ...] = ()
    validations: tuple[Validation, ...] = ()
    renamed_from: str | None = None
    search: tuple[str, ...] = ()  # declared search fields (indexed); () = every text field
    summary: tuple[str, ...] = ()  # key numbers shown at the top of a record's page

    def field(self, key: str) -> Field:
        """The field named ``key``; KeyError when there is none."""
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def has_field(self, key: str) -> bool:
        """True when the record type declares a field ``key``."""
        return any(f.key == key for f in self.fields)

    @cached_property
    def field_map(self) -> Mapping[str, Field]:
        """Fields by key, in declaration order (computed once: hot in every write)."""
        return MappingProxyType({f.key: f for f in self.fields})


@dataclass(frozen=True)
class View:
    """A declared view (table, kanban, calendar, chart) over one record type, or a dashboard
    (``record_type`` None) laying out other views: ``options["widgets"]``."""

    key: str
    type: str
    record_type: str | None
    label: Label
    columns: tuple[str, ...] = ()
    filter: Mapping[str, Any] | None = None
    sort: tuple[Mapping[str, Any], ...] = ()
    group_by: str | None = None
    date_field: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class FormSection:
    """A titled group of fields on a form, optionally on a tab and in columns."""

    title: Label | None
    fields: tuple[str, ...]
    tab: Label | None = None  # sections with the same tab label share one tab
    columns: int = 1  # fields side by side (1 = the responsive default grid)


@dataclass(frozen=True)
class Form:
    """A declared form over one record type."""

    key: str
    record_type: str
    label: Label
    sections: tuple[FormSection, ...]
    public: bool = False
    visible_when: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )  # field key -> condition
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Workflow:
    """A declared automation rule; interpreted by the automation layer."""

    key: str
    label: Label
    trigger: Mapping[str, Any]
    actions: tuple[Mapping[str, Any], ...]
    record_type: str | None = None
    when: Mapping[str, Any] | None = None
    enabled: bool = True
    run_as: str = "system"  # or "triggering_user": whose permissions its writes use


#: the scopes a permission's operation may take besides a condition (a mapping)
SCOPES = ("none", "own", "team", "all")
OPERATIONS = ("create", "read", "update", "delete")
FIELD_LEVELS = ("none", "read", "write")  # ordered: a union of roles takes the highest


@dataclass(frozen=True)
class Permission:
    """What a role may do with one record type.

    Each operation's scope is ``"none" | "own" | "team" | "all"`` or a condition
    (a mapping in the condition language). ``owner`` is the user field own/team scopes
    compare (``created_by`` when the type has no ``owner`` user field); ``fields``
    maps field key -> ``none | read | write`` (fields left out are ``write``).
    """

    record_type: str  # a record type key, or "*" for every type the role does not list
    create: Any = "none"
    read: Any = "none"
    update: Any = "none"
    delete: Any = "none"
    owner: str | None = None  # None: the type's ``owner`` user field, else created_by
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    pool: Mapping[str, Any] | None = None  # {max_held?}: unowned records readable, claimable

    def scope(self, operation: str) -> Any:
        """The scope of ``operation`` (create, read, update or delete)."""
        return getattr(self, operation)


@dataclass(frozen=True)
class Role:
    """A role declared by the app; users hold roles per app (``user_roles``)."""

    key: str
    label: Label
    permissions: tuple[Permission, ...] = ()
    description: Label | None = None

    def permission(self, rt_key: str) -> Permission | None:
        """The role's permission on ``rt_key`` (its ``*`` entry if it has no own), or None."""
        default = None
        for p in self.permissions:
            if p.record_type == rt_key:
                return p
            if p.record_type == "*":
                default = p
        return default


@dataclass(frozen=True)
class App:
    """A compiled application template: the unit that is installed and upgraded."""

    id: str
    version: str
    label: Label
    record_types: tuple[RecordType, ...]
    views: tuple[View, ...] = ()
    forms: tuple[Form, ...] = ()
    workflows: tuple[Workflow, ...] = ()
    description: Label | None = None
    roles: tuple[Role, ...] = ()
    home: str | None = None  # a dashboard view shown on the home page
    source: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def record_type(self, key: str) -> RecordType:
        """The record type named ``key``; KeyError when there is none."""
        for rt in self.record_types:
            if rt.key == key:
                return rt
        raise KeyError(key)

    def has_record_type(self, key: str) -> bool:
        """True when the app declares a record type ``key``."""
        return any(rt.key == key for rt in self.record_types)

    def role(self, key: str) -> Role:
        """The role named ``key``; KeyError when there is none."""
        for role in self.roles:
            if role.key == key:
                return role
        raise KeyError(key)
