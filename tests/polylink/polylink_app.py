"""A small sales app (not the CRM) with polymorphic links, a naming series and a kanban
whose lanes are the records of a stage record type. Shared by the polylink tests."""

from __future__ import annotations

import yaml

SALES = """
id: sales
version: 1.0.0
label: {en: Sales, zh-CN: 销售}
record_types:
  - key: stage
    label: {en: Stage, zh-CN: 阶段}
    title: name
    fields:
      - {key: name, type: text, required: true, label: {en: Name, zh-CN: 名称}}
      - {key: position, type: number, label: {en: Position, zh-CN: 顺序}}
  - key: customer
    label: {en: Customer, zh-CN: 客户}
    title: name
    fields:
      - {key: name, type: text, required: true, label: {en: Name, zh-CN: 名称}}
      - {key: email, type: email, unique: true}
      - key: follow_ups
        type: rollup
        from: follow_up
        via: regarding
        aggregate: count
        label: {en: Follow-ups, zh-CN: 跟进次数}
  - key: lead
    label: {en: Lead, zh-CN: 线索}
    title: name
    fields:
      - key: number
        type: auto_number
        format: "LEAD-{YYYY}-{####}"
        label: {en: Number, zh-CN: 编号}
      - {key: name, type: text, required: true, label: {en: Name, zh-CN: 名称}}
  - key: deal
    label: {en: Deal, zh-CN: 商机}
    title: name
    fields:
      - {key: name, type: text, required: true, label: {en: Name, zh-CN: 名称}}
      - {key: stage, type: link, to: stage, label: {en: Stage, zh-CN: 阶段}}
      - {key: amount, type: currency, currency: CNY, label: {en: Amount, zh-CN: 金额}}
      - {key: probability, type: number, min: 0, max: 100, label: {en: Probability, zh-CN: 赢率}}
      - key: weighted
        type: formula
        formula: "amount * probability / 100"
        result: currency
        currency: CNY
        label: {en: Weighted, zh-CN: 加权金额}
  - key: follow_up
    label: {en: Follow-up, zh-CN: 跟进}
    title: subject
    fields:
      - {key: subject, type: text, required: true, label: {en: Subject, zh-CN: 主题}}
      - key: regarding
        type: link
        to: [lead, customer, deal]
        on_delete: cascade
        label: {en: Regarding, zh-CN: 关于}
  - key: note
    title: body
    fields:
      - {key: body, type: text}
      - {key: about, type: link, to: [customer, deal], on_delete: restrict}
  - key: task
    title: title
    fields:
      - {key: title, type: text}
      - {key: about, type: link, to: [customer, lead], on_delete: set_null}
views:
  - key: pipeline
    type: kanban
    record_type: deal
    label: {en: Pipeline, zh-CN: 销售管道}
    group_by: stage
    columns: [amount, probability, weighted]
    sums: [amount, weighted]
  - key: follow_ups
    type: table
    record_type: follow_up
    label: {en: Follow-ups, zh-CN: 跟进记录}
    columns: [subject, regarding]
"""

STAGES = [("Qualify", 1), ("Propose", 2), ("Negotiate", 3), ("Won", 4), ("Lost", 5)]


def install(t) -> None:
    """Install the sales app into the runtime objects ``t``."""
    from tessera.meta import app_from_data
    from tessera.storage import installer

    installer.install(t.engine, app_from_data(yaml.safe_load(SALES)), SALES)
    t.registry.reload()


def seed_stages(records) -> dict[str, int]:
    """The stages, created out of order (lanes must follow ``position``); name -> id."""
    out = {}
    for name, position in reversed(STAGES):
        out[name] = records.create("sales", "stage", {"name": name, "position": position})["id"]
    return out
