"""Record types that link to each other (a cycle) install on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tessera.meta import app_from_data
from tessera.storage import installer

CYCLE = {
    "id": "org",
    "version": "1.0.0",
    "label": "Org",
    "record_types": [
        {"key": "company", "fields": [
            {"key": "name", "type": "text"},
            {"key": "main_contact", "type": "link", "to": "contact", "on_delete": "set_null"},
        ]},
        {"key": "contact", "fields": [
            {"key": "name", "type": "text"},
            {"key": "company", "type": "link", "to": "company", "on_delete": "cascade"},
        ]},
    ],
}  # fmt: skip


def test_mutual_links_install_and_enforce(eng):
    installer.install(eng, app_from_data(CYCLE), "")
    fks = {
        t: {fk["referred_table"] for fk in sa.inspect(eng).get_foreign_keys(t)}
        for t in ("rt_org_company", "rt_org_contact")
    }
    assert "rt_org_contact" in fks["rt_org_company"]
    assert "rt_org_company" in fks["rt_org_contact"]
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO rt_org_contact (name, company, version) "
                             "VALUES ('x', 999, 1)"))  # fmt: skip


def test_new_cycle_added_by_upgrade(eng):
    first = {
        **CYCLE,
        "record_types": [{"key": "company", "fields": [{"key": "name", "type": "text"}]}],
    }
    installer.install(eng, app_from_data(first), "")
    installer.upgrade(eng, app_from_data({**CYCLE, "version": "1.1.0"}), "")
    names = set(sa.inspect(eng).get_table_names())
    assert {"rt_org_company", "rt_org_contact"} <= names
