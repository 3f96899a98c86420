"""Per-column memo of cell parsing: repeated texts parse once, refusals repeat per row."""

from __future__ import annotations

from tessera.dataio import mapping
from tessera.dataio.importer import Importer, ImportOptions
from tessera.fields.choice import SelectType
from tessera.records.actor import Actor


def test_repeated_cells_parse_once_and_every_bad_row_is_reported(crm, write_csv, monkeypatch):
    calls = []
    real = SelectType.from_cell

    def counting(self, field, cell):
        calls.append(cell)
        return real(self, field, cell)

    monkeypatch.setattr(SelectType, "from_cell", counting)
    rows = "".join(f"客户{i},{['高价值', '普通', '坏'][i % 3]}\n" for i in range(30))
    path = write_csv("客户名称,价值等级\n" + rows)
    app, rt, _ = crm.records.resolve("crm", "customer")
    options = ImportOptions(mapping=mapping.suggest(app, rt, ["客户名称", "价值等级"]))
    result = Importer(crm, "crm", "customer", path, options, Actor(kind="import", ref="m")).check()
    assert sorted(calls) == sorted(["高价值", "普通", "坏"])  # three texts, three parses
    bad = [p for p in result.problems if p["field"] == "tier"]
    assert [p["row"] for p in bad] == list(range(4, 32, 3))  # rows 4, 7, ... (header is 1)
    assert len({p["message"] for p in bad}) == 1 and "坏" in bad[0]["message"]
    assert result.counts["refused"] == 10
