"""Queries: the condition language, filters, sorting, pagination and aggregates."""
