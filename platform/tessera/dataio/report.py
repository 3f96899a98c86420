"""The downloadable report: the refused rows as the file had them, plus an error column.

Fix the cells in a spreadsheet, delete the error column, and import the file again.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import Any

from tessera.dataio.export import neutralise
from tessera.dataio.importer import ImportOptions
from tessera.dataio.readers import open_table


def messages_by_row(problems: list[dict[str, Any]]) -> dict[int, list[str]]:
    """``{row: ["column "Phone" (phone): ...", ...]}``."""
    out: dict[int, list[str]] = {}
    for p in problems or ():
        text = f"{p['column']}: {p['message']}" if p.get("column") else p["message"]
        out.setdefault(int(p["row"]), []).append(text)
    return out


def refused_rows_csv(t: Any, job: dict[str, Any]) -> Iterator[bytes]:
    """UTF-8 CSV (with BOM) of the refused rows: row number, the cells, the errors."""
    options = ImportOptions.from_json(job["options"])
    by_row = messages_by_row(job["report"])
    table = open_table(job["file_path"], encoding=options.encoding, sheet=options.sheet,
                       name=job["file_name"])  # fmt: skip
    yield codecs.BOM_UTF8
    try:
        yield _line(["row", *table.headers, "error"])
        for number, cells in table.rows:
            if number in by_row:
                shown = ["" if c is None else str(c) for c in cells[: len(table.headers)]]
                shown += [""] * (len(table.headers) - len(shown))
                yield _line([str(number), *shown, "; ".join(by_row[number])])
    finally:
        table.close()


def _line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(v) for v in values])
    return buffer.getvalue().encode("utf-8")
