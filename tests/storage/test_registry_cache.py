"""Loading installed apps is cheap: compiled once per source, never re-validated."""

from __future__ import annotations

import pytest
from libapp import library, rt_data

from tessera import meta
from tessera.storage import installer
from tessera.storage.registry import Registry


def test_reload_reuses_the_compiled_app_until_its_source_changes(eng):
    app, data = library()
    installer.install(eng, app, "v1")
    first = Registry(eng).apps["lib"]
    assert Registry(eng).apps["lib"] is first  # same source: the compiled App is shared

    new, _ = library(
        "1.1.0",
        lambda d: rt_data(d, "author")["fields"].append({"key": "nickname", "type": "text"}),
    )
    installer.upgrade(eng, new, "v2")
    again = Registry(eng).apps["lib"]
    assert again is not first
    assert again.record_type("author").field("nickname").type == "text"


def test_stored_source_is_not_validated_again(eng, monkeypatch):
    app, _ = library()
    installer.install(eng, app, "v1")
    installer._COMPILED.clear()

    def fail(*args, **kwargs):
        pytest.fail("an installed source was validated again")

    monkeypatch.setattr(meta, "validate_data", fail)
    assert Registry(eng).apps["lib"].id == "lib"
