"""Rich text: HTML restricted to a safe subset, sanitised on every write.

Sanitising lives in ``coerce``, so every write path (form, API, import, workflow)
stores only the safe subset: the records service cleans every value with its type.
The sanitiser is nh3 (Rust's ammonia): an allow-list of tags and attributes, links
limited to http(s)/mailto with ``rel="noopener noreferrer"`` added, ``<script>`` and
``<style>`` removed with their content, comments dropped. Plain text without tags is
escaped and its line breaks kept as ``<br>``, so importing a plain cell still reads well.

Stored as ``Text``; JSON is the sanitised HTML; ``format`` is the plain text (table
cells, exports, e-mails), the record page renders the HTML itself (web/present.py).
Option ``max_length`` bounds the stored HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

import nh3
import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType
from tessera.fields.text import TEXT_OPERATORS
from tessera.messages import Msg
from tessera.meta.model import Field

TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "a", "h3", "h4"}
    | {"blockquote", "code", "pre", "hr", "span", "div", "sub", "sup"}
)
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_TAG = re.compile(r"<[a-zA-Z/!]")
_BLOCK_END = re.compile(r"</(p|div|li|h3|h4|blockquote|pre)>|<br\s*/?>|<hr\s*/?>", re.I)


def sanitize(text: str) -> str:
    """The safe subset of ``text`` (plain text is escaped, its line breaks kept)."""
    if not _TAG.search(text):
        text = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")
    return nh3.clean(
        text,
        tags=set(TAGS),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def plain_text(value: str) -> str:
    """The text of sanitised HTML, block ends as line breaks (for cells and exports)."""
    text = _BLOCK_END.sub("\n", value)
    text = nh3.clean(text, tags=set())  # drop every remaining tag, keep the text
    lines = (" ".join(html.unescape(line).split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class RichTextType(FieldType):
    """Formatted text: HTML with a safe subset of tags."""

    name = "rich_text"
    operators = TEXT_OPERATORS

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """Text."""
        return sa.Text()

    def coerce(self, field: Field, raw: Any) -> Any:
        """Sanitised HTML; empty markup (``<p></p>``, ``<br>``) is empty."""
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise FieldValueError(Msg("must be text (HTML)"))
        clean = sanitize(raw)
        return clean if plain_text(clean) or "<hr" in clean else None

    def validate(self, field: Field, value: Any) -> list[str]:
        """Option max_length on the stored HTML."""
        limit = field.opt("max_length")
        if limit and len(value) > limit:
            return [f"must be at most {limit} characters (formatting included)"]
        return []

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """The plain text."""
        return "" if value is None else plain_text(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        """HTML text."""
        return {"type": "string", "contentMediaType": "text/html"}


builtin = [RichTextType()]
