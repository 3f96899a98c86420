"""The shop template of the child-table tests (a module with a unique name, importable)."""

from __future__ import annotations

import yaml

SHOP = """
id: shop
version: 1.0.0
label: {en: Shop, zh-CN: 商店}
record_types:
  - key: product
    label: {en: Product, zh-CN: 产品}
    title: name
    fields:
      - {key: name, type: text, required: true}
      - {key: price, type: currency, currency: CNY}
  - key: order
    label: {en: Order, zh-CN: 订单}
    title: code
    fields:
      - {key: code, type: text, required: true, label: {en: Code, zh-CN: 单号}}
      - key: items
        type: table
        label: {en: Lines, zh-CN: 明细}
        min_rows: 1
        fields:
          - {key: product, type: link, to: product, required: true,
             label: {en: Product, zh-CN: 产品}}
          - {key: qty, type: number, required: true, min: 1, label: {en: Qty, zh-CN: 数量}}
          - {key: price, type: currency, currency: CNY, label: {en: Price, zh-CN: 单价}}
          - key: amount
            type: formula
            formula: "qty * price"
            result: currency
            label: {en: Amount, zh-CN: 金额}
      - {key: total, type: rollup, table: items, field: amount, aggregate: sum,
         label: {en: Total, zh-CN: 合计}}
      - {key: line_count, type: rollup, table: items, aggregate: count,
         label: {en: Line count, zh-CN: 行数}}
      - {key: with_tax, type: formula, formula: "total * 1.1", result: currency,
         label: {en: With tax, zh-CN: 含税}}
views:
  - {key: orders, type: table, record_type: order, columns: [code, line_count, total],
     label: {en: Orders, zh-CN: 订单列表}}
  - {key: products, type: table, record_type: product, columns: [name, price],
     label: {en: Products, zh-CN: 产品列表}}
"""


def shop_data(version: str = "1.0.0") -> dict:
    """The shop template as data (a fresh copy to edit)."""
    data = yaml.safe_load(SHOP)
    data["version"] = version
    return data
