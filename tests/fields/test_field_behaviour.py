"""duration, time and rich_text types; computed defaults; read_only/set_once refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from field_helpers import clean, error, make_field

from tessera import fields
from tessera.meta.model import Field, RecordType, freeze
from tessera.records import behaviour, defaults
from tessera.records.actor import Actor

NOW = dt.datetime(2026, 12, 8, 23, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "seconds", "en", "zh"),
    [
        ("1h 30m", 5400, "1h 30m", "1小时30分"),
        ("90m", 5400, "1h 30m", "1小时30分"),
        ("1:30", 5400, "1h 30m", "1小时30分"),
        ("1.5h", 5400, "1h 30m", "1小时30分"),
        ("1小时30分", 5400, "1h 30m", "1小时30分"),
        ("2d 4h", 187200, "2d 4h", "2天4小时"),
        ("45s", 45, "45s", "45秒"),
        ("90", 5400, "1h 30m", "1小时30分"),  # a bare number typed in a form: minutes
        (5400, 5400, "1h 30m", "1小时30分"),  # a JSON number: seconds
        ("0m", 0, "0m", "0分"),
    ],
)
def test_duration_reads_what_people_type_and_shows_it_humanly(typed, seconds, en, zh):
    f = make_field("duration")
    ft = fields.get("duration")
    assert ft.clean(f, typed) == seconds
    assert (ft.format(f, seconds, "en"), ft.format(f, seconds, "zh-CN")) == (en, zh)


@pytest.mark.parametrize("bad", ["soon", "1h banana", "1:75", True, [1], "-5m"])
def test_duration_refuses_what_is_not_a_duration(bad):
    assert "duration" in error("duration", bad) or "between" in error("duration", bad)


def test_duration_bounds_are_durations():
    assert error("duration", "9h", max="8h") == "must be at most 8h"
    assert error("duration", "5m", min="15m") == "must be at least 15m"
    assert clean("duration", "8h", max="8h") == 28800


def test_spreadsheet_cells_of_durations_and_times():
    duration, time = fields.get("duration"), fields.get("time")
    assert duration.from_cell(make_field("duration"), dt.timedelta(hours=1, minutes=30)) == 5400
    assert duration.from_cell(make_field("duration"), dt.time(0, 45)) == 2700
    assert duration.from_cell(make_field("duration"), " 2h ") == "2h"
    assert time.from_cell(make_field("time"), dt.datetime(1899, 12, 30, 9, 5)) == dt.time(9, 5)


def test_time_of_day():
    ft, f = fields.get("time"), make_field("time")
    assert ft.clean(f, "9:05") == dt.time(9, 5)
    assert ft.to_json(f, dt.time(9, 5)) == "09:05"
    assert ft.format(f, dt.time(9, 5, 30)) == "09:05:30"
    assert "time of day" in error("time", "25:00")
    assert "time of day" in error("time", "2026-01-01T09:00")
    assert error("time", "07:00", min="08:00") == "must be at or after 08:00"
    assert error("time", "19:00", max="18:00") == "must be at or before 18:00"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("<p>Hi <b>there</b></p>", "<p>Hi <b>there</b></p>"),
        ("<p onclick='x()'>a<script>alert(1)</script></p>", "<p>a</p>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        (
            '<a href="https://e.com">x</a>',
            '<a href="https://e.com" rel="noopener noreferrer">x</a>',
        ),
        ("<img src=x onerror=alert(1)>text", "text"),
        ("<style>p{}</style><p>ok</p>", "<p>ok</p>"),
        ("a < b\nnext", "a &lt; b<br>next"),  # plain text: escaped, lines kept
        ("<p></p><br>", None),  # markup without text is empty
    ],
)
def test_rich_text_keeps_only_the_safe_subset(raw, stored):
    assert clean("rich_text", raw) == stored


def test_rich_text_formats_as_plain_text():
    ft, f = fields.get("rich_text"), make_field("rich_text")
    value = ft.clean(f, "<p>Hello <b>you</b></p><ul><li>one</li><li>two &amp; three</li></ul>")
    assert ft.format(f, value) == "Hello you\none\ntwo & three"


def test_required_rich_text_without_text_is_missing():
    assert error("rich_text", "<p> </p>", required=True) == "required"


def _field(type_: str, default, key: str = "f") -> Field:
    return Field(key=key, type=type_, label=freeze({"en": key}), default=freeze(default))


def test_defaults_are_computed_at_creation():
    assert defaults.resolve(_field("user", "$me"), now=NOW, me=7) == 7
    assert defaults.resolve(_field("user", "$me"), now=NOW) is None  # the system: nobody
    assert defaults.resolve(_field("date", "today"), now=NOW) == dt.date(2026, 12, 8)
    assert defaults.resolve(_field("date", "+7d"), now=NOW) == dt.date(2026, 12, 15)
    assert defaults.resolve(_field("datetime", "now"), now=NOW) == NOW
    assert defaults.resolve(_field("time", "now"), now=NOW) == dt.time(23, 30)
    due = _field("date", {"expr": "today() + 7"})
    assert defaults.is_computed(due)
    assert defaults.resolve(due, now=NOW) == dt.date(2026, 12, 15)
    tax = _field("number", {"expr": "amount * 0.1"})
    assert defaults.resolve(tax, now=NOW, values={"amount": 50}) == 5
    assert defaults.resolve(_field("number", {"expr": "'a' - 1"}), now=NOW) is None
    assert not defaults.is_computed(_field("text", "China"))


def _rt(*fields_: Field) -> RecordType:
    return RecordType(key="t", label=freeze({"en": "T"}), fields=tuple(fields_))


def _opt(type_: str, key: str, **options) -> Field:
    return Field(key=key, type=type_, label=freeze({"en": key}), options=freeze(options))


PERSON = Actor(user_id=3, kind="user")
TOKEN = Actor(user_id=3, kind="api_token")
ROBOT = Actor(user_id=3, kind="workflow")
IMPORT = Actor(user_id=3, kind="import")


def test_people_may_not_write_read_only_fields_robots_and_imports_may():
    rt = _rt(_opt("datetime", "sla_at", read_only=True), _opt("text", "name"))
    given = {"sla_at": NOW, "name": "x"}
    for person in (PERSON, TOKEN):
        assert behaviour.refusals(rt, given, given, person) == {"sla_at": [behaviour.READ_ONLY]}
    for robot in (ROBOT, IMPORT, Actor()):
        assert behaviour.refusals(rt, given, given, robot) == {}
    # sending back the stored value unchanged is fine; an empty value on create too
    assert behaviour.refusals(rt, given, given, PERSON, current={"sla_at": NOW}) == {}
    assert behaviour.refusals(rt, {"sla_at": None}, {"sla_at": None}, PERSON) == {}


def test_set_once_fields_are_given_at_creation_and_never_changed_by_people():
    rt = _rt(_opt("text", "ref", set_once=True))
    assert behaviour.refusals(rt, {"ref": "A"}, {"ref": "A"}, PERSON) == {}
    changed = behaviour.refusals(rt, {"ref": "B"}, {"ref": "B"}, PERSON, current={"ref": "A"})
    assert changed == {"ref": [behaviour.SET_ONCE]}
    # still empty: it may be filled once; a workflow may correct it
    assert behaviour.refusals(rt, {"ref": "B"}, {"ref": "B"}, PERSON, current={"ref": None}) == {}
    assert behaviour.refusals(rt, {"ref": "B"}, {"ref": "B"}, ROBOT, current={"ref": "A"}) == {}
