"""The activity timeline names robots and forms in words, not raw references."""

from __future__ import annotations

import pytest

from tessera.web.records import _who


@pytest.mark.parametrize(
    "entry, expected",
    [
        ({"user_id": None, "actor_kind": "workflow", "actor_ref": "3/0"}, "Workflow run #3"),
        ({"user_id": 7, "actor_kind": "api_token", "actor_ref": "2"}, "Ann (API)"),
        (
            {"user_id": None, "actor_kind": "user", "actor_ref": "public-form:web_lead"},
            "Public form web_lead",
        ),
        ({"user_id": 7, "actor_kind": "user", "actor_ref": None}, "Ann"),
        ({"user_id": None, "actor_kind": "system", "actor_ref": None}, "system"),
    ],
)
def test_who(flask_app, entry, expected):
    with flask_app.test_request_context():
        assert _who(entry, {7: "Ann"}) == expected


def test_who_in_chinese(flask_app):
    entry = {"user_id": None, "actor_kind": "workflow", "actor_ref": "5/1"}
    with flask_app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert _who(entry, {}) == "工作流运行 #5"
