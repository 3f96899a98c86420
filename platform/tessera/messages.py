"""User-facing engine messages that a UI can show in its reader's language.

The engine (fields, records, access, automation) never imports Flask or knows who reads
its messages. It raises :class:`Msg` objects instead of finished sentences: a ``Msg`` is
a ``str`` holding the English text — so logs, the REST API, tests and every caller that
treats messages as text keep working unchanged — that also remembers its *message id*
(the English pattern with ``%(name)s`` placeholders) and its *parameters*. A parameter
may itself be a ``Msg`` or a :class:`Label` (a template label: a string or a map of
locale to string, with the key to fall back on), so "Lost reason: required" is built
from the field's label, never its key.

The web layer renders a ``Msg`` with :func:`render`, passing its own ``gettext`` (Babel's,
for the request's language) and label picker; this is the deferred-translation pattern
of Babel's ``lazy_gettext``, without a proxy that would need a request to exist. The
msgids are extracted from the engine's sources by ``pybabel extract -k Msg`` (see
``web/babel.cfg``) into the main catalogue like the web's own strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


class Label:
    """A template label (text or ``{en: ..., zh-CN: ...}``) with the key it falls back on."""

    __slots__ = ("key", "locale", "value")

    def __init__(self, value: Any, key: str = "", locale: str = "en"):
        self.value = value
        self.key = key
        self.locale = locale  # the language of its plain text (``str()``): the writer's

    def __str__(self) -> str:
        if isinstance(self.value, str) and self.value:
            return self.value
        if isinstance(self.value, Mapping) and self.value:
            for lang in (self.locale, self.locale.split("-")[0], "en"):
                if self.value.get(lang):
                    return str(self.value[lang])
            return str(next(iter(self.value.values()), "") or self.key)
        return self.key

    def __repr__(self) -> str:
        return f"Label({self.value!r}, {self.key!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Label) and (self.value, self.key) == (other.value, other.key)

    def __hash__(self) -> int:
        return hash((repr(self.value), self.key))


class Msg(str):
    """An English message (a ``str``) that keeps its msgid and parameters for translation.

    ``Msg("must be at most %(n)s characters", n=200)`` equals the text
    ``"must be at most 200 characters"``; :func:`render` gives it in another language.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Msg:
        text = _format(msgid, {k: str(v) for k, v in params.items()}) if params else msgid
        self = super().__new__(cls, text)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self) -> tuple:
        return (_rebuild, (self.msgid, self.params))

    @classmethod
    def join(cls, parts: Iterable[Any], sep: str = "; ") -> Msg:
        """Several messages as one (each part rendered on its own, then joined by ``sep``)."""
        items = list(parts)
        if len(items) == 1 and isinstance(items[0], Msg):
            return items[0]
        msgid = sep.join(f"%(p{i})s" for i in range(len(items)))
        return cls(msgid, **{f"p{i}": part for i, part in enumerate(items)})


def _rebuild(msgid: str, params: dict) -> Msg:
    return Msg(msgid, **params)


def _format(pattern: str, params: Mapping[str, Any]) -> str:
    try:
        return pattern % params
    except (KeyError, ValueError, TypeError):  # a broken translation: never crash a page
        return pattern


def render(
    message: Any,
    gettext: Callable[[str], str],
    label: Callable[[Label], str] = str,
) -> str:
    """``message`` in the reader's language: a Msg through ``gettext`` (its parameters
    rendered the same way), a Label through ``label``, anything else as its text."""
    if isinstance(message, Label):
        return label(message)
    if not isinstance(message, Msg):
        return str(message)
    params = {k: render(v, gettext, label) for k, v in message.params.items()}
    pattern = gettext(message.msgid) if message.msgid else message.msgid
    if not params:
        return pattern
    text = _format(pattern, params)
    return text if text != pattern or "%(" not in pattern else _format(message.msgid, params)


def field_label(field: Any) -> Label:
    """The label of a Meta field (or record type) as a :class:`Label`."""
    return Label(getattr(field, "label", None), getattr(field, "key", ""))
