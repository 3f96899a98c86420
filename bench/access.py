"""Benchmark: a permission-scoped list page against the same page for an admin.

    .venv/bin/python bench/access.py                  # 1,000,000 customers, SQLite (and
                                                      # PostgreSQL when DATABASE_URL is set)
    .venv/bin/python bench/access.py --rows 100000    # a quicker check

Seeds customers owned 2,000 per sales rep (so 500 reps at 1M), reps in 50 teams of 10
with a manager each, then times the first page (50 rows, sorted by amount, descending)
for an admin, for a rep (``read: own``) and for a team manager (``read: team``), each
through the query layer with the user id resolved per call as a request does. Prints
p50/p99 and the ratio to the admin's page (the target: within 1.5x). The owner field is
indexed together with the sort key, as the README advises for large types.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import fresh_pg, pct, pg_url, timed  # noqa: E402

PER_REP = 2_000
TEAM_SIZE = 10
TEMPLATE = """
id: sales
version: 1.0.0
record_types:
  - key: customer
    title: name
    fields:
      - {key: name, type: text, required: true}
      - {key: owner, type: user}
      - {key: amount, type: currency, currency: CNY}
    indexes: [[owner, amount], [amount]]
roles:
  - {key: rep, permissions: {customer: {read: own}}}
  - {key: manager, permissions: {customer: {read: team}}}
"""


def seed(t, rows: int) -> dict[str, int]:
    """Users, teams and customers; the ids of one admin, one rep and one manager."""
    from tessera import users
    from tessera.access.tables import team_members, teams, user_roles

    reps = max(1, rows // PER_REP)
    admin = users.create_user(t.engine, "admin", "bench-password", is_admin=True)
    with t.engine.begin() as conn:
        rep_ids = _users(conn, [f"rep{i}" for i in range(reps)])
        mgr_ids = _users(conn, [f"mgr{i}" for i in range(-(-reps // TEAM_SIZE))])
        conn.execute(user_roles.insert(), [
            {"user_id": u, "app_id": "sales", "role": "rep"} for u in rep_ids
        ] + [{"user_id": u, "app_id": "sales", "role": "manager"} for u in mgr_ids])  # fmt: skip
        for n, mgr in enumerate(mgr_ids):
            team = conn.execute(teams.insert().values(name=f"team{n}", manager_id=mgr))
            team_id = team.inserted_primary_key[0]
            members = rep_ids[n * TEAM_SIZE : (n + 1) * TEAM_SIZE]
            conn.execute(
                team_members.insert(), [{"team_id": team_id, "user_id": u} for u in members]
            )
    table = t.registry.table("sales", "customer")
    rnd, batch = random.Random(1), []
    with t.engine.begin() as conn:
        for i in range(rows):
            batch.append({"name": f"c{i}", "owner": rep_ids[i % reps], "version": 1,
                          "amount": Decimal(rnd.randint(0, 10_000_000)) / 100})  # fmt: skip
            if len(batch) == 20_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    _analyze(t, table)
    return {"admin": admin, "rep": rep_ids[0], "manager": mgr_ids[0]}


def _users(conn, names: list[str]) -> list[int]:
    from tessera.storage.system import users as table

    conn.execute(table.insert(), [{"username": n, "display_name": n} for n in names])
    found = conn.execute(sa.select(table.c.username, table.c.id).where(table.c.username.in_(names)))
    ids = dict(found.all())
    return [ids[n] for n in names]


def _analyze(t, table) -> None:
    if t.engine.dialect.name == "postgresql":
        with t.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ANALYZE {table.name}")
            conn.exec_driver_sql("ANALYZE")
        return
    with t.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def run(url: str, rows: int, instance: Path, n: int) -> list[str]:
    """Seed one database and time the three pages; the printed lines."""
    import yaml

    from tessera import create_app
    from tessera.meta import app_from_data
    from tessera.storage import installer

    flask = create_app({"DATABASE_URL": url, "TESSERA_INSTANCE": str(instance),
                        "SECRET_KEY": "bench", "REDIS_URL": None})  # fmt: skip
    t = flask.extensions["tessera"]
    try:
        installer.install(t.engine, app_from_data(yaml.safe_load(TEMPLATE)), TEMPLATE)
        t.registry.reload()
        started = time.perf_counter()
        who = seed(t, rows)
        out = [f"  seeded {rows:,} customers in {time.perf_counter() - started:.1f} s"]
        samples = {}
        for name, user_id in who.items():
            page = lambda i, u=user_id: t.queries.list(  # noqa: E731
                "sales", "customer", sort="-amount", limit=50, user_id=u
            )
            timed(page, 10)
            samples[name] = timed(page, n)
        base = pct(samples["admin"], 0.5)
        for name, s in samples.items():
            p50 = pct(s, 0.5)
            out.append(f"  {name:<8} p50 {p50:7.2f} ms  p99 {pct(s, 0.99):7.2f} ms  "
                       f"ratio to admin {p50 / base:.2f}x")  # fmt: skip
        return out
    finally:
        t.automation.stop()
        t.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("-n", type=int, default=200, help="timed requests per user")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite:///{tmp}/access.db")]
        if pg_url():
            targets.append(("PostgreSQL", fresh_pg(pg_url(), "tessera_bench_access")))
        for name, url in targets:
            print(f"\n== {name}: scoped list page, {args.rows:,} customers ==", flush=True)
            for line in run(url, args.rows, Path(tmp) / name, args.n):
                print(line, flush=True)


if __name__ == "__main__":
    main()
