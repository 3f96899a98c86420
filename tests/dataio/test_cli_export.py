"""flask import / flask export, and the export writers (CSV with BOM, XLSX reopened)."""

from __future__ import annotations

import codecs
import csv
import io

import sqlalchemy as sa
from openpyxl import load_workbook

from tessera.dataio.export import export_view

HEAD = "客户名称,电话号码,Mail,Tier,消费金额\n"
GOOD = '华为,13800138000,hw@x.cn,高价值,"1,000"\n腾讯,13900139000,qq@x.cn,普通,20\n'
BAD_ROW = "坏,13700137000,not-an-email,普通,-5\n"


def _count(t):
    table = t.registry.table("crm", "customer")
    with t.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_import_cli_all_or_nothing_skip_invalid_and_dry_run(crm, runner, write_csv):
    path = str(write_csv(HEAD + GOOD + BAD_ROW, encoding="gb18030"))
    refused = runner.invoke(args=["import", "crm", "customer", path])
    assert refused.exit_code == 1
    assert 'row 4, column "Mail" (email): not a valid e-mail address' in refused.stderr
    assert 'row 4, column "消费金额" (total_spent): must be at least 0' in refused.stderr
    assert "nothing written: 3 rows: 2 to create" in refused.stderr and _count(crm) == 0
    dry = runner.invoke(args=["import", "crm", "customer", path, "--dry-run", "--skip-invalid"])
    assert dry.exit_code == 1 and "dry run" in dry.stdout and _count(crm) == 0
    ok = runner.invoke(args=["import", "crm", "customer", path, "--skip-invalid"])
    assert ok.exit_code == 0, ok.stderr
    assert "3 rows: 2 created, 0 updated, 0 skipped, 1 refused" in ok.stdout
    # the good rows went in, and the refused row's report is as complete as a dry run's
    assert 'row 4, column "Mail" (email): not a valid e-mail address' in ok.stderr
    assert 'row 4, column "消费金额" (total_spent): must be at least 0' in ok.stderr
    assert _count(crm) == 2
    again = runner.invoke(args=["import", "crm", "customer", path, "--skip-invalid"])
    assert "2 skipped" in again.stdout  # the template's match: phone or e-mail


def test_import_cli_map_encoding_and_errors(crm, runner, write_csv):
    path = str(write_csv("who,备注\nAcme,hello\n", encoding="gbk"))
    bad_map = runner.invoke(args=["import", "crm", "customer", path, "--map", "who=nme"])
    assert bad_map.exit_code == 1 and 'has no field "nme"' in bad_map.stderr
    wrong = runner.invoke(args=["import", "crm", "customer", path, "--encoding", "utf-8"])
    assert wrong.exit_code == 1 and "not valid utf-8" in wrong.stderr
    ok = runner.invoke(args=["import", "crm", "customer", path, "--map", "who=name",
                             "--map", "备注=notes", "--encoding", "gbk"])  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert _count(crm) == 1
    assert runner.invoke(args=["import", "crm", "nope", path]).exit_code == 1
    missing = runner.invoke(args=["import", "crm", "customer", "/no/such.csv"])
    assert missing.exit_code == 2


def _seed(t):
    rows = [
        {"name": "=cmd|' /C calc'!A0", "tier": "high", "total_spent": "900", "company": "@evil"},
        {"name": "华为", "tier": "high", "total_spent": "1234.5", "last_purchase_at": "2024-03-05"},
        {"name": "腾讯", "tier": "low", "total_spent": "10"},
    ]
    t.records.bulk_create("crm", "customer", rows)


def test_export_csv_view_filter_sort_columns_bom_and_neutralised(crm, runner, tmp_path):
    _seed(crm)
    out = tmp_path / "high.csv"
    result = runner.invoke(args=["export", "crm", "high_value", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Name", "Company", "Lifecycle stage", "Total spent", "Last purchase"],
        ["华为", "", "Potential", "1234.50", "2024-03-05"],
        ["'=cmd|' /C calc'!A0", "'@evil", "Potential", "900.00", ""],
    ]
    zh = io.BytesIO()
    assert export_view(crm, "crm", "high_value", "csv", zh, user_id=None, locale="zh-CN") == 2
    assert (
        zh.getvalue().decode("utf-8-sig").splitlines()[0]
        == "名称,公司,生命周期阶段,累计消费,最近购买"
    )


def test_export_xlsx_reopens_with_openpyxl(crm, runner, tmp_path):
    _seed(crm)
    out = tmp_path / "all.xlsx"
    result = runner.invoke(args=["export", "crm", "customers", "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    ws = load_workbook(out).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["Code", "Name", "Company", "Value tier", "Lifecycle stage", "Activity",
                         "Owner", "Total spent"]  # fmt: skip
    assert [r[1] for r in values[1:]] == ["=cmd|' /C calc'!A0", "华为", "腾讯"]
    assert ws["B2"].data_type == "s"  # text, not a formula
    assert values[2][3] == "High value" and values[2][7] == 1234.5
    bad = runner.invoke(args=["export", "crm", "nope"])
    assert bad.exit_code == 1 and "no view 'nope'" in bad.stderr


def test_export_pages_through_the_query_layer(crm, monkeypatch):
    from tessera.dataio import export

    monkeypatch.setattr(export, "PAGE", 2)
    crm.records.bulk_create("crm", "customer", [{"name": f"c{i:02}"} for i in range(7)])
    calls = []
    original = crm.queries.list

    def spy(*args, **kw):
        calls.append(kw.get("cursor"))
        return original(*args, **kw)

    monkeypatch.setattr(crm.queries, "list", spy)
    out = io.BytesIO()
    assert export_view(crm, "crm", "customers", "csv", out, user_id=None) == 7
    assert len(calls) == 4 and calls[0] is None


def test_import_links_by_a_chosen_field(crm, runner, write_csv):
    c = crm.records.create("crm", "customer", {"name": "Acme", "email": "a@acme.cn"})
    path = str(write_csv("主题,客户\n电话回访,A@ACME.CN\n"))
    by_title = runner.invoke(args=["import", "crm", "follow_up", path])
    assert by_title.exit_code == 1 and 'no customer with title "A@ACME.CN"' in by_title.stderr
    ok = runner.invoke(args=["import", "crm", "follow_up", path, "--link-by", "customer=email"])
    assert ok.exit_code == 0, ok.stderr
    assert crm.queries.list("crm", "follow_up").rows[0]["customer"] == c["id"]
