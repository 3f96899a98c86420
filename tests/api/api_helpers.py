"""Shared pieces of the API tests: the template, pinned clock, client wrapper, checks."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

SALES = """
id: sales
version: 1.0.0
label: {en: Sales, zh-CN: 销售}
record_types:
  - key: customer
    label: {en: Customer, zh-CN: 客户}
    title: name
    fields:
      - {key: name, type: text, required: true, max_length: 50}
      - {key: email, type: email, unique: true}
      - key: tier
        type: select
        default: low
        options: [{value: high}, {value: low}]
      - {key: spent, type: currency, currency: CNY, min: 0}
      - {key: visits, type: number, min: 0}
      - {key: vip, type: boolean}
      - {key: since, type: date}
      - {key: order_count, type: rollup, from: order, via: customer, aggregate: count}
  - key: order
    title: ref
    fields:
      - {key: ref, type: text, required: true}
      - {key: customer, type: link, to: customer, required: true, on_delete: restrict}
      - {key: amount, type: currency, currency: CNY, min: 0}
      - {key: placed_at, type: datetime}
      - {key: customer_tier, type: lookup, link: customer, field: tier}
    validations:
      - when: {any: [{field: amount, op: is_empty}, {field: amount, op: lt, value: 100000}]}
        message: amount must stay under 100000
        fields: [amount]
"""

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NOW_JSON = "2026-11-25T09:00:00+00:00"
RECORD_TABLES = ("rt_sales_customer", "rt_sales_order")
LOG_TABLES = ("audit_log", "outbox")


class Api:
    """The Flask test client, sending the bearer token and JSON bodies."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.client.delete(url, headers=self._headers(headers), **kw)

    def post(self, url, json=None, headers=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(headers), **kw)

    def patch(self, url, json=None, headers=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(headers), **kw)


def counts(engine: sa.Engine) -> dict[str, int]:
    """Row counts of the record tables, audit log and outbox ("nothing was written")."""
    with engine.connect() as conn:
        return {
            name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in (*RECORD_TABLES, *LOG_TABLES)
        }


def assert_error(resp, status: int, code: str, fields: dict | None = None) -> dict:
    """The response is the one error shape with this status and code; returns the error."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if fields is not None:
        assert error["fields"] == fields
    return error
