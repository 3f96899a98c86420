"""A zh-CN reader walks the app and never meets an English string the catalogues translate.

The compiled catalogues (every directory in BABEL_TRANSLATION_DIRECTORIES, so helpers'
own catalogues count too) say which English msgids have a Chinese translation; any text
node or visible attribute of a page that is exactly such a msgid (parameters matched as
wildcards) was rendered without translation. A second test checks that every msgid in
the sources (``_()``, ``ngettext`` and the engine's ``Msg``) has a Chinese translation.
"""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from web_helpers import login, post

ROOT = Path(__file__).resolve().parents[2] / "platform" / "tessera"
ZH = "zh-CN,zh;q=0.9"
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


def _catalogues(app) -> list[gettext.GNUTranslations]:
    dirs = app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")
    return [
        gettext.GNUTranslations(open(mo, "rb"))  # noqa: SIM115
        for d in dirs
        for mo in Path(d).glob("zh/LC_MESSAGES/*.mo")
    ]


def english_msgids(app) -> tuple[set[str], list[re.Pattern]]:
    """(msgids without parameters, patterns of those with) that have a different zh text."""
    plain, patterns = set(), []
    for cat in _catalogues(app):
        for key, value in cat._catalog.items():  # the compiled entries
            msgid = key[0] if isinstance(key, tuple) else key
            if not msgid or value == msgid or len(msgid.strip()) < 2:
                continue
            if "%(" in msgid or "%s" in msgid or "%d" in msgid:
                parts = re.split(r"%\(\w+\)[sd]|%[sd]", msgid)
                if len(re.findall("[A-Za-z]", "".join(parts))) < 3:
                    continue  # only punctuation around parameters: nothing English to see
                patterns.append(re.compile(".+?".join(map(re.escape, parts)) + r"\Z", re.S))
            elif "{" not in msgid:
                plain.add(msgid.strip())
    return plain, patterns


class _Texts(HTMLParser):
    """Visible text nodes and attributes, skipping scripts, styles, code and lang=en bits."""

    SKIP = {"script", "style", "code", "pre", "textarea"}

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.SKIP or a.get("lang") == "en":
            if tag not in ("input", "img", "br", "meta", "link"):
                self._skip.append(tag)
            return
        self.texts += [a[k] for k in ATTRIBUTES if a.get(k)]

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def untranslated(page: str, plain: set[str], patterns: list[re.Pattern]) -> list[str]:
    """English catalogue strings found on ``page``."""
    parser = _Texts()
    parser.feed(page)
    found = []
    for text in parser.texts:
        if text in plain or any(p.match(text) for p in patterns if len(text) < 300):
            found.append(text)
    return found


@pytest.fixture
def zh_client(web_app, tessera):
    """alice (admin) in Chinese, with a few records to show."""
    r = tessera.records
    acme = r.create("crm", "customer", {"name": "安可公司", "tier": "high"})
    deal = r.create("crm", "opportunity", {"name": "大单", "customer": acme["id"], "amount": "9"})
    r.create(
        "crm",
        "follow_up",
        {"subject": "回访", "customer": acme["id"], "next_at": "2026-12-08T02:00"},
    )
    c = web_app.test_client()
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH
    login(c, "alice")
    c.ids = {"acme": acme["id"], "deal": deal["id"]}
    return c


def _pages(c, app) -> list[tuple[str, object]]:
    crm = app.extensions["tessera"].registry.apps["crm"]
    acme, deal = c.ids["acme"], c.ids["deal"]
    paths = ["/", "/a/crm", "/a/crm/r/customer", "/me", "/me/tokens", "/no/such/page"]
    paths += [f"/a/crm/v/{v.key}" for v in crm.views]  # every view type of the CRM
    paths += [
        f"/a/crm/r/customer/{acme}",
        f"/a/crm/r/opportunity/{deal}",
        f"/a/crm/r/customer/{acme}/edit",
        "/a/crm/r/customer/new",
        "/a/crm/r/customer/999999",
        "/builder/",
        "/builder/crm",
        "/builder/crm/review",
        "/automation/",
        "/automation/runs",
        "/automation/recipes",
        "/automation/queue",
        "/automation/mail",
        "/admin/users",
        "/admin/teams",
        "/admin/audit",
        "/a/crm/import/customer",
        f"/a/crm/r/customer/{acme}/access",
    ]
    pages = [(p, c.get(p)) for p in paths]
    pages.append(("form with errors", post(c, "/a/crm/r/customer/new", {"name": "", "email": "x"})))
    pages.append(
        (
            "edit with errors",
            post(c, f"/a/crm/r/opportunity/{deal}/edit", {"stage": "lost", "version": "1"}),
        )
    )
    return pages


def test_no_english_catalogue_string_on_any_page_in_chinese(zh_client, web_app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("pages are the same on both databases; walked once")
    plain, patterns = english_msgids(web_app)
    assert "Sign out" in plain and "required" in plain  # the catalogues were read
    problems = {}
    for name, response in _pages(zh_client, web_app):
        assert response.status_code < 500, name
        page = response.get_data(as_text=True)
        assert 'lang="zh-CN"' in page, name
        found = untranslated(page, plain, patterns)
        if found:
            problems[name] = found
    assert not problems, problems


def test_the_walker_finds_english(web_app):
    plain, patterns = english_msgids(web_app)
    page = '<p>Sign out</p><p title="Saved 3 rows">ok</p><button lang="en">English</button>'
    assert untranslated(page, plain, patterns) == ["Sign out"] or "Sign out" in untranslated(
        page, plain, patterns
    )
    assert untranslated("<p>退出登录</p><script>var x='Sign out'</script>", plain, patterns) == []


def test_every_source_msgid_has_a_chinese_translation(web_app):
    from babel.messages.extract import extract_from_dir

    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "Msg": None}
    translated = set()
    for cat in _catalogues(web_app):
        translated |= {k[0] if isinstance(k, tuple) else k for k, v in cat._catalog.items() if v}
    missing = []
    for filename, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid and msgid not in translated:
            missing.append(f"{filename}: {msgid}")
    assert not missing, "\n".join(missing)
