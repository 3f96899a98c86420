"""File readers: encodings, kinds, headers, size limits, bad files (no database needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from tessera.dataio.readers import FileProblem, open_table

ROWS = "名称,电话\n华为,13800138000\n腾讯,13900139000\n"


def _read(path, **kw):
    table = open_table(path, **kw)
    rows = list(table.rows)
    return table, rows


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(write_csv, encoding):
    table, rows = _read(write_csv(ROWS, encoding=encoding))
    assert table.headers == ["名称", "电话"]
    assert rows == [(2, ["华为", "13800138000"]), (3, ["腾讯", "13900139000"])]
    assert table.encoding in ("utf-8-sig", "gb18030")


def test_claimed_encoding_overrides_and_a_wrong_claim_is_named(write_csv):
    path = write_csv(ROWS, encoding="gbk")
    table, rows = _read(path, encoding="gbk")
    assert rows[0][1][0] == "华为"
    with pytest.raises(FileProblem) as info:
        open_table(path, encoding="utf-8")
    assert "not valid utf-8" in str(info.value) and "gb18030" in str(info.value)
    with pytest.raises(FileProblem, match="unknown encoding"):
        open_table(path, encoding="klingon")


def test_tsv_quotes_newlines_and_uneven_rows(write_csv):
    table, rows = _read(write_csv("a\tb\n1\t2\n3\n", "x.tsv"))
    assert table.kind == "tsv" and rows == [(2, ["1", "2"]), (3, ["3"])]
    table, rows = _read(write_csv('name,note\n"Acme, Inc.","line one\nline two"\n,\n'))
    assert rows == [(2, ["Acme, Inc.", "line one\nline two"])]  # the blank row is skipped


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("\n\n", "no header row"),
        ("name,,phone\n", "column B (2) has no header"),
        ("Phone,name,phone\n", 'columns A (1) and C (3) are both named "phone"'),
    ],
)
def test_bad_headers_are_named(write_csv, text, message):
    with pytest.raises(FileProblem) as info:
        open_table(write_csv(text))
    assert message in str(info.value)


def test_binary_junk_old_xls_and_size_limit(tmp_path, write_csv):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(FileProblem, match="binary"):
        open_table(junk)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(FileProblem, match="xlsx"):
        open_table(xls)
    with pytest.raises(FileProblem, match="import limit"):
        open_table(write_csv(ROWS), max_bytes=10)


def test_a_thousand_columns_are_read(write_csv):
    header = ",".join(f"c{i}" for i in range(1000))
    table, rows = _read(write_csv(header + "\n" + ",".join("x" * 1000) + "\n"))
    assert len(table.headers) == 1000 and len(rows[0][1]) == 1000


def test_xlsx_first_or_chosen_sheet_dates_and_merged_cells(write_xlsx):
    path = write_xlsx(
        [
            ["公司", "联系人", "日期"],
            ["华为", "张三", dt.datetime(2024, 3, 5)],
            [None, "李四", None],
            ["腾讯", "王五", None],
        ],
        merge=["A2:A3"],
    )
    table, rows = _read(path)
    assert table.kind == "xlsx" and table.sheet == "Sheet1"
    assert table.headers == ["公司", "联系人", "日期"]
    assert rows[0] == (2, ["华为", "张三", dt.datetime(2024, 3, 5)])
    assert rows[1][1][:2] == ["华为", "李四"]  # the merged cell's value in every cell
    with pytest.raises(FileProblem, match="no sheet 'Nope'"):
        open_table(path, sheet="Nope")


def test_xlsx_formula_cells_are_never_evaluated(write_xlsx):
    table, rows = _read(write_xlsx([["name"], ["=1+1"]]))
    assert rows == [] or rows[0][1][0] in (None, "=1+1")  # no cached value: read as empty
