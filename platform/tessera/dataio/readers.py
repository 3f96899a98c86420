"""File readers: CSV/TSV in any common encoding and XLSX, streamed as header + rows.

:func:`open_table` looks at the file (never loading it whole), checks the size limit,
the kind (by content, then name), the encoding (UTF-8 with or without BOM, else
GB18030, which covers GBK and GB2312 as Chinese Excel writes them; a claimed encoding
overrides detection and is checked) and the header row (no blank or duplicate names).
Rows come back lazily as lists of cells, numbered as a spreadsheet shows them (the
header is row 1). XLSX is read with openpyxl in read-only mode; merged cells take the
value of their top-left cell in every cell they cover.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl.utils import get_column_letter, range_boundaries

from tessera.errors import TesseraError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 1024
SAMPLE = 64 * 1024
CHUNK = 1024 * 1024
DETECT_ORDER = ("utf-8-sig", "gb18030")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
csv.field_size_limit(16 * 1024 * 1024)


class FileProblem(TesseraError):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass
class Table:
    """A readable file: its header, a lazy row iterator, and what was detected."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (spreadsheet row number, cells)
    kind: str  # csv | tsv | xlsx
    encoding: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    closer: Any = None

    def close(self) -> None:
        """Release the file handle."""
        if self.closer is not None:
            self.closer()


def open_table(
    path: str | Path,
    *,
    kind: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str | None = None,
) -> Table:
    """Open ``path`` as a table (see the module docstring); FileProblem when it cannot."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise FileProblem(
            f"the file is {_mb(size)}, over the {_mb(max_bytes)} import limit; "
            "split it or ask an admin to raise IMPORT_MAX_BYTES"
        )
    if size == 0:
        raise FileProblem("the file is empty: expected a header row and data rows")
    kind = kind or guess_kind(path, name or path.name)
    if kind == "xlsx":
        return _open_xlsx(path, sheet)
    return _open_text(path, kind, encoding)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def guess_kind(path: Path, name: str) -> str:
    """xlsx (a zip), tsv (by name or tabs in the first line) or csv."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem("this is an old .xls workbook: save it as .xlsx or CSV and try again")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem("the file is not a spreadsheet (binary content): expected CSV or XLSX")
    if name.lower().endswith((".tsv", ".tab")):
        return "tsv"
    first = head.split(b"\n", 1)[0]
    return "tsv" if first.count(b"\t") > first.count(b",") else "csv"


