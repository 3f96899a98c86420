"""Public forms: a per-form rate limit (shared store), the share page with link and QR code."""

from __future__ import annotations

import yaml
from tableui_app import events_data
from web_helpers import csrf

SIGNUP = {
    "key": "signup",
    "record_type": "registration",
    "public": True,
    "label": {"en": "Sign up", "zh-CN": "报名"},
    "sections": [{"fields": ["guest"]}],
}


def _with_forms(tessera) -> None:
    data = events_data()
    data["version"] = "1.1.0"
    desk = {**SIGNUP, "key": "desk", "rate_limit": {"count": 60, "per": 60}}
    data["forms"] = [SIGNUP, desk]
    from tessera.meta import app_from_data
    from tessera.storage import installer

    installer.upgrade(tessera.engine, app_from_data(data), yaml.safe_dump(data))
    tessera.registry.reload()


def _submit(client, form: str, name: str, ip: str = "10.0.0.1"):
    data = {"guest": name, "_csrf": csrf(client, f"/f/events/{form}")}
    return client.post(f"/f/events/{form}", data=data, environ_base={"REMOTE_ADDR": ip})


def test_rate_limit_is_per_form(web_app, tessera):
    web_app.config["PUBLIC_FORM_LIMIT"] = 5
    _with_forms(tessera)
    anon = web_app.test_client()
    for i in range(5):
        assert _submit(anon, "signup", f"S{i}").status_code == 200
    assert _submit(anon, "signup", "S5").status_code == 429  # the app default: 5 a minute
    for i in range(30):  # a registration desk on one Wi-Fi: 60 a minute
        assert _submit(anon, "desk", f"D{i}").status_code == 200, i
    assert tessera.queries.list("events", "registration", with_total=True).total == 35


def test_share_page_has_link_copy_button_and_qr(client, tessera):
    _with_forms(tessera)
    page = client.get("/a/events/forms/desk/share").get_data(as_text=True)
    assert 'value="http://localhost/f/events/desk"' in page and 'id="copy-link"' in page
    assert "<svg" in page and "60 submissions per 60 seconds" in page
    r = client.get("/a/events/forms/desk/qr.svg")
    assert r.mimetype == "image/svg+xml" and r.get_data(as_text=True).lstrip().startswith("<svg")
    assert client.get("/a/events/forms/nope/share").status_code == 404
    assert "/a/events/forms/signup/share" in client.get("/a/events").get_data(as_text=True)


def test_rate_limit_template_errors_name_the_path():
    import pytest

    from tessera.errors import TemplateError
    from tessera.meta import app_from_data

    data = events_data()
    data["forms"] = [{**SIGNUP, "rate_limit": {"count": 0}}]
    with pytest.raises(TemplateError, match=r"forms\[0\]\.rate_limit"):
        app_from_data(data)


def test_rate_limit_on_a_signed_in_form_is_refused():
    import pytest

    from tessera.errors import TemplateError
    from tessera.meta import app_from_data

    data = events_data()
    data["forms"] = [{**SIGNUP, "public": False, "rate_limit": {"count": 9}}]
    with pytest.raises(TemplateError, match=r"forms\[0\]\.rate_limit: rate_limit only applies"):
        app_from_data(data)
