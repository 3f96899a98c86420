"""Validator errors of field behaviour: defaults, read_only/set_once, currency_field,
duration/time values, form tabs and columns — each with its path, line and hint."""

from __future__ import annotations

import pytest

HEAD = """\
id: desk
version: "1.0"
record_types:
  - key: ticket
    fields:
      - {key: title, type: text}
      - {key: code, type: select, options: [{value: CNY}, {value: USD}]}
      - {key: opened, type: date}
"""

CASES = [
    (
        "bad-default-expression",
        "      - {key: due, type: date, default: {expr: 'today( + 7'}}\n",
        "record_types[0].fields[3].default.expr",
        "default expression does not parse: ",
    ),
    (
        "default-expression-unknown-field",
        "      - {key: due, type: date, default: {expr: 'openned + 7'}}\n",
        "record_types[0].fields[3].default.expr",
        'default expression: unknown field "openned" on ticket — did you mean "opened"?',
    ),
    (
        "read-only-required-without-default",
        "      - {key: sla_due, type: datetime, read_only: true, required: true}\n",
        "record_types[0].fields[3].required",
        "a read_only field that is required needs a default: people cannot fill it in — "
        "add a default (e.g. default: now), or drop required and let a workflow set it",
    ),
    (
        "set-once-on-a-formula",
        "      - {key: f, type: formula, formula: '1 + 1', set_once: true}\n",
        "record_types[0].fields[3].set_once",
        'unknown key "set_once" — allowed keys: key, type, label, help, renamed_from, formula, ',
    ),
    (
        "read-only-and-set-once",
        "      - {key: ref, type: text, read_only: true, set_once: true}\n",
        "record_types[0].fields[3].set_once",
        "a field cannot be both read_only and set_once — read_only: only workflows and "
        "imports write it; set_once: people write it once",
    ),
    (
        "unknown-currency-field",
        "      - {key: amount, type: currency, currency_field: cod}\n",
        "record_types[0].fields[3].currency_field",
        'unknown field "cod" on ticket — did you mean "code"?',
    ),
    (
        "currency-field-not-text",
        "      - {key: amount, type: currency, currency_field: opened}\n",
        "record_types[0].fields[3].currency_field",
        '"opened" is a date: a currency code is text — name a text or select field holding '
        "codes such as CNY, USD",
    ),
    (
        "me-on-a-text-field",
        "      - {key: who, type: text, default: $me}\n",
        "record_types[0].fields[3].default",
        "$me is the current user: it only suits a user field, not a text",
    ),
    (
        "user-default-not-me",
        "      - {key: owner, type: user, default: alice}\n",
        "record_types[0].fields[3].default",
        "a user field's default must be \"$me\", not 'alice'",
    ),
    (
        "bad-date-default",
        "      - {key: due, type: date, default: next week}\n",
        "record_types[0].fields[3].default",
        '"next week" is not a date — write YYYY-MM-DD, today, +7d, start_of_month, '
        "or {expr: today() + 7}",
    ),
    (
        "bad-duration",
        "      - {key: spent, type: duration, max: 3 fortnights}\n",
        "record_types[0].fields[3].max",
        '"3 fortnights" is not a duration — write e.g. "1h 30m"',
    ),
    (
        "duration-min-above-max",
        "      - {key: spent, type: duration, min: 2h, max: 90m}\n",
        "record_types[0].fields[3].min",
        "min (2h) is longer than max (90m)",
    ),
    (
        "bad-time",
        "      - {key: opens, type: time, default: '25:00'}\n",
        "record_types[0].fields[3].default",
        '"25:00" is not a time of day — write HH:MM',
    ),
]


@pytest.mark.parametrize(
    ("line", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_behaviour_rule(one, line, path, message):
    problem = one(HEAD + line)
    assert problem.path == path
    full = f"{problem.message} — {problem.hint}" if problem.hint else problem.message
    if message.endswith(" "):
        assert full.startswith(message), full
    else:
        assert full == message
    assert problem.line == 9  # the added field's line


def test_form_columns_are_bounded(one):
    text = HEAD + (
        "forms:\n"
        "  - key: f\n"
        "    record_type: ticket\n"
        "    sections: [{title: A, tab: Main, columns: 7, fields: [title]}]\n"
    )
    problem = one(text)
    assert problem.path == "forms[0].sections[0].columns"
    assert problem.line == 12


def test_a_good_template_compiles_every_behaviour(tmp_path):
    from tessera.meta import load_app

    good = HEAD + (
        "      - {key: owner, type: user, default: $me, set_once: true}\n"
        "      - {key: due, type: date, default: {expr: 'today() + 7'}}\n"
        "      - {key: sla_at, type: datetime, read_only: true}\n"
        "      - {key: amount, type: currency, currency: CNY, currency_field: code}\n"
        "      - {key: spent, type: duration, default: 30m, max: 8h}\n"
        "      - {key: opens, type: time, default: '09:00'}\n"
        "      - {key: body, type: rich_text}\n"
        "      - {key: agree, type: boolean, required: true}\n"
        "forms:\n"
        "  - key: f\n"
        "    record_type: ticket\n"
        "    sections:\n"
        "      - {title: A, tab: {en: Main, zh-CN: 主要}, columns: 2, fields: [title, owner]}\n"
        "      - {title: B, tab: More, fields: [body]}\n"
    )
    path = tmp_path / "t.yaml"
    path.write_text(good, encoding="utf-8")
    app = load_app(path)
    rt = app.record_type("ticket")
    assert rt.field("sla_at").opt("read_only") is True
    assert rt.field("owner").opt("set_once") is True
    assert rt.field("due").default == {"expr": "today() + 7"}
    assert rt.field("amount").opt("currency_field") == "code"
    first = app.forms[0].sections[0]
    assert (dict(first.tab), first.columns) == ({"en": "Main", "zh-CN": "主要"}, 2)

    from tessera.meta.dump import dump_app

    dumped = dump_app(app)
    section = dumped["forms"][0]["sections"][0]
    assert section["tab"] == {"en": "Main", "zh-CN": "主要"} and section["columns"] == 2
    fields = {f["key"]: f for f in dumped["record_types"][0]["fields"]}
    assert fields["sla_at"]["read_only"] is True and fields["owner"]["default"] == "$me"


def test_removing_a_field_takes_out_the_settings_that_name_it():
    from tessera.meta.usages import remove_field

    data = {
        "id": "desk",
        "version": "1",
        "record_types": [
            {
                "key": "ticket",
                "fields": [
                    {"key": "code", "type": "text"},
                    {"key": "price", "type": "currency", "currency_field": "code"},
                    {"key": "days", "type": "number"},
                    {"key": "due", "type": "date", "default": {"expr": "today() + days"}},
                ],
            }
        ],
    }
    out, usages = remove_field(data, "ticket", "code")
    assert "currency_field" not in out["record_types"][0]["fields"][0]
    assert [(u.kind, u.effect) for u in usages] == [("currency_field", "changed")]
    out, usages = remove_field(data, "ticket", "days")
    assert "default" not in out["record_types"][0]["fields"][2]
    assert [(u.kind, u.path) for u in usages] == [("default", "record_types[0].fields[2].default")]
