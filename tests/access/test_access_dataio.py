"""Imports and exports go through the same rules: bulk_update checked, exports scoped."""

from __future__ import annotations

import csv
import io

import pytest

from tessera.dataio.export import export_view
from tessera.errors import Forbidden, NotFound
from tessera.records.actor import Actor


def _csv(t, user_id, view="customers") -> list[dict]:
    out = io.BytesIO()
    export_view(t, "crm", view, "csv", out, user_id=user_id)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


def test_an_export_holds_only_readable_rows_and_columns(t, world):
    from tessera.meta.model import View

    view = View("x", "table", "customer", {"en": "X"}, columns=("name", "credit_limit", "tier"))
    mine = _csv(t, world["rep1"], view)
    assert sorted(r["Name"] for r in mine) == ["c1", "c4"]
    assert "Credit limit" not in mine[0]  # hidden: the column is left out, not blanked
    every = _csv(t, world["fin"], view)
    assert len(every) == 4 and "Credit limit" in every[0]
    assert _csv(t, world["nobody"], view) == []


def test_bulk_update_is_checked_like_update(t, world):
    rep = Actor(world["rep1"], "import")
    with pytest.raises((Forbidden, NotFound)):
        t.records.bulk_update("crm", "customer", [(world["c1"], {"notes": "a"}),
                                                  (world["c2"], {"notes": "b"})], rep)  # fmt: skip
    assert t.records.get("crm", "customer", world["c1"]).get("notes") != "a"  # all or nothing
    with pytest.raises(Forbidden) as refused:
        t.records.bulk_update("crm", "customer", [(world["c1"], {"tier": "high"})], rep)
    assert "tier" in refused.value.message
    done = t.records.bulk_update("crm", "customer", [(world["c1"], {"notes": "ok"})], rep)
    assert done[0]["notes"] == "ok" and "credit_limit" not in done[0]
