"""init_db brings an older database's system tables up to date without losing rows."""

import sqlalchemy as sa

from tessera.storage.system import init_db, users


def test_init_db_adds_columns_a_later_release_declared(engine):
    with engine.begin() as conn:
        conn.execute(users.insert().values(username="old", password_hash="x"))
        conn.exec_driver_sql("ALTER TABLE users DROP COLUMN session_gen")
        conn.exec_driver_sql("ALTER TABLE users DROP COLUMN timezone")
    init_db(engine)
    init_db(engine)  # a second start finds nothing to add
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == "old")).mappings().one()
    assert row["session_gen"] == 0
    assert row["timezone"] is None
