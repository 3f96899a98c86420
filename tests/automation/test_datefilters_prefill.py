"""Workflow template helpers: working-day date filters and signed public-form prefill links."""

from __future__ import annotations

import datetime as dt

import pytest

from tessera import prefill
from tessera.automation.builtin import truthy
from tessera.automation.datefilters import (
    add_days,
    add_hours,
    add_months,
    add_working_days,
    at_time,
    days_since,
    end_of,
    start_of,
)
from tessera.automation.render import RenderError, render_value

FRI = dt.datetime(2026, 3, 6, 17, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (FRI, 1, dt.datetime(2026, 3, 9, 17, 30, tzinfo=dt.UTC)),  # Friday + 1 = Monday
        (FRI, 5, dt.datetime(2026, 3, 13, 17, 30, tzinfo=dt.UTC)),
        (dt.date(2026, 3, 7), 1, dt.date(2026, 3, 9)),  # Saturday + 1 = Monday
        (dt.date(2026, 3, 7), 0, dt.date(2026, 3, 9)),  # 0 on a weekend: the next working day
        (dt.date(2026, 3, 9), -1, dt.date(2026, 3, 6)),  # Monday - 1 = Friday
        ("2026-03-04", 2, dt.date(2026, 3, 6)),
    ],
)
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_other_date_filters():
    assert add_days("2026-02-27", 2) == dt.date(2026, 3, 1)
    assert add_months("2026-01-31", 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 3, 15), -14) == dt.date(2025, 1, 15)
    assert start_of("2026-05-20", "quarter") == dt.date(2026, 4, 1)
    assert end_of("2026-05-20", "quarter") == dt.date(2026, 6, 30)
    assert (start_of(FRI, "week"), end_of(FRI, "month")) == (
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 31),
    )
    assert add_hours(FRI, 8) == dt.datetime(2026, 3, 7, 1, 30, tzinfo=dt.UTC)
    assert at_time(FRI, "09:00") == dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC)
    assert at_time(dt.date(2026, 3, 6), "10:15") == dt.datetime(2026, 3, 6, 10, 15)
    assert days_since(FRI, dt.datetime(2026, 3, 5, 5, 30, tzinfo=dt.UTC)) == 1.5
    assert days_since(FRI, dt.date(2026, 2, 27)) == 7  # a date against a datetime: whole days
    with pytest.raises(ValueError, match="at most"):
        add_days(FRI, 10**6)
    with pytest.raises(ValueError, match="not a date"):
        add_days("soon", 1)


def test_filters_in_templates_keep_types():
    ctx = {"now": FRI}
    value = render_value("{{ now | add_working_days(1) | at_time('09:00') }}", ctx)
    assert value == dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)
    with pytest.raises(RenderError, match="not a date"):
        render_value("{{ 'x' | add_days(1) }}", ctx)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("True", True), ("false", False), ("0", False), ("None", False), ("", False),
     ("yes", True), (3, True), ([], False)],
)  # fmt: skip
def test_if_test_truthiness(value, expected):
    assert truthy(value) is expected


def test_prefill_token_round_trip_and_refusals():
    token = prefill.sign("s3cret", "crm", "rate", {"ticket": 7})
    assert prefill.read("s3cret", "crm", "rate", token) == {"ticket": 7}
    with pytest.raises(prefill.PrefillError, match="changed or is from elsewhere"):
        prefill.read("other-secret", "crm", "rate", token)
    with pytest.raises(prefill.PrefillError, match="changed or is from elsewhere"):
        prefill.read("s3cret", "crm", "rate", token[:-2] + "xx")
    with pytest.raises(prefill.PrefillError, match="belongs to another form"):
        prefill.read("s3cret", "crm", "web_lead", token)
    url = prefill.link({"SECRET_KEY": "s3cret", "PUBLIC_BASE_URL": "https://x.example/"},
                       "crm", "rate", {"ticket": 7})  # fmt: skip
    assert url.startswith("https://x.example/f/crm/rate?prefill=")
