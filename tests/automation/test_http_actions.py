"""Webhook and group-robot actions against a local stub server; the private-address guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from automation_helpers import desk, drain, install, run_rows

from tessera.automation import runs as ops
from tessera.automation.actions import ActionError
from tessera.automation.http import check_url, post_json


class Stub:
    """Records every POST; replies with ``reply`` (JSON) and ``status``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.reply: dict = {"errcode": 0, "errmsg": "ok"}
        self.status = 200
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                data = json.dumps(stub.reply).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.server.shutdown()


@pytest.fixture
def t(quiet_app, quiet_users):
    return quiet_app.extensions["tessera"]


def test_private_and_loopback_addresses_are_refused_by_default():
    for url in (
        "http://127.0.0.1:8080/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
    ):
        with pytest.raises(ActionError, match="private or loopback address; an admin can allow"):
            check_url(url, {})
    with pytest.raises(ActionError, match="must be an http"):
        check_url("file:///etc/passwd", {})
    check_url("http://127.0.0.1:8080/x", {"WEBHOOK_ALLOW_PRIVATE": True})


def test_post_json_retries_server_errors_then_fails(stub):
    stub.status = 503
    with pytest.raises(ActionError, match=r"failed after 3 tries: HTTP 503"):
        post_json(stub.url + "/hook", {"a": 1}, {"WEBHOOK_ALLOW_PRIVATE": True}, retries=2)
    assert len(stub.requests) == 3
    stub.status = 400
    with pytest.raises(ActionError, match="refused: HTTP 400"):
        post_json(stub.url + "/hook", {"a": 1}, {"WEBHOOK_ALLOW_PRIVATE": True}, retries=2)
    assert len(stub.requests) == 4  # 4xx is not retried


def test_webhook_action_posts_record_with_idempotency_key(t, stub):
    install(
        t,
        desk(
            [
                {
                    "key": "hook",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [{"do": "webhook", "url": stub.url + "/in"}],
                }
            ]
        ),
    )
    c = t.records.create("desk", "customer", {"name": "Acme", "score": 3})
    drain(t)
    (req,) = stub.requests
    run_id = run_rows(t)[0]["id"]
    assert req["headers"]["Idempotency-Key"] == f"tessera-{run_id}-0"
    body = req["json"]
    assert (body["app"], body["workflow"], body["record_type"], body["run_id"]) == (
        "desk",
        "hook",
        "customer",
        run_id,
    )
    assert (
        body["record"]["id"] == c["id"] and body["record"]["name"] == "Acme" and body["old"] is None
    )


def test_webhook_to_loopback_fails_the_run_unless_allowed(t, stub):
    t.config["WEBHOOK_ALLOW_PRIVATE"] = False
    t.config["AUTOMATION_RETRIES"] = 0
    install(
        t,
        desk(
            [
                {
                    "key": "hook",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [{"do": "webhook", "url": stub.url + "/in"}],
                }
            ]
        ),
    )
    t.records.create("desk", "customer", {"name": "Acme"})
    drain(t)
    (run,) = run_rows(t)
    assert run["status"] == "failed" and "private or loopback address" in run["error"]
    assert stub.requests == []


def _robot_run(t, stub, action):
    install(
        t,
        desk(
            [
                {
                    "key": "bot",
                    "record_type": "customer",
                    "trigger": {"on": "record.created"},
                    "actions": [{**action, "url": stub.url + action.get("url", "/robot")}],
                }
            ]
        ),
    )
    t.records.create("desk", "customer", {"name": "Acme"})
    drain(t)
    return stub.requests


def test_wecom_text_message(t, stub):
    (req,) = _robot_run(
        t, stub, {"do": "wecom", "text": "New: {{ record.name }}", "mentions": ["13800000000"]}
    )
    assert req["json"] == {
        "msgtype": "text",
        "text": {"content": "New: Acme", "mentioned_mobile_list": ["13800000000"]},
    }


def test_wecom_markdown_message(t, stub):
    (req,) = _robot_run(t, stub, {"do": "wecom", "markdown": "**{{ record.name }}**"})
    assert req["json"] == {"msgtype": "markdown", "markdown": {"content": "**Acme**"}}


def test_dingtalk_signed_text(t, stub):
    secret = "SECabc"
    (req,) = _robot_run(
        t,
        stub,
        {
            "do": "dingtalk",
            "url": "/robot/send?access_token=T",
            "text": "Hi {{ record.name }}",
            "secret": secret,
        },
    )
    assert req["json"] == {
        "msgtype": "text",
        "text": {"content": "Hi Acme"},
        "at": {"atMobiles": [], "isAtAll": False},
    }
    query = parse_qs(urlsplit(req["path"]).query)
    stamp = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["access_token"] == ["T"] and query["sign"] == [expected]


def test_feishu_signed_text_and_error_code(t, stub):
    stub.reply = {"code": 0, "msg": "success"}
    (req,) = _robot_run(t, stub, {"do": "feishu", "text": "Hi {{ record.name }}", "secret": "s3"})
    body = req["json"]
    expected = base64.b64encode(
        hmac.new(f"{body['timestamp']}\ns3".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body == {
        "timestamp": body["timestamp"],
        "sign": expected,
        "msg_type": "text",
        "content": {"text": "Hi Acme"},
    }


def test_robot_error_code_fails_the_step(t, stub):
    t.config["AUTOMATION_RETRIES"] = 0
    stub.reply = {"errcode": 310000, "errmsg": "sign not match"}
    _robot_run(t, stub, {"do": "dingtalk", "text": "x"})
    (run,) = run_rows(t)
    assert run["status"] == "failed"
    assert run["error"] == "dingtalk robot refused the message: code 310000: sign not match"
    step = ops.get_run(t, run["id"])["steps"][0]
    assert (step["status"], step["error"]) == ("failed", run["error"])


def test_feishu_markdown_card(t, stub):
    stub.reply = {"code": 0}
    (req,) = _robot_run(
        t, stub, {"do": "feishu", "markdown": "**{{ record.name }}**", "title": "New"}
    )
    assert req["json"] == {
        "msg_type": "interactive",
        "card": {
            "elements": [{"tag": "markdown", "content": "**Acme**"}],
            "header": {"title": {"tag": "plain_text", "content": "New"}},
        },
    }
