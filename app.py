"""Entry point: ``flask --app app ...`` finds create_app here; ``python app.py`` serves the
embedded default (SQLite in instance/) on http://127.0.0.1:5000."""

from tessera import create_app

__all__ = ["create_app"]

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000)
