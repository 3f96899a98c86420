"""One test per validation rule: the message, the path and the line of the problem."""

from __future__ import annotations

import pytest
from meta_helpers import BASE

NAME = "{key: name, type: text}"
TIER = "{key: tier, type: select, options: [{value: high}, {value: low}]}"
TOTAL = "{key: total, type: number}"


def swap(old: str, new: str) -> str:
    """BASE with one snippet replaced (the snippet must be there)."""
    assert old in BASE
    return BASE.replace(old, new)


def plus(section: str, *items: str) -> str:
    """BASE plus a views/forms/workflows section; its first item is on line 16."""
    return BASE + f"{section}:\n" + "".join(f"  - {item}\n" for item in items)


# (id, template text, path, str(problem) without the location, line)
CASES = [
    # -- schema: types, keys, typos ---------------------------------------------------
    (
        "unknown-field-type",
        swap(NAME, "{key: name, type: emial}"),
        "record_types[0].fields[0].type",
        'unknown type "emial" — did you mean "email"?',
        7,
    ),
    (
        "unknown-key",
        swap(NAME, "{key: name, type: text, lable: Name}"),
        "record_types[0].fields[0].lable",
        'unknown key "lable" — did you mean "label"?',
        7,
    ),
    (
        "unknown-key-no-close-match",
        swap(TOTAL, "{key: total, type: number, zzz: 1}"),
        "record_types[1].fields[1].zzz",
        'unknown key "zzz" — allowed keys: key, type, label, help, renamed_from, required, '
        "unique, read_only, set_once, min, max, scale, precision, default",
        14,
    ),
    (
        "option-of-another-type",
        swap(NAME, "{key: name, type: text, currency: CNY}"),
        "record_types[0].fields[0].currency",
        'unknown key "currency" — allowed keys: key, type, label, help, renamed_from, '
        "required, unique, read_only, set_once, max_length, pattern, pattern_message, default",
        7,
    ),
    (
        "missing-required-option",
        swap(TIER, "{key: tier, type: select}"),
        "record_types[0].fields[1]",
        'missing required key "options"',
        8,
    ),
    (
        "wrong-value-type",
        swap(NAME, "{key: name, type: text, max_length: ten}"),
        "record_types[0].fields[0].max_length",
        'expected whole number, found the text "ten" — the most characters allowed',
        7,
    ),
    (
        "minimum",
        swap(NAME, "{key: name, type: text, max_length: 0}"),
        "record_types[0].fields[0].max_length",
        "must be at least 1, found 0",
        7,
    ),
    (
        "unquoted-version",
        swap('version: "1.0"', "version: 1.0"),
        "version",
        'expected text, found the number 1.0 — a version such as 1.0.0 (quote it in YAML: "1.0")',
        2,
    ),
    (
        "missing-top-level-key",
        swap('version: "1.0"\n', ""),
        "",
        'missing required key "version"',
        1,
    ),
    (
        "bad-enum-value",
        swap(
            "{key: customer, type: link, to: customer}",
            "{key: customer, type: link, to: customer, on_delete: cascde}",
        ),
        "record_types[1].fields[0].on_delete",
        'unknown on_delete "cascde" — did you mean "cascade"?',
        13,
    ),
    (
        "currency-code-format",
        swap("currency: CNY", "currency: yuan"),
        "record_types[0].fields[3].currency",
        '"yuan" is not in the expected format — an ISO 4217 code such as CNY, USD, EUR',
        10,
    ),
    # -- identifiers and keys ---------------------------------------------------------
    (
        "app-id-identifier",
        swap("id: shop", "id: my-shop"),
        "id",
        '"my-shop" is not a valid key — lowercase letters, digits and _, starting with a '
        'letter, at most 40 characters (e.g. "my_shop")',
        1,
    ),
    (
        "field-key-identifier",
        swap(TOTAL, "{key: Total, type: number}"),
        "record_types[1].fields[1].key",
        '"Total" is not a valid key — lowercase letters, digits and _, starting with a '
        'letter, at most 40 characters (e.g. "total")',
        14,
    ),
    (
        "identifier-too-long",
        swap(TOTAL, "{key: " + "t" * 41 + ", type: number}"),
        "record_types[1].fields[1].key",
        f'"{"t" * 41}" is not a valid key — lowercase letters, digits and _, starting with a '
        f'letter, at most 40 characters (e.g. "{"t" * 40}")',
        14,
    ),
    (
        "duplicate-record-type",
        swap("  - key: order\n", "  - key: customer\n"),
        "record_types[1].key",
        'duplicate record type key "customer" (also at record_types[0])',
        11,
    ),
    (
        "duplicate-field",
        swap(TOTAL, "{key: customer, type: number}"),
        "record_types[1].fields[1].key",
        'duplicate field key "customer" (also at record_types[1].fields[0])',
        14,
    ),
    (
        "duplicate-view",
        plus(
            "views",
            "{key: all, type: table, record_type: order}",
            "{key: all, type: table, record_type: customer}",
        ),
        "views[1].key",
        'duplicate view key "all" (also at views[0])',
        17,
    ),
    (
        "duplicate-form",
        plus(
            "forms",
            "{key: f, record_type: order, sections: [{fields: [total]}]}",
            "{key: f, record_type: order, sections: [{fields: [total]}]}",
        ),
        "forms[1].key",
        'duplicate form key "f" (also at forms[0])',
        17,
    ),
    (
        "duplicate-workflow",
        plus(
            "workflows",
            "{key: w, trigger: {on: manual}, actions: [{do: log}]}",
            "{key: w, trigger: {on: manual}, actions: [{do: log}]}",
        ),
        "workflows[1].key",
        'duplicate workflow key "w" (also at workflows[0])',
        17,
    ),
    (
        "reserved-field-name",
        swap(TOTAL, "{key: created_at, type: datetime}"),
        "record_types[1].fields[1].key",
        '"created_at" is a reserved field name — the engine adds id, created_at, updated_at, '
        "created_by, updated_by, version itself; pick another name",
        14,
    ),
    (
        "table-name-too-long",
        swap("  - key: order\n", "  - key: " + "o" * 40 + "\n").replace(
            "id: shop", "id: " + "s" * 25
        ),
        "record_types[1].key",
        f'the table name "rt_{"s" * 25}_{"o" * 40}" would be 69 characters — shorten the app '
        "id or keys to at most 63 in total",
        11,
    ),
    # -- record types and fields ------------------------------------------------------
    (
        "link-target-exists",
        swap("to: customer}", "to: custmer}"),
        "record_types[1].fields[0].to",
        'record type "custmer" does not exist — did you mean "customer"?',
        13,
    ),
    (
        "required-link-set-null",
        swap("to: customer}", "to: customer, required: true, on_delete: set_null}"),
        "record_types[1].fields[0].on_delete",
        "a required link cannot use on_delete: set_null — use restrict or cascade, or make "
        "the link optional",
        13,
    ),
    (
        "title-exists",
        swap("title: name", "title: nam"),
        "record_types[0].title",
        'title field "nam" does not exist — did you mean "name"?',
        5,
    ),
    (
        "index-field-exists",
        swap(
            "      - {key: total, type: number}\n",
            "      - {key: total, type: number}\n    indexes: [[customer, totl]]\n",
        ),
        "record_types[1].indexes[0][1]",
        'index field "totl" does not exist — did you mean "total"?',
        15,
    ),
    (
        "index-field-stored",
        swap(TOTAL, "{key: tags, type: link_many, to: customer}\n    indexes: [[tags]]"),
        "record_types[1].indexes[0][0]",
        'cannot index "tags": a link_many has no column',
        15,
    ),
    (
        "number-min-max",
        swap(TOTAL, "{key: total, type: number, min: 10, max: 1}"),
        "record_types[1].fields[1].min",
        "min (10) is greater than max (1)",
        14,
    ),
    (
        "number-default-in-range",
        swap(TOTAL, "{key: total, type: number, min: 0, default: -1}"),
        "record_types[1].fields[1].default",
        "default (-1) is below min (0)",
        14,
    ),
    (
        "rating-default-in-range",
        swap(TOTAL, "{key: total, type: rating, max: 5, default: 6}"),
        "record_types[1].fields[1].default",
        "default (6) is above max (5)",
        14,
    ),
    (
        "date-bounds-valid",
        swap("{key: since, type: date}", '{key: since, type: date, min: "2024-02-30"}'),
        "record_types[0].fields[2].min",
        '"2024-02-30" is not a valid date',
        9,
    ),
    (
        "date-min-max",
        swap(
            "{key: since, type: date}",
            '{key: since, type: date, min: "2024-02-01", max: "2024-01-01"}',
        ),
        "record_types[0].fields[2].min",
        "min (2024-02-01) is after max (2024-01-01)",
        9,
    ),
    (
        "select-default-among-options",
        swap(
            TIER, "{key: tier, type: select, default: hihg, options: [{value: high}, {value: low}]}"
        ),
        "record_types[0].fields[1].default",
        'default "hihg" is not one of the options — did you mean "high"?',
        8,
    ),
    (
        "multi-select-defaults-among-options",
        swap(
            TIER, "{key: tier, type: multi_select, default: [high, mid], options: [{value: high}]}"
        ),
        "record_types[0].fields[1].default",
        'default "mid" is not one of the options',
        8,
    ),
    (
        "option-values-unique",
        swap(TIER, "{key: tier, type: select, options: [{value: high}, {value: high}]}"),
        "record_types[0].fields[1].options[1].value",
        'duplicate option value "high"',
        8,
    ),
    (
        "text-pattern-compiles",
        swap(NAME, '{key: name, type: text, pattern: "[a-"}'),
        "record_types[0].fields[0].pattern",
        "invalid regular expression: unterminated character set at position 0",
        7,
    ),
    (
        "formula-parses",
        swap(TOTAL, '{key: total, type: formula, formula: "1 +"}'),
        "record_types[1].fields[1].formula",
        "formula does not parse: ",
        14,
    ),
    (
        "formula-fields-exist",
        swap(TOTAL, '{key: total, type: formula, formula: "customer.spent * 2 + discount"}'),
        "record_types[1].fields[1].formula",
        'formula: unknown field "discount" on order',
        14,
    ),
    (
        "formula-dotted-field-exists",
        swap(TOTAL, '{key: total, type: formula, formula: "customer.spnt"}'),
        "record_types[1].fields[1].formula",
        'formula: unknown field "spnt" on customer — did you mean "spent"?',
        14,
    ),
    (
        "formula-cycle",
        swap(
            TOTAL,
            '{key: total, type: formula, formula: "tax + 1"}\n'
            '      - {key: tax, type: formula, formula: "total * 0.1"}',
        ),
        "record_types[1].fields[1].formula",
        "formulas depend on each other: total -> tax -> total",
        14,
    ),
    (
        "formula-self-reference",
        swap(TOTAL, '{key: total, type: formula, formula: "total + 1"}'),
        "record_types[1].fields[1].formula",
        "formulas depend on each other: total -> total",
        14,
    ),
    (
        "rollup-from-exists",
        swap(NAME, "{key: name, type: rollup, from: ordr, via: customer, aggregate: count}"),
        "record_types[0].fields[0].from",
        'record type "ordr" does not exist — did you mean "order"?',
        7,
    ),
    (
        "rollup-via-is-a-field",
        swap(NAME, "{key: name, type: rollup, from: order, via: owner, aggregate: count}"),
        "record_types[0].fields[0].via",
        '"owner" is not a field of order — name a link field on order that points to customer',
        7,
    ),
    (
        "rollup-via-links-here",
        swap(NAME, "{key: name, type: rollup, from: order, via: total, aggregate: count}"),
        "record_types[0].fields[0].via",
        "order.total is not a link to customer",
        7,
    ),
    (
        "rollup-field-exists",
        swap(
            NAME,
            "{key: name, type: rollup, from: order, via: customer, aggregate: sum, field: tot}",
        ),
        "record_types[0].fields[0].field",
        '"tot" is not a field of order — did you mean "total"?',
        7,
    ),
    (
        "rollup-field-needed",
        swap(NAME, "{key: name, type: rollup, from: order, via: customer, aggregate: max}"),
        "record_types[0].fields[0]",
        'a rollup with aggregate "max" needs a field — a field of order',
        7,
    ),
    (
        "rollup-sum-numeric",
        swap(
            NAME,
            "{key: name, type: rollup, from: order, via: customer, aggregate: sum, "
            "field: customer}",
        ),
        "record_types[0].fields[0].field",
        'cannot sum "customer": it is a link',
        7,
    ),
    (
        "lookup-link-is-a-link",
        swap(TOTAL, "{key: total, type: lookup, link: customr, field: spent}"),
        "record_types[1].fields[1].link",
        '"customr" is not a link field of order — did you mean "customer"?',
        14,
    ),
    (
        "lookup-field-on-target",
        swap(TOTAL, "{key: total, type: lookup, link: customer, field: spnt}"),
        "record_types[1].fields[1].field",
        '"spnt" is not a field of customer — did you mean "spent"?',
        14,
    ),
    (
        "validation-condition-fields",
        swap(
            TOTAL,
            "{key: total, type: number}\n    validations:\n"
            "      - {when: {field: totl, op: gt, value: 0}, message: Positive}",
        ),
        "record_types[1].validations[0].when.field",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "validation-message-fields",
        swap(
            TOTAL,
            "{key: total, type: number}\n    validations:\n"
            "      - {when: {field: total, op: gt, value: 0}, message: Positive, fields: [totl]}",
        ),
        "record_types[1].validations[0].fields[0]",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    # -- conditions ---------------------------------------------------------------------
    (
        "condition-unknown-op",
        plus(
            "views",
            "{key: v, type: table, record_type: order, filter: {field: total, op: eqq, value: 1}}",
        ),
        "views[0].filter.op",
        'unknown operator "eqq" — did you mean "eq"?',
        16,
    ),
    (
        "condition-field-exists",
        plus(
            "views",
            "{key: v, type: table, record_type: order, filter: {field: totl, op: eq, value: 1}}",
        ),
        "views[0].filter.field",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "condition-dotted-field-follows-link",
        plus(
            "views",
            "{key: v, type: table, record_type: order, "
            "filter: {field: customer.tir, op: eq, value: high}}",
        ),
        "views[0].filter.field",
        'unknown field "tir" on customer — did you mean "tier"?',
        16,
    ),
    (
        "condition-dotted-through-non-link",
        plus(
            "views",
            "{key: v, type: table, record_type: order, filter: {field: total.x, op: is_empty}}",
        ),
        "views[0].filter.field",
        '"total" is not a link, so "total.x" cannot follow it',
        16,
    ),
    (
        "condition-value-field-ref",
        plus(
            "views",
            "{key: v, type: table, record_type: order, "
            "filter: {not: {field: total, op: gt, value: {field: totl}}}}",
        ),
        "views[0].filter.not.value.field",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "condition-shape",
        plus("views", "{key: v, type: table, record_type: order, filter: {all: [], field: total}}"),
        "views[0].filter",
        "a condition is exactly one of {all: [...]}, {any: [...]}, {not: ...} or "
        "{field: F, op: OP, value: V}",
        16,
    ),
    (
        "condition-change-ops-only-in-workflows",
        plus(
            "views",
            "{key: v, type: table, record_type: order, filter: {field: total, op: changed}}",
        ),
        "views[0].filter.op",
        'op "changed" is only allowed in a workflow\'s when',
        16,
    ),
    (
        "condition-list-value",
        plus(
            "views",
            "{key: v, type: table, record_type: order, filter: {field: total, op: in, value: 1}}",
        ),
        "views[0].filter.value",
        'op "in" needs a list of values',
        16,
    ),
    (
        "condition-between",
        plus(
            "views",
            "{key: v, type: table, record_type: order, "
            "filter: {any: [{field: total, op: between, value: [1]}]}}",
        ),
        "views[0].filter.any[0].value",
        'op "between" needs a list of two values: [low, high]',
        16,
    ),
    (
        "condition-days",
        plus(
            "views",
            "{key: v, type: table, record_type: order, "
            "filter: {field: created_at, op: within_last_days, value: -7}}",
        ),
        "views[0].filter.value",
        'op "within_last_days" needs a positive whole number of days',
        16,
    ),
    (
        "condition-no-value",
        plus(
            "views",
            "{key: v, type: table, record_type: order, "
            "filter: {field: total, op: is_empty, value: 0}}",
        ),
        "views[0].filter.value",
        'op "is_empty" takes no value',
        16,
    ),
    (
        "condition-needs-value",
        plus("views", "{key: v, type: table, record_type: order, filter: {field: total, op: gt}}"),
        "views[0].filter",
        'op "gt" needs a value',
        16,
    ),
    # -- views --------------------------------------------------------------------------
    (
        "view-record-type-exists",
        plus("views", "{key: v, type: table, record_type: ordr}"),
        "views[0].record_type",
        'record type "ordr" does not exist — did you mean "order"?',
        16,
    ),
    (
        "view-type-known",
        plus("views", "{key: v, type: tabel, record_type: order}"),
        "views[0].type",
        'unknown type "tabel" — did you mean "table"?',
        16,
    ),
    (
        "view-column-exists",
        plus("views", "{key: v, type: table, record_type: order, columns: [customer.name, totl]}"),
        "views[0].columns[1]",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "view-sort-field-exists",
        plus(
            "views", "{key: v, type: table, record_type: order, sort: [{field: totl, dir: desc}]}"
        ),
        "views[0].sort[0].field",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "kanban-group-by-select",
        plus("views", "{key: v, type: kanban, record_type: customer, group_by: since}"),
        "views[0].group_by",
        'kanban group_by must be a select or link field; "since" is a date — '
        "select or link fields of customer: tier",
        16,
    ),
    (
        "kanban-needs-group-by",
        plus("views", "{key: v, type: kanban, record_type: customer}"),
        "views[0]",
        'missing required key "group_by"',
        16,
    ),
    (
        "calendar-date-field",
        plus("views", "{key: v, type: calendar, record_type: customer, date_field: name}"),
        "views[0].date_field",
        'calendar date_field must be a date or datetime field; "name" is a text',
        16,
    ),
    (
        "chart-value-needed",
        plus(
            "views",
            "{key: v, type: chart, record_type: order, chart_type: bar, x: total, aggregate: sum}",
        ),
        "views[0]",
        'a chart with aggregate "sum" needs a value field',
        16,
    ),
    (
        "chart-value-numeric",
        plus(
            "views",
            "{key: v, type: chart, record_type: order, chart_type: bar, "
            "x: total, aggregate: avg, value: customer}",
        ),
        "views[0].value",
        'cannot avg "customer": it is a link',
        16,
    ),
    # -- forms --------------------------------------------------------------------------
    (
        "form-section-field-exists",
        plus("forms", "{key: f, record_type: customer, sections: [{fields: [name, tierr]}]}"),
        "forms[0].sections[0].fields[1]",
        'unknown field "tierr" on customer — did you mean "tier"?',
        16,
    ),
    (
        "form-field-once",
        plus(
            "forms",
            "{key: f, record_type: customer, sections: [{fields: [name]}, "
            "{title: More, fields: [tier, name]}]}",
        ),
        "forms[0].sections[1].fields[1]",
        'field "name" is already on this form (at forms[0].sections[0].fields[0])',
        16,
    ),
    (
        "form-visible-when-field-on-form",
        plus(
            "forms",
            "{key: f, record_type: customer, sections: [{fields: [name]}], "
            "visible_when: {tier: {field: name, op: is_not_empty}}}",
        ),
        "forms[0].visible_when.tier",
        '"tier" is not a field on this form',
        16,
    ),
    (
        "form-visible-when-condition",
        plus(
            "forms",
            "{key: f, record_type: customer, sections: [{fields: [name, tier]}], "
            "visible_when: {tier: {field: nam, op: is_not_empty}}}",
        ),
        "forms[0].visible_when.tier.field",
        'unknown field "nam" on customer — did you mean "name"?',
        16,
    ),
    (
        "form-record-type-exists",
        plus("forms", "{key: f, record_type: client, sections: [{fields: [name]}]}"),
        "forms[0].record_type",
        'record type "client" does not exist',
        16,
    ),
    # -- workflows ----------------------------------------------------------------------
    (
        "workflow-record-type-exists",
        plus(
            "workflows",
            "{key: w, record_type: ordr, trigger: {on: record.created}, actions: [{do: log}]}",
        ),
        "workflows[0].record_type",
        'record type "ordr" does not exist — did you mean "order"?',
        16,
    ),
    (
        "workflow-record-trigger-needs-record-type",
        plus("workflows", "{key: w, trigger: {on: record.updated}, actions: [{do: log}]}"),
        "workflows[0].record_type",
        'a workflow triggered by "record.updated" needs a record_type',
        16,
    ),
    (
        "workflow-trigger-known",
        plus("workflows", "{key: w, trigger: {on: record.create}, actions: [{do: log}]}"),
        "workflows[0].trigger.on",
        'unknown trigger "record.create" — did you mean "record.created"?',
        16,
    ),
    (
        "workflow-changed-fields-exist",
        plus(
            "workflows",
            "{key: w, record_type: order, trigger: {on: field.changed, "
            "fields: [totl]}, actions: [{do: log}]}",
        ),
        "workflows[0].trigger.fields[0]",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "workflow-date-field-is-date",
        plus(
            "workflows",
            "{key: w, record_type: customer, trigger: {on: date, field: name}, "
            "actions: [{do: log}]}",
        ),
        "workflows[0].trigger.field",
        '"name" is a text, not a date or datetime',
        16,
    ),
    (
        "workflow-date-offset-format",
        plus(
            "workflows",
            "{key: w, record_type: customer, trigger: {on: date, field: since, "
            'offset: "1 day"}, actions: [{do: log}]}',
        ),
        "workflows[0].trigger.offset",
        '"1 day" is not in the expected format — a signed duration such as -1d, +2h, 30m, -1w',
        16,
    ),
    (
        "workflow-date-at-format",
        plus(
            "workflows",
            "{key: w, record_type: customer, trigger: {on: date, field: since, "
            'at: "9am"}, actions: [{do: log}]}',
        ),
        "workflows[0].trigger.at",
        '"9am" is not in the expected format — a time of day, HH:MM (e.g. "09:00")',
        16,
    ),
    (
        "workflow-cron-format",
        plus("workflows", '{key: w, trigger: {on: schedule, cron: "daily"}, actions: [{do: log}]}'),
        "workflows[0].trigger.cron",
        '"daily" is not in the expected format — five cron fields: minute hour day month '
        'weekday, e.g. "0 9 * * *"',
        16,
    ),
    (
        "workflow-timezone",
        plus(
            "workflows",
            '{key: w, trigger: {on: schedule, cron: "0 9 * * *", '
            "timezone: Asia/Shanghia}, actions: [{do: log}]}",
        ),
        "workflows[0].trigger.timezone",
        'unknown timezone "Asia/Shanghia" — use an IANA name such as Asia/Shanghai',
        16,
    ),
    (
        "workflow-form-exists",
        plus(
            "workflows",
            "{key: w, trigger: {on: form.submitted, form: signup}, actions: [{do: log}]}",
        ),
        "workflows[0].trigger.form",
        'form "signup" does not exist',
        16,
    ),
    (
        "workflow-when-fields",
        plus(
            "workflows",
            "{key: w, record_type: order, trigger: {on: record.updated}, "
            "when: {field: total, op: changed_to, value: {field: totl}}, actions: [{do: log}]}",
        ),
        "workflows[0].when.value.field",
        'unknown field "totl" on order — did you mean "total"?',
        16,
    ),
    (
        "workflow-if-action-condition",
        plus(
            "workflows",
            "{key: w, record_type: order, trigger: {on: manual}, actions: "
            "[{do: if, condition: {field: ttl, op: gt, value: 1}, then: [{do: log}]}]}",
        ),
        "workflows[0].actions[0].condition.field",
        'unknown field "ttl" on order — did you mean "total"?',
        16,
    ),
    (
        "workflow-if-action-needs-condition",
        plus(
            "workflows", "{key: w, trigger: {on: manual}, actions: [{do: if, then: [{do: log}]}]}"
        ),
        "workflows[0].actions[0]",
        'missing required key "condition"',
        16,
    ),
    (
        "workflow-needs-actions",
        plus("workflows", "{key: w, trigger: {on: manual}, actions: []}"),
        "workflows[0].actions",
        "must not be empty",
        16,
    ),
    # -- search fields -------------------------------------------------------------------
    (
        "search-unknown-field",
        swap("    title: name\n", "    title: name\n    search: [nmae]\n"),
        "record_types[0].search[0]",
        'unknown field "nmae" — did you mean "name"?',
        6,
    ),
    (
        "search-not-text",
        swap("    title: name\n", "    title: name\n    search: [name, spent]\n"),
        "record_types[0].search[1]",
        'field "spent" is a currency, not text: it cannot be searched — search takes fields '
        "of type auto_number, email, long_text, phone, text, url",
        6,
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "message", "line"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rule(one, text, path, message, line):
    problem = one(text)
    assert problem.path == path
    full = f"{problem.message} — {problem.hint}" if problem.hint else problem.message
    if message.endswith(": "):  # the parser's own wording may change; check the prefix
        assert full.startswith(message)
    else:
        assert full == message
    assert problem.line == line
    assert problem.source and problem.source.endswith("t.yaml")


def test_base_template_is_valid(tmp_path):
    from tessera.meta import load_app

    (tmp_path / "t.yaml").write_text(BASE)
    assert [rt.key for rt in load_app(tmp_path / "t.yaml").record_types] == ["customer", "order"]
