"""The CLI contract: flask --app app template|user|init ... (exit 1 + stderr on errors)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from tessera.cli import BUILTIN_DIR

SMALL = """
id: shop
version: 1.0.0
label: Shop
record_types:
  - key: product
    title: name
    fields:
      - {key: name, type: text, required: true}
      - {key: price, type: currency, currency: CNY, min: 0}
"""


def _write(tmp_path: Path, text: str, name: str = "shop.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return str(path)


def test_validate_ok_and_bad(runner, tmp_path):
    ok = runner.invoke(args=["template", "validate", _write(tmp_path, SMALL)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output and "'shop'" in ok.output
    bad = runner.invoke(
        args=[
            "template",
            "validate",
            _write(tmp_path, SMALL.replace("currency, currency", "curency, currency"), "bad.yaml"),
        ]
    )
    assert bad.exit_code == 1
    assert 'did you mean "currency"' in bad.stderr
    assert "record_types[0].fields[1].type" in bad.stderr


def test_install_creates_real_tables_then_list_and_export(runner, flask_app, tmp_path):
    path = _write(tmp_path, SMALL)
    result = runner.invoke(args=["template", "install", path])
    assert result.exit_code == 0, result.output
    engine = flask_app.extensions["tessera"].engine
    cols = {c["name"] for c in sa.inspect(engine).get_columns("rt_shop_product")}
    assert {"id", "name", "price", "version", "created_at"} <= cols
    assert runner.invoke(args=["template", "list"]).output.strip() == "shop\t1.0.0"
    again = runner.invoke(args=["template", "install", path])
    assert again.exit_code == 1 and "upgrade" in again.stderr
    exported = runner.invoke(args=["template", "export", "shop"])
    assert exported.exit_code == 0
    data = yaml.safe_load(exported.output)
    assert data["id"] == "shop" and data["record_types"][0]["key"] == "product"
    missing = runner.invoke(args=["template", "export", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.stderr


def test_upgrade_dry_run_then_apply(runner, flask_app, tmp_path):
    runner.invoke(args=["template", "install", _write(tmp_path, SMALL)])
    v2 = SMALL.replace("1.0.0", "1.1.0") + "      - {key: sku, type: text}\n"
    path = _write(tmp_path, v2, "v2.yaml")
    dry = runner.invoke(args=["template", "upgrade", path, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "sku" in dry.output and "nothing changed" in dry.output
    engine = flask_app.extensions["tessera"].engine
    cols = {c["name"] for c in sa.inspect(engine).get_columns("rt_shop_product")}
    assert "sku" not in cols
    applied = runner.invoke(args=["template", "upgrade", path])
    assert applied.exit_code == 0, applied.output
    cols = {c["name"] for c in sa.inspect(engine).get_columns("rt_shop_product")}
    assert "sku" in cols
    assert runner.invoke(args=["template", "list"]).output.strip() == "shop\t1.1.0"


def test_upgrade_that_loses_data_needs_purge(runner, tmp_path):
    runner.invoke(args=["template", "install", _write(tmp_path, SMALL)])
    v2 = SMALL.replace("1.0.0", "2.0.0").replace(
        "      - {key: price, type: currency, currency: CNY, min: 0}\n", ""
    )
    path = _write(tmp_path, v2, "v2.yaml")
    result = runner.invoke(args=["template", "upgrade", path, "--purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "DATA LOSS" in result.output


def test_init_installs_builtin_crm_once(runner, flask_app):
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "crm" in first.output
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0 and "installed built-in" not in second.output
    tables = sa.inspect(flask_app.extensions["tessera"].engine).get_table_names()
    assert {"rt_crm_customer", "rt_crm_opportunity", "rt_crm_ticket", "rt_crm_follow_up"} <= set(
        tables
    )


def test_builtin_templates_all_validate(runner):
    for folder in BUILTIN_DIR.iterdir():
        result = runner.invoke(args=["template", "validate", str(folder)])
        assert result.exit_code == 0, result.output + result.stderr


def test_user_create_and_ensure_admin(runner):
    made = runner.invoke(args=["user", "create", "li.lei", "--password", "s3cret-pass"])
    assert made.exit_code == 0 and "created user li.lei" in made.output
    dup = runner.invoke(args=["user", "create", "li.lei", "--password", "s3cret-pass"])
    assert dup.exit_code == 1 and "taken" in dup.stderr
    short = runner.invoke(args=["user", "create", "bob", "--password", "short"])
    assert short.exit_code == 1 and "at least 8" in short.stderr
    admin = runner.invoke(args=["user", "ensure-admin"])
    assert "password" in admin.output
    again = runner.invoke(args=["user", "ensure-admin"])
    assert "created" not in again.output
