"""Tessera: a no-code, configurable CRM platform. This module holds only the app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application: config, database, installed apps, CLI and blueprints."""
    from tessera.config import load_config
    from tessera.runtime import Tessera

    cfg = load_config(config)
    app = Flask(__name__, instance_path=cfg["TESSERA_INSTANCE"])
    app.config.update(cfg)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    app.extensions["tessera"] = Tessera.from_config(app.config)
    app.extensions["tessera"].automation.init_app(app)
    _register(app)
    return app


def _register(app: Flask) -> None:
    from tessera import api, cli, home, web
    from tessera.web import hostile

    hostile.install_converters(app)  # before any route is added
    cli.register(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(api.bp)
    web.init_app(app)


def _instance_secret(instance_path: str) -> str:
    # A stable per-installation secret so sessions survive restarts without setup.
    import secrets
    from pathlib import Path

    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
