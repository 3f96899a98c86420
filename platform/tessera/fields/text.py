"""Text-like field types: text, long_text, email, phone, url.

Values are Python ``str``. Single-line types strip surrounding blanks; long_text keeps
them but normalises line endings to ``\\n``. Numbers given as JSON (a phone number
exported from a spreadsheet, say) are accepted and turned into text; other JSON
values are refused. Columns are ``String(max_length)`` when a ``max_length`` is set,
else ``Text`` (email: 254, url: 2048, phone: 32, following the relevant limits).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType, for_field
from tessera.messages import Msg
from tessera.meta.model import Field

TEXT_OPERATORS = frozenset(
    {
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "is_empty",
        "is_not_empty",
    }
)


class TextType(FieldType):
    """A single line of text; options ``max_length`` and ``pattern`` (a regex)."""

    name = "text"
    operators = TEXT_OPERATORS
    #: length limit when the field sets none (None: unlimited ``Text`` column)
    default_max_length: ClassVar[int | None] = None

    def max_length(self, field: Field) -> int | None:
        """The effective length limit of ``field``."""
        return field.opt("max_length", self.default_max_length)

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """``String(max_length)`` when limited, else ``Text``."""
        limit = self.max_length(field)
        return sa.String(limit) if limit else sa.Text()

    def coerce(self, field: Field, raw: Any) -> Any:
        """Text from a string (or a JSON number); blanks trimmed."""
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise FieldValueError(Msg("must be text"))
        return self.normalise(str(raw)) or None

    def normalise(self, text: str) -> str:
        """Tidy user input (single line: trim blanks)."""
        return text.strip()

    def validate(self, field: Field, value: Any) -> list[str]:
        """Length, pattern and the type's own shape."""
        problems = []
        limit = self.max_length(field)
        if limit and len(value) > limit:
            problems.append(Msg("must be at most %(n)s characters", n=limit))
        pattern = field.opt("pattern")
        if pattern and not _matches(pattern, value):
            hint = field.opt("pattern_message")
            problems.append(hint or Msg("does not match the required pattern %(p)s", p=pattern))
        shape = self.check_shape(value)
        if shape:
            problems.append(shape)
        return problems

    def check_shape(self, value: str) -> str | None:
        """A message when ``value`` is not shaped like this type (plain text: never)."""
        return None

    def convert(self, old_field: Field, new_field: Field, value: Any) -> Any:
        """Anything readable becomes text: lists, yes/no and files use their display text."""
        old = for_field(old_field)
        raw = old.to_json(old_field, value)
        if isinstance(raw, list | dict | bool):
            raw = old.format(old_field, value, "en")
        return self.coerce_valid(new_field, raw)


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False  # the loader rejects bad patterns; never crash on a stored one


class LongTextType(TextType):
    """Multi-line text; option ``max_length``. Line endings become ``\\n``."""

    name = "long_text"

    def normalise(self, text: str) -> str:
        """Keep the text, but one kind of line ending and no trailing blank lines."""
        return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


# pragmatic, not RFC 5322: one @, no blanks, a dotted domain with a 2+ letter TLD
_EMAIL = re.compile(r"[^@\s]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+?[0-9 ()./-]+(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?", re.IGNORECASE)


class EmailType(TextType):
    """An e-mail address; the domain is lower-cased."""

    name = "email"
    default_max_length = 254

    def normalise(self, text: str) -> str:
        """Trim, and lower-case the domain (the local part is case-sensitive by RFC)."""
        text = text.strip()
        local, at, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}" if at else text

    def check_shape(self, value: str) -> str | None:
        """``name@example.com`` shape."""
        return None if _EMAIL.fullmatch(value) else Msg("not a valid e-mail address")


class PhoneType(TextType):
    """A phone number: digits with optional +, spaces, dashes, dots, brackets, extension."""

    name = "phone"
    default_max_length = 32

    def normalise(self, text: str) -> str:
        """Trim and collapse runs of blanks."""
        return " ".join(text.split())

    def check_shape(self, value: str) -> str | None:
        """Between 5 and 20 digits in an allowed shape."""
        digits = sum(c.isdigit() for c in value)
        if not _PHONE.fullmatch(value) or not 5 <= digits <= 20:
            return Msg("not a valid phone number")
        return None


class UrlType(TextType):
    """A web address; ``example.com`` is stored as ``https://example.com``."""

    name = "url"
    default_max_length = 2048

    def normalise(self, text: str) -> str:
        """Trim; add ``https://`` to a bare domain."""
        text = text.strip()
        if text and "://" not in text and re.match(r"[\w-]+(\.[\w-]+)+(/|$|:|\?)", text):
            return f"https://{text}"
        return text

    def check_shape(self, value: str) -> str | None:
        """http(s) scheme, a host, no blanks."""
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        ok = parts and parts.scheme in ("http", "https") and parts.hostname
        if not ok or any(c.isspace() for c in value):
            return Msg("not a valid URL (expected http:// or https://...)")
        return None


builtin = [TextType(), LongTextType(), EmailType(), PhoneType(), UrlType()]
