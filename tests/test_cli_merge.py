"""``flask template upgrade [APP] PATH`` on a customised app: a three-way merge that lists
conflicts until --take or --choose decides them, --dry-run changing nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

from tessera.meta import app_from_data
from tessera.storage import installer

V1 = {
    "id": "shop",
    "version": "1.0.0",
    "label": "Shop",
    "record_types": [
        {
            "key": "product",
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "required": True},
                {"key": "price", "type": "number", "label": "Price"},
            ],
        }
    ],
}


def _data(version: str, price_label: str, extra: dict | None = None) -> dict:
    fields = [
        {"key": "name", "type": "text", "required": True},
        {"key": "price", "type": "number", "label": price_label},
    ]
    if extra:
        fields.append(extra)
    return {**V1, "version": version, "record_types": [{**V1["record_types"][0], "fields": fields}]}


def _customised(flask_app, tmp_path: Path) -> str:
    engine = flask_app.extensions["tessera"].engine
    installer.install(engine, app_from_data(V1), None)
    mine = _data("1.0.1", "Unit price", {"key": "sku", "type": "text"})
    installer.upgrade(engine, app_from_data(mine), None, local_edit=True)
    theirs = _data("1.1.0", "List price", {"key": "stock", "type": "number"})
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(theirs), "utf-8")
    return str(path)


def _export(runner) -> dict:
    return yaml.safe_load(runner.invoke(args=["template", "export", "shop"]).output)


def test_conflict_listed_then_refused_until_decided(runner, flask_app, tmp_path):
    path = _customised(flask_app, tmp_path)
    result = runner.invoke(args=["template", "upgrade", "shop", path])
    assert result.exit_code == 1
    assert "three-way merge into 1.1.0" in result.output
    assert (
        'conflict record_types.product.fields.price.label: mine {"en": "Unit price"}, '
        'theirs {"en": "List price"}' in result.output
    )
    assert "1 conflict(s) undecided" in result.stderr
    assert _export(runner)["version"] == "1.0.1"


def test_dry_run_then_choose_applies(runner, flask_app, tmp_path):
    path = _customised(flask_app, tmp_path)
    choose = "record_types.product.fields.price.label=theirs"
    dry = runner.invoke(args=["template", "upgrade", "shop", path, "--dry-run", "--choose", choose])
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert "add field product.stock (number)" in dry.output and "dry run" in dry.output
    assert _export(runner)["version"] == "1.0.1"
    done = runner.invoke(args=["template", "upgrade", "shop", path, "--take", "mine"])
    assert done.exit_code == 0, done.stderr
    assert "upgraded shop to 1.1.0 (merged)" in done.output
    fields = {f["key"]: f for f in _export(runner)["record_types"][0]["fields"]}
    assert set(fields) == {"name", "price", "sku", "stock"}
    assert fields["price"]["label"] == {"en": "Unit price"}


def test_choose_with_unknown_path_changes_nothing(runner, flask_app, tmp_path):
    path = _customised(flask_app, tmp_path)
    result = runner.invoke(args=["template", "upgrade", path, "--choose", "nope=mine"])
    assert result.exit_code == 1 and "--choose names no conflict: nope" in result.stderr
    assert _export(runner)["version"] == "1.0.1"


def test_app_argument_must_match_the_template(runner, flask_app, tmp_path):
    path = _customised(flask_app, tmp_path)
    result = runner.invoke(args=["template", "upgrade", "crm", path])
    assert result.exit_code == 1 and "not 'crm'" in result.stderr
