"""Data in/out fixtures: file writers for CSV and XLSX (``crm`` is the root conftest's)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(text, name, encoding) -> path of a file holding ``text``."""

    def write(text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def write_xlsx(tmp_path):
    """write_xlsx(rows, name, merge=[ranges], sheet=title) -> path of a workbook."""

    def write(rows, name: str = "in.xlsx", merge=(), sheet: str = "Sheet1") -> Path:
        from openpyxl import Workbook

        book = Workbook()
        ws = book.active
        ws.title = sheet
        for row in rows:
            ws.append(list(row))
        for rng in merge:
            ws.merge_cells(rng)
        path = tmp_path / name
        book.save(path)
        return path

    return write
