"""Records service: the only code that writes record rows (with audit and outbox)."""
