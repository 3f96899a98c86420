"""date and datetime."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from field_helpers import clean, error, make_field

from tessera import fields
from tessera.fields.base import for_field

UTC = dt.UTC


def test_date_from_form_and_objects():
    assert clean("date", "2026-11-25") == dt.date(2026, 11, 25)
    assert clean("date", " 2026-11-25 ") == dt.date(2026, 11, 25)
    assert clean("date", dt.date(2026, 1, 2)) == dt.date(2026, 1, 2)
    assert clean("date", "") is None


@pytest.mark.parametrize(
    "bad", ["25/11/2026", "2026-13-01", "2026-11-25T09:00", "tomorrow", 20261125]
)
def test_date_bad(bad):
    assert error("date", bad).startswith("not a date (expected YYYY-MM-DD")


def test_date_refuses_datetime_object():
    assert "without a time" in error("date", dt.datetime(2026, 1, 1, 9))


def test_date_range():
    opts = {"min": "2026-01-01", "max": "2026-12-31"}
    assert error("date", "2025-12-31", **opts) == "must be between 2026-01-01 and 2026-12-31"
    assert error("date", "2025-12-31", min="2026-01-01") == "must be on or after 2026-01-01"
    assert error("date", "2027-01-01", max="2026-12-31") == "must be on or before 2026-12-31"


def test_date_json_format_column():
    dtp, f = fields.get("date"), make_field("date")
    assert dtp.to_json(f, dt.date(2026, 11, 25)) == "2026-11-25"
    assert dtp.format(f, dt.date(2026, 11, 25), "zh-CN") == "2026-11-25"
    assert isinstance(dtp.column_type(f), sa.Date)
    assert {"within_last_days", "before_today", "between"} <= dtp.operators


def test_datetime_naive_is_utc():
    value = clean("datetime", "2026-11-25T09:00")
    assert value == dt.datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-25T17:00+08:00",
        "2026-11-25T09:00:00Z",
        "2026-11-25 09:00:00",
        dt.datetime(2026, 11, 25, 9),
        dt.datetime(2026, 11, 25, 4, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ],
)
def test_datetime_inputs_become_utc(raw):
    assert clean("datetime", raw) == dt.datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_datetime_bare_date_is_midnight():
    assert clean("datetime", "2026-11-25") == dt.datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["soon", "2026-11-25T25:00", 12, "2026/11/25 09:00"])
def test_datetime_bad(bad):
    assert error("datetime", bad) == "not a date and time (expected YYYY-MM-DDTHH:MM)"


def test_datetime_range():
    msg = error("datetime", "2026-11-25T09:00", max="2026-11-25T08:00")
    assert msg == "must be on or before 2026-11-25 08:00 UTC"


def test_datetime_json_format_column():
    t, f = fields.get("datetime"), make_field("datetime")
    value = dt.datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert t.to_json(f, value) == "2026-11-25T09:00:00+00:00"
    assert t.format(f, value) == "2026-11-25 09:00 UTC"
    # SQLite returns naive datetimes: read as UTC
    assert t.to_json(f, dt.datetime(2026, 11, 25, 9)) == "2026-11-25T09:00:00+00:00"
    col = t.column_type(f)
    assert isinstance(col, sa.DateTime) and col.timezone is True


def test_convert_between_date_and_datetime():
    d, t = make_field("date"), make_field("datetime")
    moment = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert for_field(d).convert(t, d, moment) == dt.date(2026, 11, 26)
    assert for_field(t).convert(d, t, dt.date(2026, 11, 25)) == dt.datetime(
        2026, 11, 25, tzinfo=UTC
    )
    txt = make_field("text")
    assert for_field(d).convert(txt, d, "2026-02-03") == dt.date(2026, 2, 3)
    with pytest.raises(fields.base.FieldValueError, match="not a date"):
        for_field(d).convert(txt, d, "03/02/2026")
