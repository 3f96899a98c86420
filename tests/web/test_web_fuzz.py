"""Every route of the app (read from Flask's url_map) fed hostile paths, queries and bodies.

New routes are covered without new code: path arguments get known-good values mixed with
giant integers, control characters, NUL, lone surrogates and deep JSON; query strings
and form bodies get the same. The only assertion is the one that matters for abuse:
never a 500 (and a 4xx comes back as a page or the JSON error shape, no traceback).
Bounded: a fixed number of examples per database.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_helpers import csrf
from werkzeug.datastructures import MultiDict

from tessera.demo import load_demo

GIANT = ["10" + "0" * 19, str(2**63), str(2**63 - 1), str(2**64), "9" * 40, "-" + "9" * 30]
HOSTILE = [
    *GIANT,
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\r\nSet-Cookie: x=1",
    "\t",
    "%",
    "100%",
    "%(x)s",
    "50% off",
    "[" * 600 + "]" * 600,
    '{"not":' * 600 + "{}" + "}" * 600,
    json.dumps({"any": [{"field": "name", "op": "eq", "value": str(i)} for i in range(1500)]}),
    "0001-01-01",
    "9999-12-31",
    "9999-W52",
    "²",
    "user:²",
    "0000-00-00",
    "-1",
    "1e999",
    "nan",
    "//evil.example",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "",
]
hostile = st.sampled_from(HOSTILE) | st.text(max_size=20)

KNOWN = {
    "app_id": ["crm", "nope"],
    "rt_key": ["customer", "opportunity", "follow_up", "ticket"],
    "view_key": ["customers", "lifecycle", "pipeline", "follow_up_calendar", "all-customer"],
    "form_key": ["web_lead", "customer_form"],
    "wf_key": ["follow_up_reminder", "dormant_customers"],
    "field": ["contract", "name"],
    "key": ["nope"],
}
INTS = ["1", "2", *GIANT[:5]]
PARAMS = [
    "page", "sort", "q", "filter", "date", "next", "cursor", "form", "id", "version",
    "limit", "offset", "before", "run", "record_id", "target", "ids", "set", "action",
    "variant", "name", "mode", "f.stage", "f.name", "customer", "as_of", "to", "stage",
    "locale", "workflow", "secret", "username", "password",
]  # fmt: skip
SKIP = {"static", "web.static", "auth.logout"}  # logout would end the fuzzing session


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP]


def _segment(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _path(rule, draw) -> str:
    values = {}
    for name, conv in rule._converters.items():
        if type(conv).__name__ == "IntegerConverter":
            values[name] = draw(st.sampled_from(INTS))
        else:
            known = st.sampled_from(KNOWN.get(name, ["x"]))
            values[name] = draw(known if draw(st.integers(0, 3)) else hostile)
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: _segment(values[m.group(1)]), rule.rule)


def _query(items) -> str:
    return "&".join(f"{_segment(k)}={_segment(v)}" for k, v in items)


@st.composite
def requests(draw, rules):
    rule = draw(st.sampled_from(rules))
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    pairs = draw(st.lists(st.tuples(st.sampled_from(PARAMS), hostile), max_size=4))
    body = draw(st.none() | st.sampled_from(HOSTILE) | st.lists(hostile, max_size=2))
    return rule, method, _path(rule, draw), pairs, body


def _encodable(value: str) -> str:
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _send(client, token, method, path, pairs, body):
    query = _query(pairs)
    url = f"{path}?{query}" if query else path
    headers = {"X-CSRF-Token": token}
    if method == "GET":
        return client.get(url)
    if isinstance(body, list) or (isinstance(body, str) and body.startswith(("[", "{"))):
        raw = body if isinstance(body, str) else json.dumps(body)
        return client.open(
            url, method=method, data=raw, content_type="application/json", headers=headers
        )
    form = MultiDict([(k, _encodable(v)) for k, v in pairs] + [("_csrf", token)])
    return client.open(url, method=method, data=form, headers=headers)


FUZZ = settings(
    max_examples=int(os.environ.get("TESSERA_FUZZ_EXAMPLES", 250)),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fuzz_client(web_app, tessera):
    crm = Path(__file__).resolve().parents[2] / "templates_builtin" / "crm"
    load_demo(tessera, "crm", crm / "demo.yaml")
    client = web_app.test_client()
    from web_helpers import login

    login(client, "alice")
    return client


def test_every_route_never_500(web_app, fuzz_client):
    token = csrf(fuzz_client, "/")
    rules = _rules(web_app)

    failures = {} if os.environ.get("TESSERA_FUZZ_COLLECT") else None

    @FUZZ
    @given(req=requests(rules))
    def run(req):
        rule, method, path, pairs, body = req
        resp = _send(fuzz_client, token, method, path, pairs, body)
        text = resp.get_data(as_text=True)
        if failures is not None and resp.status_code >= 500:
            failures.setdefault(rule.endpoint, (method, path, pairs, str(body)[:80]))
            return
        assert resp.status_code < 500, (method, path, pairs, body, text[:2000])
        assert "Traceback" not in text

    run()
    assert not failures, "\n".join(f"{k}: {v}" for k, v in (failures or {}).items())
