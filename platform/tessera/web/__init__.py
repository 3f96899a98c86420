"""Server-rendered web UI (Flask blueprints + Jinja2)."""
