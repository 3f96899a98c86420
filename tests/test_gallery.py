"""The template gallery: every built-in installs with its demo data (SQLite + PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tessera import gallery
from tessera.gallery import GalleryError


def _count(t, app_id: str, rt: str) -> int:
    with t.engine.connect() as conn:
        table = t.registry.table(app_id, rt)
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_the_gallery_lists_the_crm_first_and_three_more_with_both_languages():
    cards = gallery.entries()
    names = [c.name for c in cards]
    assert names[0] == "crm"
    assert {"service_desk", "inventory", "projects"} <= set(names)
    for c in cards:
        assert c.app.label["en"] and c.app.label["zh-CN"], c.name
        assert c.app.description["en"] and c.app.description["zh-CN"], c.name
        assert c.has_demo, c.name
        for rt in c.app.record_types:
            assert rt.label["en"] and rt.label["zh-CN"], (c.name, rt.key)
    assert [c.name for c in cards if c.init] == ["crm"]  # flask init leaves the rest alone


@pytest.mark.parametrize("name", ["service_desk", "inventory", "projects"])
def test_a_gallery_template_installs_with_its_demo_data(flask_app, name):
    t = flask_app.extensions["tessera"]
    counts = gallery.install(t, name, demo=True)
    card = gallery.entry(name)
    assert counts == card.demo_counts
    for rt_key, n in counts.items():
        assert _count(t, card.app.id, rt_key) == n
    with pytest.raises(GalleryError, match="already installed"):
        gallery.install(t, name, demo=False)


def test_the_inventory_workflows_move_stock(flask_app):
    """进销存 proves the engine is general: a received purchase adds stock via increment."""
    t = flask_app.extensions["tessera"]
    gallery.install(t, "inventory", demo=True)
    steel = t.queries.list(
        "inventory", "product", filter={"field": "sku", "op": "eq", "value": "STL-304"}
    ).rows[0]
    po = t.queries.list(
        "inventory", "purchase", filter={"field": "product", "op": "eq", "value": steel["id"]}
    ).rows[0]
    result = t.automation.engine.test_run("inventory", "receive_stock", po["id"])
    step = result["steps"][0]
    assert step["action"] == "increment"
    assert step["output"]["record_id"] == steel["id"]
    assert step["output"]["added"] == {"stock": 200}


def test_install_empty_and_unknown_names(flask_app):
    t = flask_app.extensions["tessera"]
    assert gallery.install(t, "projects", demo=False) == {}
    assert _count(t, "projects", "task") == 0
    with pytest.raises(GalleryError, match="no built-in template"):
        gallery.install(t, "nope", demo=True)


def test_flask_init_installs_only_the_crm(runner, flask_app):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert set(flask_app.extensions["tessera"].registry.apps) == {"crm"}
