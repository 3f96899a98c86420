"""Fixtures of the CRM template suite (helpers live in crm_helpers.py)."""

from crm_helpers import crm_app  # noqa: F401
