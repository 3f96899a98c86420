"""Bad input through `flask import` on both databases: a precise error, nothing half-imported."""

from __future__ import annotations

import sqlalchemy as sa

HEAD = "客户名称,电话,邮箱,累计消费,最近购买\n"
OK_ROW = "甲,13800138000,a@x.cn,1,2024-01-01\n"


def _count(t) -> int:
    table = t.registry.table("crm", "customer")
    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


CASES = {
    "empty": (b"", "the file is empty"),
    "header only": (HEAD.encode(), "no data rows"),
    "binary junk": (bytes(range(256)) * 4, "binary"),
    "blank header": ("名称,,电话\n甲,,1\n".encode(), "column B (2) has no header"),
    "duplicate header": ("电话,名称,电话\n1,甲,2\n".encode(), 'both named "电话"'),
    "extra cells": ((HEAD + OK_ROW + "乙,13900139000,b@x.cn,1,2024-01-01,extra\n").encode(),
                    "row 3: has 6 cells but the header names 5"),
    "impossible date": ((HEAD + OK_ROW + "乙,13900139000,b@x.cn,1,2024-02-30\n").encode(),
                        "row 3, column \"最近购买\" (last_purchase_at): 2024-02-30: February 2024 "
                        "has 29 days"),
    "ungrouped commas": ((HEAD + OK_ROW + "乙,13900139000,b@x.cn,\"1,2,3\",\n").encode(),
                         "1,2,3: not a number (a comma may only separate groups of three digits)"),
    "missing required": ((HEAD + OK_ROW + ",13900139000,b@x.cn,1,\n").encode(),
                         'row 3, column "客户名称" (name): required'),
}  # fmt: skip


def test_each_bad_file_is_refused_precisely_and_nothing_is_written(crm, runner, tmp_path):
    for name, (data, message) in CASES.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        result = runner.invoke(args=["import", "crm", "customer", str(path)])
        assert result.exit_code == 1, name
        assert message in result.stderr, (name, result.stderr)
        assert _count(crm) == 0, name


def test_wrong_encoding_claim_oversize_and_1000_columns(crm, runner, tmp_path, flask_app):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEAD + OK_ROW).encode("gbk"))
    wrong = runner.invoke(args=["import", "crm", "customer", str(path), "--encoding", "utf-8"])
    assert wrong.exit_code == 1 and "try that" in wrong.stderr
    crm.config["IMPORT_MAX_BYTES"] = 10
    big = runner.invoke(args=["import", "crm", "customer", str(path)])
    assert big.exit_code == 1 and "over the 0.0 MB import limit" in big.stderr
    crm.config["IMPORT_MAX_BYTES"] = None
    wide = tmp_path / "wide.csv"
    extra = [f"列{i}" for i in range(995)]
    wide.write_text(",".join(["客户名称", "电话", "邮箱", "累计消费", "最近购买", *extra]) + "\n"
                    + OK_ROW.strip() + "," + ",".join("x" * 995) + "\n", "utf-8")  # fmt: skip
    ok = runner.invoke(args=["import", "crm", "customer", str(wide)])
    assert ok.exit_code == 0, ok.stderr
    assert _count(crm) == 1


def test_quotes_newlines_formulas_and_merged_cells(crm, runner, tmp_path, write_xlsx):
    path = tmp_path / "q.csv"
    body = '"甲 ""A"", Inc.",13800138000,a@x.cn,1,"line 1\nline 2 =SUM(A1)"\n'
    body += "=1+1,13900139000,b@x.cn,2,@x\n"
    path.write_text(HEAD.replace("最近购买", "备注") + body, "utf-8")
    ok = runner.invoke(args=["import", "crm", "customer", str(path)])
    assert ok.exit_code == 0, ok.stderr
    rows = {r["name"]: r for r in crm.queries.list("crm", "customer").rows}
    assert rows['甲 "A", Inc.']["notes"] == "line 1\nline 2 =SUM(A1)" and "=1+1" in rows
    book = write_xlsx([["公司", "客户名称", "电话"], ["集团A", "甲2", "13700137000"],
                       [None, "乙2", "13600136000"]], merge=["A2:A3"])  # fmt: skip
    ok = runner.invoke(args=["import", "crm", "customer", str(book)])
    assert ok.exit_code == 0, ok.stderr
    rows = {r["name"]: r for r in crm.queries.list("crm", "customer").rows}
    assert rows["甲2"]["company"] == rows["乙2"]["company"] == "集团A"
