"""Unit tests: sandboxed rendering, the action registry, static checks and loop warnings."""

from __future__ import annotations

import pytest
from automation_helpers import DESK

from tessera.automation import actions, checks
from tessera.automation.render import RecordView, RenderError, UserView, render_text, render_value
from tessera.meta import app_from_data


def view(values, links=None):
    return RecordView(values, lambda key, value: (links or {}).get(key, value))


def test_render_text_and_native_values():
    customer = view({"id": 3, "name": "Acme"})
    ctx = {
        "record": view(
            {"id": 7, "subject": "Broken", "customer": 3, "hours": 2.5}, {"customer": customer}
        ),
        "vars": {"n": 4},
        "old": {"hours": 1},
    }
    assert (
        render_text("{{ record.subject }} for {{ record.customer.name }}", ctx) == "Broken for Acme"
    )
    assert render_value("{{ record.hours * 2 }}", ctx) == 5.0
    assert render_value("{{ record.customer }}", ctx) == 3  # a linked record becomes its id
    assert render_value({"a": ["{{ vars.n }}", "x{{ vars.n }}"]}, ctx) == {"a": [4, "x4"]}
    assert render_value("{{ old.hours }}", ctx) == 1
    assert render_value("no template", ctx) == "no template"
    assert str(UserView(5, lambda uid: {"display_name": "Ann"})) == "5"
    assert (
        render_text("{{ u.name }}", {"u": UserView(5, lambda uid: {"display_name": "Ann"})})
        == "Ann"
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ record.__class__ }}",
        "{{ record._values }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_refuses_internals(template):
    with pytest.raises(RenderError):
        render_text(template, {"record": view({"id": 1})})


def test_render_errors_name_the_template():
    with pytest.raises(RenderError, match=r"cannot render '\{\{ record.nope \}\}'"):
        render_value("{{ record.nope }}", {"record": view({"id": 1})})
    with pytest.raises(RenderError, match="unexpected"):
        render_text("{{ record.name ", {"record": view({})})


def test_registry_lists_builtins_and_suggests_names():
    assert actions.names() == sorted(
        [
            "assign",
            "find_records",
            "create_record",
            "decrement",
            "increment",
            "dingtalk",
            "feishu",
            "if",
            "notify",
            "send_email",
            "set_variable",
            "update_record",
            "wait",
            "webhook",
            "wecom",
        ]
    )
    with pytest.raises(KeyError, match='did you mean "notify"'):
        actions.get("notfy")


def test_third_party_action_registers_the_public_way():
    class Shout(actions.Action):
        name, effect, required = "test_shout", "local", ("text",)

        def run(self, ctx, params):
            return {"shouted": params["text"].upper()}

    actions.register(Shout())
    assert actions.get("test_shout").run(None, {"text": "hi"}) == {"shouted": "HI"}
    actions._REGISTRY.pop("test_shout")


def _app(workflows):
    return app_from_data({**DESK, "workflows": workflows}, app_checks=False)  # checked below


def test_action_problems_have_paths():
    app = _app(
        [
            {
                "key": "w",
                "record_type": "customer",
                "trigger": {"on": "record.created"},
                "actions": [
                    {"do": "notfy", "to": "x"},
                    {"do": "update_record", "values": {"scroe": 1}},
                    {"do": "create_record", "record_type": "nope", "values": {}},
                    {"do": "webhook"},
                    {
                        "do": "if",
                        "condition": {"field": "name", "op": "is_empty"},
                        "then": [
                            {"do": "notify", "to": "x", "message": "{{ record.name ", "colour": 1}
                        ],
                    },
                    {"do": "wait", "for": "soon"},
                    {"do": "wecom", "url": "https://x"},
                    {"do": "assign", "role": "sales", "field": "name"},
                ],
            }
        ]
    )
    found = [(p.path, p.message) for p in checks.problems(app)]
    assert found == [
        ("workflows[0].actions[0].do", "unknown action 'notfy'; did you mean \"notify\"?"),
        ("workflows[0].actions[1].values.scroe", 'customer has no field "scroe"'),
        ("workflows[0].actions[2].record_type", 'no record type "nope"'),
        ("workflows[0].actions[3].url", '"webhook" needs "url"'),
        ("workflows[0].actions[4].then[0].colour", '"notify" has no parameter "colour"'),
        (
            "workflows[0].actions[4].then[0].message",
            "template does not parse: unexpected end of template, "
            "expected 'end of print statement'.",
        ),
        ("workflows[0].actions[5].for", '"soon" is not a duration like 30m, 2h, 1d, 1w'),
        ("workflows[0].actions[6].text", '"wecom" needs either "text" or "markdown"'),
        ("workflows[0].actions[7].field", 'customer has no user field "name"'),
    ]


def test_loop_warnings_self_and_cycle():
    app = _app(
        [
            {
                "key": "selfie",
                "record_type": "customer",
                "trigger": {"on": "record.updated"},
                "actions": [{"do": "update_record", "values": {"score": 1}}],
            },
            {
                "key": "a",
                "record_type": "ticket",
                "trigger": {"on": "field.changed", "fields": ["status"]},
                "actions": [
                    {"do": "create_record", "record_type": "task", "values": {"title": "t"}}
                ],
            },
            {
                "key": "b",
                "record_type": "task",
                "trigger": {"on": "record.created"},
                "actions": [
                    {
                        "do": "update_record",
                        "record_type": "ticket",
                        "record_id": 1,
                        "values": {"status": "open"},
                    }
                ],
            },
            {
                "key": "quiet",
                "record_type": "customer",
                "trigger": {"on": "field.changed", "fields": ["status"]},
                "actions": [{"do": "update_record", "values": {"score": 2}}],
            },
        ]
    )
    found = [(p.path, p.message) for p in checks.loop_warnings(app)]
    assert found[0][0] == "workflows[0]" and "trigger it again" in found[0][1]
    assert found[1:] == [
        ("workflows[1]", "workflows can trigger each other in a cycle: a -> b -> a"),
        ("workflows[2]", "workflows can trigger each other in a cycle: b -> a -> b"),
    ]
