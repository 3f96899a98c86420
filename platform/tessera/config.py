"""Configuration defaults and how environment variables override them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV_KEYS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "TESSERA_INSTANCE",
    "PUBLIC_BASE_URL",  # e.g. https://crm.example.com: absolute links in e-mails (form_link)
    "PREFERRED_URL_SCHEME",  # "https": Secure cookies and HSTS (see tessera.web.headers)
)


def default_instance_path() -> Path:
    """Where the embedded database and uploads live (``instance/`` beside app.py)."""
    return Path(os.environ.get("TESSERA_INSTANCE", Path.cwd() / "instance")).resolve()


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then environment variables, then explicit ``overrides`` (tests pass these)."""
    instance = default_instance_path()
    cfg: dict[str, Any] = {
        "TESSERA_INSTANCE": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'tessera.db'}",
        "REDIS_URL": None,
        "SECRET_KEY": None,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Session cookies never ride along on cross-site POSTs (the forms carry CSRF
        # tokens too; the API only accepts application/json bodies).
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
    }
    for key in ENV_KEYS:
        if os.environ.get(key):
            cfg[key] = os.environ[key]
    # the zone of users who have none of their own (and of the app's schedules)
    cfg["TIME_ZONE"] = os.environ.get("TESSERA_TIME_ZONE") or "UTC"
    if os.environ.get("TESSERA_PROXY_HOPS"):
        cfg["PROXY_HOPS"] = int(os.environ["TESSERA_PROXY_HOPS"])
    cfg.update(overrides or {})
    return cfg
