"""The form designer's palette: every field type named and described in the user's words.

A field type registered by a plugin (or added later) without an entry here still shows,
with its schema description, so the palette never hides a type the engine knows.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from tessera.fields import base as field_registry

#: (type, icon, name, what it is for), in the order the palette shows them
_KNOWN = (
    ("text", "Aa", lambda: _("Single line text"), lambda: _("Names, titles, short answers")),
    ("long_text", "¶", lambda: _("Multi-line text"), lambda: _("Notes, descriptions, comments")),
    (
        "rich_text",
        "𝐁",
        lambda: _("Formatted text"),
        lambda: _("Descriptions with bold, lists, links"),
    ),
    ("number", "#", lambda: _("Number"), lambda: _("Quantities and counts, whole or decimal")),
    ("currency", "¥", lambda: _("Amount"), lambda: _("Money in one currency")),
    ("percent", "%", lambda: _("Percentage"), lambda: _("A share such as a discount")),
    ("rating", "★", lambda: _("Rating"), lambda: _("Stars, e.g. satisfaction")),
    ("boolean", "☑", lambda: _("Yes / no"), lambda: _("A tick box, e.g. consent")),
    ("date", "▦", lambda: _("Date"), lambda: _("A day, e.g. a birthday or deadline")),
    ("datetime", "◷", lambda: _("Date and time"), lambda: _("An appointment or a moment")),
    ("time", "◔", lambda: _("Time of day"), lambda: _("Opening hours, a start time")),
    ("duration", "⧗", lambda: _("Duration"), lambda: _("A length of time, e.g. 1h 30m")),
    ("email", "✉", lambda: _("E-mail"), lambda: _("An e-mail address, checked")),
    ("phone", "☎", lambda: _("Phone"), lambda: _("A phone number")),
    ("url", "↗", lambda: _("Web address"), lambda: _("A link to a web page")),
    ("select", "◉", lambda: _("Single choice"), lambda: _("Pick one from a list")),
    ("multi_select", "☰", lambda: _("Multiple choice"), lambda: _("Pick any number from a list")),
    ("link", "⇄", lambda: _("Link"), lambda: _("Points at one record of another type")),
    ("link_many", "⇶", lambda: _("Links"), lambda: _("Points at several records")),
    ("user", "☺", lambda: _("Person"), lambda: _("A user of this system, e.g. the owner")),
    ("attachment", "⊞", lambda: _("Attachment"), lambda: _("Files and pictures")),
    ("auto_number", "№", lambda: _("Auto number"), lambda: _("A running number like REG-0001")),
    ("formula", "ƒ", lambda: _("Formula"), lambda: _("Computed from other fields")),
    ("rollup", "Σ", lambda: _("Summary"), lambda: _("Count or total of records linking here")),
    ("lookup", "↪", lambda: _("Lookup"), lambda: _("Shows a field of the linked record")),
)


def palette(field_types: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The palette entries for the registered types (known ones first, in a useful order)."""
    out = []
    registered = set(field_registry.names())
    for key, icon, name, desc in _KNOWN:
        if key in registered:
            out.append({"type": key, "icon": icon, "name": name(), "desc": desc()})
    known = {k for k, *_ in _KNOWN}
    for key in sorted(registered - known):
        desc = str(field_types.get(key, {}).get("description") or "")
        out.append({"type": key, "icon": "▫", "name": key.replace("_", " "), "desc": desc})
    return out
