"""Fixtures of the automation suite (helpers live in automation_helpers.py)."""

from automation_helpers import (  # noqa: F401
    auto_app,
    queue_name,
    quiet_app,
    quiet_users,
    redis_url,
    users,
)
