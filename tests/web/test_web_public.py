"""Public forms: signed-out submissions, validation, honeypot and rate limit."""

from __future__ import annotations

from web_helpers import csrf


def _submit(client, data: dict, ip: str = "10.0.0.1"):
    data = {"_csrf": csrf(client, "/f/crm/web_lead"), **data}
    return client.post("/f/crm/web_lead", data=data, environ_base={"REMOTE_ADDR": ip})


def test_public_form_shows_without_sign_in(anon):
    r = anon.get("/f/crm/web_lead")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Contact us" in page and 'name="website_url"' in page
    assert 'name="tier"' not in page  # only the form's fields
    assert "sidebar" not in page


def test_private_or_unknown_forms_are_404(anon):
    assert anon.get("/f/crm/customer_form").status_code == 404
    assert anon.get("/f/crm/nope").status_code == 404
    assert anon.get("/f/nope/web_lead").status_code == 404


def test_submission_creates_a_record_as_the_public_form(anon, tessera):
    r = _submit(anon, {"name": "Lead Person", "email": "lead@example.com"})
    assert r.status_code == 200 and "Thank you" in r.get_data(as_text=True)
    row = tessera.queries.list("crm", "lead", q="Lead Person").rows[0]
    history = tessera.records.history("crm", "lead", row["id"])
    assert history[0]["actor_ref"] == "public-form:web_lead" and history[0]["user_id"] is None


def test_validation_errors_keep_input(anon, tessera):
    r = _submit(anon, {"name": "", "email": "bad"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Nothing was sent" in page and 'value="bad"' in page
    assert tessera.queries.list("crm", "lead", with_total=True).total == 0


def test_honeypot_is_thanked_and_dropped(anon, tessera):
    r = _submit(anon, {"name": "Bot", "website_url": "http://spam.test"})
    assert r.status_code == 200 and "Thank you" in r.get_data(as_text=True)
    assert tessera.queries.list("crm", "lead", with_total=True).total == 0


def test_rate_limit_per_ip(anon, tessera):
    for i in range(3):  # PUBLIC_FORM_LIMIT is 3 in the fixture
        assert _submit(anon, {"name": f"P{i}", "email": f"p{i}@example.com"}).status_code == 200
    r = _submit(anon, {"name": "P3", "email": "p3@example.com"})
    assert r.status_code == 429 and "Too many submissions" in r.get_data(as_text=True)
    other = {"name": "Other IP", "email": "o@example.com"}
    assert _submit(anon, other, ip="10.0.0.2").status_code == 200
    assert tessera.queries.list("crm", "lead", with_total=True).total == 4


def test_rate_limiter_window():
    from tessera.web.public import RateLimiter

    limiter = RateLimiter()
    assert limiter.allow("k", 2, 60, now=0) and limiter.allow("k", 2, 60, now=1)
    assert not limiter.allow("k", 2, 60, now=2)
    assert limiter.allow("k", 2, 60, now=61)
