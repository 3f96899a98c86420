"""Benchmark: the engine's overhead against raw SQLAlchemy Core, on SQLite and PostgreSQL.

    make bench                      # SQLite, and PostgreSQL when DATABASE_URL or
                                    # TESSERA_TEST_DATABASE_URL names one
    .venv/bin/python bench/run.py --rows 100000   # a quicker run

Seeds one record type with ``--rows`` rows (1,000,000 by default) using a Core
executemany (seeding is setup, not a measured path), then prints each figure next to
its raw Core equivalent from the same run and their ratio, and writes bench/RESULTS.md.
Not part of ``make test``: speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
TEMPLATE = """
id: bench
version: 1.0.0
label: Bench
record_types:
  - key: item
    title: name
    fields:
      - {key: name, type: text, required: true, max_length: 100}
      - key: status
        type: select
        options: [{value: new}, {value: open}, {value: won}, {value: lost}]
      - {key: amount, type: currency, currency: CNY, min: 0}
      - {key: qty, type: number, min: 0}
      - {key: due, type: date}
    indexes: [[status, amount]]
    search: [name]
"""
STATUSES = ["new", "open", "won", "lost"]


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile of samples, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def timed(fn, n: int) -> list[float]:
    """Run fn(i) n times; return the durations in seconds."""
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - started)
    return out


class Bench:
    """One database's run."""

    def __init__(self, url: str, rows: int, instance: Path):
        from tessera import create_app

        self.rows = rows
        self.flask = create_app(
            {
                "DATABASE_URL": url,
                "TESSERA_INSTANCE": str(instance),
                "SECRET_KEY": "bench",
                "REDIS_URL": None,
            }
        )
        self.t = self.flask.extensions["tessera"]
        self.results: list[tuple[str, str, str, str]] = []

    def record(self, what: str, ours: str, raw: str = "", ratio: str = "") -> None:
        self.results.append((what, ours, raw, ratio))
        print(f"  {what:<48} {ours:>22} {raw:>22} {ratio:>8}", flush=True)

    def install(self) -> None:
        import yaml

        from tessera.meta import app_from_data, load_app
        from tessera.storage import installer

        started = time.perf_counter()
        crm = load_app(str(HERE.parent / "templates_builtin" / "crm"))
        text = (HERE.parent / "templates_builtin" / "crm" / "template.yaml").read_text()
        installer.install(self.t.engine, crm, text)
        self.record(
            "install CRM template (load+validate+DDL)",
            f"{(time.perf_counter() - started) * 1000:.0f} ms",
        )
        installer.install(self.t.engine, app_from_data(yaml.safe_load(TEMPLATE)), TEMPLATE)
        self.t.registry.reload()
        self.table = self.t.registry.table("bench", "item")

    def seed(self) -> None:
        started = time.perf_counter()
        rnd = random.Random(1)
        now = datetime.now(UTC)
        batch = []
        with self.t.engine.begin() as conn:
            for i in range(self.rows):
                batch.append(
                    {
                        "name": f"item {i}",
                        "status": rnd.choice(STATUSES),
                        "amount": Decimal(rnd.randint(0, 10_000_000)) / 100,
                        "qty": rnd.randint(0, 500),
                        "due": date(2026, 1, 1) + timedelta(days=rnd.randint(0, 700)),
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
                if len(batch) == 20_000:
                    conn.execute(self.table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(self.table.insert(), batch)
        if self.t.engine.dialect.name == "postgresql":
            with self.t.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"ANALYZE {self.table.name}"
                )
        else:
            with self.t.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        self.record(
            f"seed {self.rows:,} rows (Core executemany)", f"{time.perf_counter() - started:.1f} s"
        )

    def list_page(self, n: int = 300) -> None:
        table, q = self.table, self.t.queries

        def ours(i):
            q.list(
                "bench",
                "item",
                filter={"field": "status", "op": "eq", "value": STATUSES[i % 4]},
                sort="-amount",
                limit=50,
            )

        from tessera.query.listing import SortKey, _paged

        dialect = self.t.engine.dialect.name
        keys = [SortKey("amount", desc=True), SortKey("id")]

        def raw(i):
            # The statement a careful Core author writes: on PostgreSQL the same
            # index-friendly split the query layer emits (see listing._paged), so the
            # ratio is the engine's own overhead; the naive form is shown apart.
            base = sa.select(table).where(table.c.status == STATUSES[i % 4])
            with self.t.engine.connect() as conn:
                conn.execute(_paged(base, table, keys, 51, 0, dialect)).mappings().all()

        def naive(i):
            query = (
                sa.select(table)
                .where(table.c.status == STATUSES[i % 4])
                .order_by(table.c.amount.desc().nulls_last(), table.c.id)
                .limit(51)
            )
            with self.t.engine.connect() as conn:
                conn.execute(query).mappings().all()

        timed(ours, 20), timed(raw, 20)  # warm caches
        a, b = timed(ours, n), timed(raw, n)
        self.compare("list page 50 rows, filter+sort (query layer)", a, b)
        self.list_samples_raw = b
        if dialect == "postgresql":
            c = timed(naive, 50)
            self.record("  (naive Core ORDER BY amount DESC NULLS LAST)",
                        f"p50 {pct(c, 0.5):.2f} ms", "", "")  # fmt: skip

    def filled_page(self, n: int = 200) -> None:
        """A descending page whose filter excludes empty values (one index read on PG)."""
        table, q = self.table, self.t.queries
        flt = {"field": "amount", "op": "gt", "value": 50_000}

        def ours(i):
            q.list("bench", "item", filter=flt, sort="-amount", limit=50)

        def raw(i):
            query = (
                sa.select(table)
                .where(table.c.amount > 50_000)
                .order_by(table.c.amount.desc(), table.c.id)
                .limit(51)
            )
            with self.t.engine.connect() as conn:
                conn.execute(query).mappings().all()

        timed(ours, 10), timed(raw, 10)
        self.compare("list page, filter excludes empties, -amount", timed(ours, n), timed(raw, n))

    def search(self, n: int = 100) -> None:
        """A one-hit substring search through the declared search field."""
        table, q = self.table, self.t.queries
        needles = [f"item {self.rows - 1 - (i % 50)}" for i in range(n)]

        def ours(i):
            page = q.list("bench", "item", q=needles[i], limit=50)
            assert len(page.rows) == 1, (needles[i], len(page.rows))

        def raw(i):
            # plain Core ILIKE: on PostgreSQL it uses the same trigram index; on SQLite
            # it scans (the FTS table is the engine's)
            query = sa.select(table).where(table.c.name.ilike(f"%{needles[i]}%")).limit(51)
            with self.t.engine.connect() as conn:
                conn.execute(query).mappings().all()

        timed(ours, 5)
        a = timed(ours, n)
        b = timed(raw, min(n, 20))
        self.compare("search, one hit (q=, declared search field)", a, b)

    def startup(self) -> None:
        """create_app with the CRM and the bench app installed."""
        from tessera import create_app

        started = time.perf_counter()
        other = create_app(
            {
                "DATABASE_URL": str(self.t.engine.url.render_as_string(hide_password=False)),
                "TESSERA_INSTANCE": self.flask.instance_path,
                "SECRET_KEY": "bench",
                "REDIS_URL": None,
                "AUTOMATION_EMBEDDED": False,
            }
        )
        self.record("create_app (CRM + bench installed)", f"{time.perf_counter() - started:.2f} s")
        other.extensions["tessera"].engine.dispose()

    def compare(self, what, ours, raw) -> None:
        p50, rp50 = pct(ours, 0.5), pct(raw, 0.5)
        self.record(
            what,
            f"p50 {p50:.2f} p99 {pct(ours, 0.99):.2f} ms",
            f"p50 {rp50:.2f} p99 {pct(raw, 0.99):.2f} ms",
            f"{p50 / rp50:.2f}x",
        )

    def api_list(self, n: int = 200) -> None:
        token = self.token()
        client = self.flask.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def via_client(i):
            qs = urlencode(
                {
                    "filter": json.dumps({"field": "status", "op": "eq", "value": STATUSES[i % 4]}),
                    "sort": "-amount",
                    "limit": 50,
                }
            )
            resp = client.get(f"/api/v1/bench/item?{qs}", headers=headers)
            assert resp.status_code == 200, resp.get_data(as_text=True)

        timed(via_client, 10)
        self.compare(
            "list page via API (Flask test client)", timed(via_client, n), self.list_samples_raw
        )
        with self.server() as base:
            import http.client

            conn = http.client.HTTPConnection(base)

            def via_http(i):
                qs = urlencode(
                    {
                        "filter": json.dumps(
                            {"field": "status", "op": "eq", "value": STATUSES[i % 4]}
                        ),
                        "sort": "-amount",
                        "limit": 50,
                    }
                )
                conn.request("GET", f"/api/v1/bench/item?{qs}", headers=headers)
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200

            timed(via_http, 10)
            self.compare(
                "list page via API (real HTTP server)", timed(via_http, n), self.list_samples_raw
            )

    def token(self) -> str:
        from tessera import tokens, users

        uid = users.create_user(
            self.t.engine, f"bench{random.randint(0, 10**9)}", "bench-password", is_admin=True
        )
        return tokens.create_token(self.t.engine, uid, "bench")[1]

    def server(self):
        from contextlib import contextmanager

        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietKeepAlive(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"  # keep the client's connection open

            def log_request(self, *args, **kwargs):
                pass

        @contextmanager
        def run():
            srv = make_server(
                "127.0.0.1", 0, self.flask, threaded=True, request_handler=QuietKeepAlive
            )
            th = threading.Thread(target=srv.serve_forever, daemon=True)
            th.start()
            try:
                yield f"127.0.0.1:{srv.server_port}"
            finally:
                srv.shutdown()

        return run()

    def creates(self, n: int = 2000) -> None:
        table, r = self.table, self.t.records

        def values(i):
            return {"name": f"new {i}", "status": STATUSES[i % 4], "amount": "12.50", "qty": i}

        started = time.perf_counter()
        for i in range(n):
            r.create("bench", "item", values(i))
        ours = n / (time.perf_counter() - started)
        now = datetime.now(UTC)
        started = time.perf_counter()
        for i in range(n):
            with self.t.engine.begin() as conn:
                conn.execute(
                    table.insert().values(
                        name=f"raw {i}",
                        status=STATUSES[i % 4],
                        amount=Decimal("12.50"),
                        qty=i,
                        created_at=now,
                        updated_at=now,
                        version=1,
                    )
                )
        raw = n / (time.perf_counter() - started)
        self.record(
            "create one record per transaction (service)",
            f"{ours:,.0f} rec/s",
            f"{raw:,.0f} rec/s",
            f"{raw / ours:.2f}x",
        )
        self.raw_create = raw
        token = self.token()
        client = self.flask.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        for i in range(n):
            resp = client.post("/api/v1/bench/item", json=values(i), headers=headers)
            assert resp.status_code == 201, resp.get_data(as_text=True)
        api = n / (time.perf_counter() - started)
        self.record(
            "create via API (Flask test client, 1 client)",
            f"{api:,.0f} rec/s",
            f"{raw:,.0f} rec/s",
            f"{raw / api:.2f}x",
        )
        with self.server() as base:
            import http.client

            conn = http.client.HTTPConnection(base)
            body_headers = {**headers, "Content-Type": "application/json"}
            started = time.perf_counter()
            for i in range(n):
                conn.request("POST", "/api/v1/bench/item", json.dumps(values(i)), body_headers)
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 201
            http_rate = n / (time.perf_counter() - started)
        self.record(
            "create via API (real HTTP server, 1 client)",
            f"{http_rate:,.0f} rec/s",
            f"{raw:,.0f} rec/s",
            f"{raw / http_rate:.2f}x",
        )

    def bulk(self, n: int = 50_000, chunk: int = 1000) -> None:
        table, r = self.table, self.t.records
        rows = [
            {"name": f"bulk {i}", "status": STATUSES[i % 4], "amount": "99.90", "qty": i % 50}
            for i in range(n)
        ]
        started = time.perf_counter()
        for k in range(0, n, chunk):
            r.bulk_create("bench", "item", rows[k : k + chunk])
        ours = n / (time.perf_counter() - started)
        now = datetime.now(UTC)
        raw_rows = [
            {
                **row,
                "amount": Decimal(row["amount"]),
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for row in rows
        ]
        started = time.perf_counter()
        for k in range(0, n, chunk):
            with self.t.engine.begin() as conn:
                conn.execute(table.insert(), raw_rows[k : k + chunk])
        raw = n / (time.perf_counter() - started)
        self.record(
            f"bulk create {n:,} rows, {chunk}/call (validated)",
            f"{ours:,.0f} rows/s",
            f"{raw:,.0f} rows/s",
            f"{raw / ours:.2f}x",
        )
        same = n / self._raw_with_log(raw_rows, chunk, now)
        self.record(
            "  same, raw Core also writing audit + outbox rows",
            f"{ours:,.0f} rows/s",
            f"{same:,.0f} rows/s",
            f"{same / ours:.2f}x",
        )

    def _raw_with_log(self, raw_rows, chunk, now) -> float:
        """Seconds for Core to write the rows plus one audit and one outbox row each."""
        from tessera.storage.events import audit_log, outbox

        table = self.table
        started = time.perf_counter()
        for k in range(0, len(raw_rows), chunk):
            part = raw_rows[k : k + chunk]
            with self.t.engine.begin() as conn:
                ids = conn.execute(
                    table.insert().returning(table.c.id, sort_by_parameter_order=True), part
                ).scalars().all()  # fmt: skip
                changes = [{k: [None, str(v)] for k, v in row.items()} for row in part]
                conn.execute(audit_log.insert(), [
                    {"app_id": "bench", "record_type": "item", "record_id": i, "action": "create",
                     "changes": c, "actor_kind": "system", "at": now}
                    for i, c in zip(ids, changes, strict=True)
                ])  # fmt: skip
                conn.execute(outbox.insert(), [
                    {"event": "record.created", "app_id": "bench", "record_type": "item",
                     "record_id": i, "payload": {"changes": c}, "depth": 0, "created_at": now,
                     "delivered_at": now}
                    for i, c in zip(ids, changes, strict=True)
                ])  # fmt: skip
        return time.perf_counter() - started

    def run(self) -> list:
        try:
            self.install()
            self.seed()
            self.list_page()
            self.filled_page()
            self.search()
            self.startup()
            self.api_list()
            self.creates()
            self.bulk()
        finally:
            self.t.automation.stop()  # the embedded relay/worker threads of this app
            self.t.engine.dispose()
        return self.results


def pg_url() -> str | None:
    url = os.environ.get("DATABASE_URL") or os.environ.get("TESSERA_TEST_DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


def fresh_pg(url: str, name: str = "tessera_bench") -> str:
    from tessera import db

    admin = db.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--skip-automation", action="store_true")
    args = parser.parse_args()
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if pg_url():
            targets.append(("PostgreSQL", fresh_pg(pg_url())))
        for name, url in targets:
            print(f"\n== {name} ({args.rows:,} rows) ==")
            print(f"  {'what':<48} {'Tessera':>22} {'raw Core':>22} {'ratio':>8}")
            sections.append((name, Bench(url, args.rows, Path(tmp) / name).run()))
        if not args.skip_automation:
            sections.append(("Automation (real Redis, one worker process)", automation_rows()))
    write_results(Path(args.out), args.rows, sections)


def automation_rows() -> list[tuple[str, str, str, str]]:
    """Run bench/automation.py on SQLite (and PostgreSQL) and tabulate its figures."""
    import automation

    rows = []
    targets = [("SQLite", None)] + (
        [("PostgreSQL", fresh_pg(pg_url(), "tessera_bench_auto"))] if pg_url() else []
    )
    for name, url in targets:
        print(f"\n== automation on {name} ==")
        f = automation.main(["--database-url", url] if url else [])
        lat, thr, base = f["latency"], f["throughput"], f["rq_noop"]
        rows += [
            (f"{name}: record change → action done",
             f"p50 {lat['p50_ms']:.1f} p99 {lat['p99_ms']:.1f} ms",
             f"p50 {base['p50_ms']:.1f} p99 {base['p99_ms']:.1f} ms (RQ no-op)",
             f"{lat['p50_ms'] / base['p50_ms']:.1f}x"),
            (f"{name}: simple actions/s, one worker", f"{thr['per_second']:,.0f}/s",
             f"{base['per_second']:,.0f}/s (RQ no-op jobs)",
             f"{base['per_second'] / thr['per_second']:.2f}x"),
        ]  # fmt: skip
        if f.get("throughput_many"):
            many = f["throughput_many"]
            rows.append((f"{name}: simple actions/s, {many['workers']} workers",
                         f"{many['per_second']:,.0f}/s", f"{thr['per_second']:,.0f}/s (one worker)",
                         f"{many['per_second'] / thr['per_second']:.2f}x"))  # fmt: skip
    return rows


def write_results(path: Path, rows: int, sections) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.node()} — {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Rows in the listed table: {rows:,}. Produced by `make bench` (bench/run.py).",
        "",
        "Targets (DESIGN.md): list page p50 < 25 ms and ≤ 3x raw; create ≥ 1,000 rec/s "
        "through the API; bulk ≥ 20,000 rows/s; workflow p50 < 50 ms and p99 < 250 ms, "
        "≥ 500 simple actions/s from one worker.",
        "",
    ]
    for name, results in sections:
        lines += [f"## {name}", "", "| what | Tessera | raw Core | ratio |", "|---|---|---|---|"]
        lines += [f"| {w} | {o} | {r} | {x} |" for w, o, r, x in results]
        lines.append("")
    kept = ""  # bench/dataio.py's own section survives a new `make bench`
    if path.exists() and DATAIO_MARK in path.read_text():
        kept = path.read_text()[path.read_text().index(DATAIO_MARK) :]
    path.write_text("\n".join(lines) + ("\n" + kept if kept else ""))
    print(f"\nwrote {path}")


DATAIO_MARK = "<!-- bench/dataio.py -->"


if __name__ == "__main__":
    main()
