"""Messages from data (validation rules, option values) are text, never HTML nor formats."""

from __future__ import annotations

import yaml
from web_helpers import csrf

from tessera.meta import load_app
from tessera.storage import installer

TEMPLATE = {
    "id": "evil",
    "version": "1.0.0",
    "record_types": [
        {
            "key": "lead",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "stage", "type": "select", "options": [{"value": "a"}, {"value": "b"}]},
            ],
            "validations": [
                {
                    "when": {"field": "name", "op": "ne", "value": "bad"},
                    "message": {"en": "<script>alert(1)</script> 100% %(x)s", "zh-CN": "坏"},
                    "fields": ["name"],
                }
            ],
        }
    ],
    "forms": [
        {"key": "signup", "record_type": "lead", "public": True, "sections": [
            {"fields": ["name", "stage"]}
        ]}
    ],
}  # fmt: skip


def _install(tessera, tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(TEMPLATE))
    installer.install(tessera.engine, load_app(path), path.read_text())
    tessera.registry.reload()


def test_rule_message_on_a_public_form_is_escaped_text(anon, tessera, tmp_path):
    _install(tessera, tmp_path)
    token = csrf(anon, "/f/evil/signup")
    resp = anon.post("/f/evil/signup", data={"name": "bad", "_csrf": token})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 100% %(x)s" in page


def test_percent_in_an_option_value_is_a_clean_422(anon, tessera, tmp_path):
    _install(tessera, tmp_path)
    token = csrf(anon, "/f/evil/signup")
    for value in ("50% off", "<b>x</b>", "%(name)s"):
        resp = anon.post("/f/evil/signup", data={"name": "ok", "stage": value, "_csrf": token})
        assert resp.status_code == 422, value
        assert "<b>x</b>" not in resp.get_data(as_text=True)


def test_no_template_passes_data_through_gettext():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "platform" / "tessera" / "web" / "templates"
    for page in root.rglob("*.html"):
        calls = re.findall(r"\b_\(\s*([^'\"\s)][^)]*)\)", page.read_text("utf-8"))
        assert not calls, (page, calls)
