"""Shared text for the meta tests (a module with a unique name, importable by pytest)."""

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"

# line numbers of this text are used by the tests: keep it stable
BASE = """\
id: shop
version: "1.0"
record_types:
  - key: customer
    title: name
    fields:
      - {key: name, type: text}
      - {key: tier, type: select, options: [{value: high}, {value: low}]}
      - {key: since, type: date}
      - {key: spent, type: currency, currency: CNY}
  - key: order
    fields:
      - {key: customer, type: link, to: customer}
      - {key: total, type: number}
"""
