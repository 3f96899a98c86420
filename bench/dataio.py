"""Benchmark: CSV import and export against raw Core inserts of the same rows.

    .venv/bin/python bench/dataio.py                 # 20,000 rows, SQLite
    .venv/bin/python bench/dataio.py --rows 100000 --database-url postgresql://...

Measures, in one run on one machine, for customers of the built-in CRM (a select
column ``tier`` by label, a link column ``owner`` by username, a date, a currency):
- import of a UTF-8 CSV through the import runner (parse, links, dedupe lookup on
  phone/e-mail, records-service validation, audit; ``--skip-invalid`` so one pass), rows/s;
- the default all-or-nothing import (a checking pass, then the writing pass), rows/s;
- raw SQLAlchemy Core executemany of the same, already parsed, rows (no audit), rows/s;
- re-importing the same file with ``--on-match update`` (every row matches), seconds;
- exporting every row to CSV through the query layer: rows/s and the Python heap peak
  (tracemalloc), which stays flat as rows grow.
Prints a Markdown table (paste into bench/RESULTS.md). Never part of tests.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_csv(path: Path, rows: int) -> None:
    """A customers CSV with Chinese headers, labels, usernames, dates and amounts."""
    tiers = ["高价值", "普通", "低价值"]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write("客户名称,手机,邮箱,价值等级,负责人,累计消费,最近购买\n")
        for i in range(rows):
            fh.write(
                f"客户{i:07d}有限公司,1{i:010d},c{i}@example.cn,{tiers[i % 3]},user{i % 5},"
                f'"{i % 100000:,}.50",2024/{i % 12 + 1}/{i % 28 + 1}\n'
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-io-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    if url.startswith("postgresql"):
        url = _fresh_pg(url)
    t = _runtime(url, folder)
    csv_path = folder / "customers.csv"
    make_csv(csv_path, args.rows)
    n = args.rows
    out = [f"Rows: {n:,}. Database: {url.split(':')[0]}. Python {sys.version.split()[0]}.", ""]
    out += ["| what | Tessera | raw Core | ratio |", "|---|---|---|---|"]
    raw = _raw_insert(t, n)
    one_pass = _import(t, csv_path, skip_invalid=True)
    out.append(_row("import CSV, --skip-invalid (one pass, validated, audited)", n, one_pass, raw))
    _wipe(t)
    two_pass = _import(t, csv_path, skip_invalid=False)
    out.append(_row("import CSV, all-or-nothing (check pass + write pass)", n, two_pass, raw))
    update = _import(t, csv_path, skip_invalid=True, on_match="update", tier_flip=True)
    out.append(f"| re-import, --on-match update ({n:,} matches) | {update:.1f} s |  |  |")
    secs, peak = _export(t)
    out.append(f"| export CSV through the query layer | {n / secs:,.0f} rows/s, "
               f"heap peak {peak / 1e6:.1f} MB |  |  |")  # fmt: skip
    print("\n".join(out))


def _row(what: str, n: int, secs: float, raw: float) -> str:
    return (
        f"| {what} | {n / secs:,.0f} rows/s | {n / raw:,.0f} rows/s | {raw and secs / raw:.1f}x |"
    )


def _runtime(url: str, folder: Path):
    from tessera.meta import load_app
    from tessera.runtime import Tessera
    from tessera.storage import installer
    from tessera.users import create_user

    config = {"DATABASE_URL": url, "TESSERA_INSTANCE": str(folder), "REDIS_URL": None}
    t = Tessera.from_config(config)
    crm = REPO / "templates_builtin" / "crm"
    installer.install(t.engine, load_app(crm), (crm / "template.yaml").read_text())
    t.registry.reload()
    for i in range(5):
        create_user(t.engine, f"user{i}", "pw-bench-123456")
    return t


def _fresh_pg(url: str) -> str:
    import sqlalchemy as sa

    from tessera import db

    admin = db.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS tessera_bench_io WITH (FORCE)")
        conn.exec_driver_sql("CREATE DATABASE tessera_bench_io")
    admin.dispose()
    return sa.make_url(url).set(database="tessera_bench_io").render_as_string(hide_password=False)


def _raw_insert(t, n: int) -> float:
    """Core executemany of the same rows, values already parsed; the table emptied after."""
    import sqlalchemy as sa

    table = t.registry.table("crm", "customer")
    tiers = ["high", "normal", "low"]
    rows = [
        {"name": f"客户{i:07d}有限公司", "phone": f"1{i:010d}", "email": f"c{i}@example.cn",
         "tier": tiers[i % 3], "owner": i % 5 + 1, "total_spent": Decimal(f"{i % 100000}.50"),
         "last_purchase_at": date(2024, i % 12 + 1, i % 28 + 1), "version": 1}
        for i in range(n)
    ]  # fmt: skip
    started = time.perf_counter()
    with t.engine.begin() as conn:
        for i in range(0, n, 1000):
            conn.execute(table.insert(), rows[i : i + 1000])
    secs = time.perf_counter() - started
    with t.engine.begin() as conn:
        conn.execute(sa.delete(table))
    return secs


def _import(t, path: Path, *, skip_invalid: bool, on_match: str = "skip", tier_flip=False):
    from tessera.dataio import mapping, service
    from tessera.dataio.importer import ImportOptions
    from tessera.dataio.readers import open_table

    if tier_flip:  # every row changes, so an update really writes
        text = path.read_text("utf-8-sig").replace(",普通,", ",低价值,")
        path = path.with_name("customers2.csv")
        path.write_text(text, "utf-8-sig")
    app, rt, _ = t.records.resolve("crm", "customer")
    table = open_table(path)
    table.close()
    headers = mapping.suggest(app, rt, table.headers)
    options = ImportOptions(mapping=headers, match=["phone", "email"], on_match=on_match,
                            skip_invalid=skip_invalid)  # fmt: skip
    job = service.create_job(t, "crm", "customer", path, path.name, options, None)
    started = time.perf_counter()
    result = service.execute(t, job, "run")
    secs = time.perf_counter() - started
    assert result is not None and result.ok, (
        result and result.problems[:3],
        service.get_job(t, job),
    )
    return secs


def _wipe(t) -> None:
    import sqlalchemy as sa

    from tessera.storage.events import audit_log

    with t.engine.begin() as conn:
        conn.execute(sa.delete(t.registry.table("crm", "customer")))
        conn.execute(sa.delete(audit_log))


def _export(t) -> tuple[float, int]:
    from tessera.dataio.export import export_view

    sink = _Counting()
    tracemalloc.start()
    started = time.perf_counter()
    export_view(t, "crm", "customers", "csv", sink, user_id=None)
    secs = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return secs, peak


class _Counting(io.RawIOBase):
    """A sink that only counts bytes (the export's own memory is what is measured)."""

    def __init__(self):
        self.n = 0

    def write(self, b) -> int:
        self.n += len(b)
        return len(b)


if __name__ == "__main__":
    os.environ.setdefault("TESSERA_QUIET", "1")
    main()
