"""Date-times are entered and shown in the reader's zone (stored UTC) on every page; dates
stay dates; relative filters use the reader's day; the app's TIME_ZONE is the default."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from web_helpers import login, post

from tessera import users

SH = "Asia/Shanghai"


def utc(value: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL aware."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def shanghai(web_app, tessera):
    """alice, whose zone is Asia/Shanghai, signed in."""
    alice = next(u for u, n in users.display_names(tessera.engine) if n == "Alice Admin")
    users.save_preferences(tessera.engine, alice, timezone=SH)
    c = web_app.test_client()
    login(c, "alice")
    return c


@pytest.fixture
def acme(tessera):
    return tessera.records.create("crm", "customer", {"name": "Acme"})


def test_entered_10_00_is_stored_02_00_utc_and_shown_10_00_everywhere(shanghai, tessera, acme):
    r = post(
        shanghai,
        "/a/crm/r/follow_up/new",
        {"subject": "Visit", "customer": acme["id"], "next_at": "2026-12-08T10:00"},
    )
    assert r.status_code == 302, html(r)
    rid = int(r.headers["Location"].rsplit("/", 1)[1])
    stored = utc(tessera.records.get("crm", "follow_up", rid)["next_at"])
    assert stored == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
    record_page = html(shanghai.get(f"/a/crm/r/follow_up/{rid}"))
    assert ">2026-12-08 10:00<" in record_page and ">2026-12-08 02:00" not in record_page
    assert 'value="2026-12-08T10:00"' in html(shanghai.get(f"/a/crm/r/follow_up/{rid}/edit"))
    table = html(shanghai.get("/a/crm/v/follow_ups"))
    assert "2026-12-08 10:00" in table
    cal = html(shanghai.get("/a/crm/v/follow_up_calendar?date=2026-12-08&mode=week"))
    day = re.search(r'data-date="2026-12-08".*?</div>', cal, re.S).group(0)
    assert "10:00" in day and "Visit" in day
    csv = shanghai.get("/a/crm/v/follow_ups/export?format=csv").get_data(as_text=True)
    assert "2026-12-08 10:00" in csv


def test_saving_the_form_again_keeps_the_moment(shanghai, tessera, acme):
    fu = tessera.records.create(
        "crm", "follow_up", {"subject": "x", "customer": acme["id"], "next_at": "2026-12-08T02:00Z"}
    )
    form = {"subject": "y", "customer": acme["id"], "next_at": "2026-12-08T10:00", "version": "1"}
    assert post(shanghai, f"/a/crm/r/follow_up/{fu['id']}/edit", form).status_code == 302
    after = utc(tessera.records.get("crm", "follow_up", fu["id"])["next_at"])
    assert after == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def test_date_only_fields_are_not_shifted(shanghai, tessera, acme):
    r = post(shanghai, f"/a/crm/r/customer/{acme['id']}/edit",
             {"name": "Acme", "last_purchase_at": "2026-12-08", "version": "1"})  # fmt: skip
    assert r.status_code == 302
    assert tessera.records.get("crm", "customer", acme["id"])["last_purchase_at"] == date(
        2026, 12, 8
    )
    assert "2026-12-08" in html(shanghai.get(f"/a/crm/r/customer/{acme['id']}"))


def test_without_a_zone_the_app_setting_applies(web_app, tessera, acme):
    web_app.config["TIME_ZONE"] = "America/New_York"
    tessera.records.create(
        "crm", "follow_up", {"subject": "x", "customer": acme["id"], "next_at": "2026-07-01T13:00Z"}
    )
    c = web_app.test_client()
    login(c, "bob")
    with web_app.test_request_context("/"):
        from tessera.web.i18n import user_zone

        assert str(user_zone()) == "America/New_York"


def test_today_is_the_readers_day(tessera, acme):
    late = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai, still the 8th there
    tessera.records.create(
        "crm", "follow_up", {"subject": "x", "customer": acme["id"], "next_at": late}
    )
    tessera.queries.clock = lambda: datetime(2026, 12, 8, 17, 0, tzinfo=UTC)  # the 9th in SH
    today = {"field": "next_at", "op": "eq", "value": "today"}
    in_utc = tessera.queries.list("crm", "follow_up", filter=today)
    from tessera.timezones import zone

    in_shanghai = tessera.queries.list("crm", "follow_up", filter=today, zone=zone(SH))
    assert len(in_utc.rows) == 1 and in_shanghai.rows == []
    yesterday = {"field": "next_at", "op": "eq", "value": "yesterday"}
    assert len(tessera.queries.list("crm", "follow_up", filter=yesterday, zone=zone(SH)).rows) == 1
