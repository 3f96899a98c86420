"""Export and import of records with a table field: rows go out as JSON text and come back."""

from __future__ import annotations

import io
import json

from tessera.dataio import export, mapping
from tessera.dataio.importer import Importer, ImportOptions
from tessera.dataio.readers import open_table
from tessera.meta.model import View
from tessera.records.actor import Actor

VIEW = View(key="lines", type="table", record_type="order", label={"en": "Lines"},
            columns=("code", "items", "total"))  # fmt: skip


def test_export_csv_and_xlsx_then_import_the_csv(tessera, records, products, tmp_path):
    pen, _ = products
    records.create(
        "shop", "order", {"code": "E1", "items": [{"product": pen, "qty": 2, "price": 1}]}
    )
    out = io.BytesIO()
    assert export.export_view(tessera, "shop", VIEW, "xlsx", out, user_id=None) == 1
    out = io.BytesIO()
    assert export.export_view(tessera, "shop", VIEW, "csv", out, user_id=None) == 1
    text = out.getvalue().decode("utf-8-sig")
    header, line = text.splitlines()[:2]
    assert header.split(",")[:2] == ["Code", "Lines"]
    cells = next(iter(__import__("csv").reader([line])))
    assert json.loads(cells[1]) == [{"product": pen, "qty": 2, "price": "1.00", "amount": "2.00"}]

    path = tmp_path / "in.csv"
    path.write_text(text.replace("E1", "E2"), encoding="utf-8")
    app, rt, _ = records.resolve("shop", "order")
    table = open_table(path)
    table.close()
    wanted = {"Code": "code", "Lines": "items"}
    options = ImportOptions(mapping={**mapping.suggest(app, rt, table.headers), **wanted})
    options.skip_invalid = False
    done = Importer(tessera, "shop", "order", path, options, Actor(kind="import", ref="1")).run()
    assert done.counts["created"] == 1, done.problems
    page = tessera.queries.list(
        "shop", "order", filter={"field": "code", "op": "eq", "value": "E2"}
    )
    got = records.get("shop", "order", page.rows[0]["id"])
    assert got["items"][0]["qty"] == 2 and str(got["total"]) == "2.00"