# -- CSV / TSV ------------------------------------------------------------------------
def detect_encoding(path: Path) -> str:
    """The first of utf-8-sig, gb18030 that decodes the whole file (read in chunks)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in DETECT_ORDER:
        if _decodes(path, candidate) is None:
            return candidate
    raise FileProblem(
        "the file's encoding is not UTF-8 nor GBK/GB18030: choose its encoding "
        "(--encoding, or the Encoding box) or save it from Excel as 'CSV UTF-8'"
    )


def _decodes(path: Path, encoding: str) -> UnicodeDecodeError | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                exc.start += offset
                return exc
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return exc
    return None


def _checked_encoding(path: Path, claimed: str) -> str:
    try:
        codecs.lookup(claimed)
    except LookupError:
        raise FileProblem(f"unknown encoding {claimed!r} (try utf-8 or gb18030)") from None
    problem = _decodes(path, claimed)
    if problem is not None:
        hint = next((c for c in DETECT_ORDER if _decodes(path, c) is None), None)
        also = f"; it reads as {hint}: try that" if hint else ""
        raise FileProblem(
            f"the file is not valid {claimed} (byte {problem.start}: "
            f"{problem.object[problem.start : problem.start + 2]!r}){also}"
        )
    return "utf-8-sig" if codecs.lookup(claimed).name == "utf-8" else claimed


def _open_text(path: Path, kind: str, encoding: str | None) -> Table:
    encoding = _checked_encoding(path, encoding) if encoding else detect_encoding(path)
    fh = path.open("r", encoding=encoding, newline="")
    sample = fh.read(SAMPLE)
    if _CONTROL.search(sample.lstrip("\ufeff")):
        fh.close()
        raise FileProblem(
            f"the file does not look like text in {encoding} (control characters): "
            "expected CSV, TSV or XLSX"
        )
    fh.seek(0)
    reader = csv.reader(fh, delimiter="\t" if kind == "tsv" else ",")
    try:
        header = next(reader, None)
    except csv.Error as exc:
        fh.close()
        raise FileProblem(f"row 1: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        fh.close()
        raise FileProblem("the file has no header row: the first row must name the columns")
    headers = check_headers(header)
    return Table(headers, _text_rows(reader, fh), kind, encoding=encoding, closer=fh.close)


def _text_rows(reader, fh) -> Iterator[tuple[int, list[Any]]]:
    number = 1
    try:
        for row in reader:
            number += 1
            if any(cell.strip() for cell in row):
                yield number, row
    except csv.Error as exc:
        raise FileProblem(f"row {number + 1}: {exc}") from None
    finally:
        fh.close()


def check_headers(raw: list[Any]) -> list[str]:
    """Trimmed header names; FileProblem naming blank and duplicate columns."""
    headers = ["" if h is None else str(h).strip() for h in raw]
    while headers and not headers[-1]:
        headers.pop()  # Excel's trailing empty columns
    if len(headers) > MAX_COLUMNS:
        raise FileProblem(f"the file has {len(headers)} columns; at most {MAX_COLUMNS} are read")
    problems = [f"column {_col(i)} has no header" for i, h in enumerate(headers) if not h]
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        if h and h.casefold() in seen:
            problems.append(
                f'columns {_col(seen[h.casefold()])} and {_col(i)} are both named "{h}"'
            )
        seen.setdefault(h.casefold(), i)
    if problems:
        raise FileProblem(
            "header row: " + "; ".join(problems) + " — every column needs a unique name"
        )
    return headers


def _col(i: int) -> str:
    return f"{get_column_letter(i + 1)} ({i + 1})"


# -- XLSX -------------------------------------------------------------------------------
def _open_xlsx(path: Path, sheet: str | None) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(
            f"the workbook cannot be opened ({exc}); save it again as .xlsx"
        ) from None
    names = book.sheetnames
    if sheet and sheet not in names:
        book.close()
        raise FileProblem(f"no sheet {sheet!r} in the workbook (sheets: {', '.join(names)})")
    ws = book[sheet or names[0]]
    merged = _merged_ranges(path, getattr(ws, "_worksheet_path", None))
    rows = _xlsx_rows(ws, merged)
    first = next(rows, None)
    if first is None:
        book.close()
        raise FileProblem(f"sheet {ws.title!r} is empty: expected a header row and data rows")
    headers = check_headers(first[1])
    return Table(
        headers, _skip_blank(rows), "xlsx", sheet=ws.title, sheets=names, closer=book.close
    )


def _merged_ranges(path: Path, sheet_path: str | None) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every merged range, streamed from the XML."""
    if not sheet_path:
        return []
    out = []
    with zipfile.ZipFile(path) as archive, archive.open(sheet_path.lstrip("/")) as fh:
        for _, elem in ElementTree.iterparse(fh):
            if elem.tag.endswith("}mergeCell"):
                out.append(range_boundaries(elem.get("ref")))
            elem.clear()
    return out


def _xlsx_rows(ws, merged) -> Iterator[tuple[int, list[Any]]]:
    starts = {(r[1], r[0]): r for r in merged}
    carry: dict[tuple[int, int], Any] = {}
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = list(values)
        if merged:
            _fill_merged(number, cells, starts, carry)
        yield number, cells


def _fill_merged(number, cells, starts, carry) -> None:
    for (row, col), (c1, r1, c2, r2) in starts.items():
        if row == number and col - 1 < len(cells):
            value = cells[col - 1]
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    carry[(r, c)] = value
    for (r, c), value in list(carry.items()):
        if r == number:
            while len(cells) < c:
                cells.append(None)
            cells[c - 1] = value
            del carry[(r, c)]


def _skip_blank(rows) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in rows:
        if any(c is not None and str(c).strip() for c in cells):
            yield number, cells


def file_size(path: str | Path) -> int:
    """Size in bytes (for progress)."""
    return os.stat(path).st_size
