"""Naming series: auto_number labels from a pattern with date parts and a counter.

A pattern is literal text with placeholders: ``{YYYY}`` (year), ``{YY}`` (two-digit
year), ``{MM}`` (month), ``{DD}`` (day) and exactly one counter ``{#####}`` whose number
of ``#`` is the zero-padded width (a larger number is never cut). The counter restarts
each *period*: the finest date part the pattern shows (``{DD}``: daily, ``{MM}``:
monthly, ``{YYYY}``/``{YY}``: yearly; none: never). Dates are those of the creation
time in the field's ``timezone`` (UTC when none), so "the year" is the user's year.

``CRM-LEAD-{YYYY}-{#####}`` gives ``CRM-LEAD-2026-00001``, ... and ``CRM-LEAD-2027-00001``
on the first record of 2027. The records layer keeps one counter row per period.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

TOKEN = re.compile(r"\{([^{}]*)\}")
DATE_PARTS = {"YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d"}
COUNTER = re.compile(r"#+")
MAX_WIDTH = 20
MAX_LENGTH = 64  # the column is String(64)


def problems(fmt: str) -> list[tuple[str, str | None]]:
    """(message, hint) pairs for a pattern that cannot number records; [] when fine."""
    found: list[tuple[str, str | None]] = []
    tokens = TOKEN.findall(fmt)
    for token in tokens:
        if token not in DATE_PARTS and not COUNTER.fullmatch(token):
            hint = "use {YYYY}, {YY}, {MM}, {DD} and one counter like {#####}"
            found.append((f'unknown placeholder "{{{token}}}"', hint))
    counters = [t for t in tokens if COUNTER.fullmatch(t)]
    if len(counters) != 1:
        what = "no counter" if not counters else f"{len(counters)} counters"
        found.append((f"a naming series needs exactly one counter {{###}}, found {what}", None))
    elif len(counters[0]) > MAX_WIDTH:
        found.append((f"a counter is at most {MAX_WIDTH} digits wide", None))
    if "{" in TOKEN.sub("", fmt) or "}" in TOKEN.sub("", fmt):
        found.append(("unbalanced { or } in the pattern", "placeholders look like {YYYY}"))
    parts = {t for t in tokens if t in DATE_PARTS}
    if "MM" in parts and not parts & {"YYYY", "YY"}:
        hint = "add {YYYY}: a counter restarting each month would repeat numbers every year"
        found.append(("{MM} without a year", hint))
    if "DD" in parts and "MM" not in parts:
        hint = "add {MM} (and {YYYY}): a daily counter would repeat numbers every month"
        found.append(("{DD} without a month", hint))
    if not found and len(render(fmt, 10 ** len(counters[0]) - 1, EXAMPLE)) > MAX_LENGTH:
        found.append((f"labels would be longer than {MAX_LENGTH} characters", None))
    return found


EXAMPLE = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)


def local(when: dt.datetime | None, timezone: str | None) -> dt.datetime:
    """``when`` (now when None) in ``timezone`` (UTC when None or unknown)."""
    when = when or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:  # the records layer's clock is UTC
        when = when.replace(tzinfo=dt.UTC)
    try:
        zone = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return when.astimezone(zone)


def render(fmt: str, n: int, when: dt.datetime) -> str:
    """The label of counter value ``n`` at local time ``when``."""

    def part(match: re.Match) -> str:
        token = match.group(1)
        if token in DATE_PARTS:
            return when.strftime(DATE_PARTS[token])
        return f"{n:0{len(token)}d}"

    return TOKEN.sub(part, fmt)


def period(fmt: str, when: dt.datetime) -> str:
    """The counter period of ``when``: ``2026``, ``2026-03``, ``2026-03-05`` or ''."""
    parts = set(TOKEN.findall(fmt)) & set(DATE_PARTS)
    if "DD" in parts:
        return when.strftime("%Y-%m-%d")
    if "MM" in parts:
        return when.strftime("%Y-%m")
    if parts & {"YYYY", "YY"}:
        return when.strftime("%Y")
    return ""
