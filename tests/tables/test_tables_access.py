"""Access rules reach into rows: a line may not point at a product its writer cannot see."""

from __future__ import annotations

import pytest
from tables_helpers import shop_data

from tessera.errors import ValidationFailed
from tessera.records.actor import Actor


@pytest.fixture
def clerk(flask_app):
    """The shop with a clerk role that cannot see products named "secret"; a clerk user."""
    from tessera import users
    from tessera.access.principal import bump_access_version
    from tessera.access.tables import user_roles
    from tessera.meta import app_from_data
    from tessera.storage import installer

    data = shop_data()
    visible = {"field": "name", "op": "ne", "value": "secret"}
    data["roles"] = [
        {
            "key": "clerk",
            "permissions": {
                "product": {"read": visible},
                "order": {"create": "all", "read": "all", "update": "all"},
            },
        }
    ]
    t = flask_app.extensions["tessera"]
    installer.install(t.engine, app_from_data(data), "text")
    t.registry.reload()
    uid = users.create_user(t.engine, "cleo", "password123", display_name="Cleo")
    with t.engine.begin() as conn:
        conn.execute(user_roles.insert().values(user_id=uid, app_id="shop", role="clerk"))
        bump_access_version(conn)
    return t, Actor(user_id=uid, kind="user")


def test_a_row_linking_a_hidden_record_is_refused_in_its_cell(clerk):
    t, actor = clerk
    open_id = t.records.create("shop", "product", {"name": "pen"})["id"]
    hidden = t.records.create("shop", "product", {"name": "secret"})["id"]
    rows = [{"product": open_id, "qty": 1}, {"product": hidden, "qty": 1}]
    with pytest.raises(ValidationFailed) as err:
        t.records.create("shop", "order", {"code": "X1", "items": rows}, actor)
    assert err.value.fields == {"items[1].product": [f"you cannot see Product #{hidden}"]}
    made = t.records.create("shop", "order", {"code": "X2", "items": rows[:1]}, actor)
    assert t.records.get("shop", "order", made["id"], actor.user_id)["items"][0]["qty"] == 1
