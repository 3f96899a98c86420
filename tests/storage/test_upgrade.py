"""Install -> upgrade (add, rename, retype, remove, purge, indexes) -> export, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from libapp import field_data, library, rt_data

from tessera.errors import InstallError, UnknownApp
from tessera.meta import app_from_data
from tessera.storage import installer, migrate, naming, system
from tessera.storage.registry import Registry


def _install(eng):
    app, _ = library()
    installer.install(eng, app, "v1 text")
    with eng.begin() as conn:
        for name, born, email in [("Ann", "1950", "ann@x.org"), ("Bob", "1960", None)]:
            conn.execute(
                sa.text("INSERT INTO rt_lib_author (name, born, email) VALUES (:n, :b, :e)"),
                {"n": name, "b": born, "e": email},
            )
        conn.execute(sa.text("INSERT INTO rt_lib_book (title, author, pages) VALUES ('T', 1, 10)"))
    return app


def _rows(eng, sql):
    with eng.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def _columns(eng, table):
    return {c["name"] for c in sa.inspect(eng).get_columns(table)}


def _version(eng):
    return [r["version"] for r in installer.list_apps(eng)]


def _field(data, rt, **f):
    rt_data(data, rt)["fields"].append(f)


def test_plan_for_new_app_creates_tables_then_indexes():
    app, _ = library()
    p = migrate.plan(None, app)
    kinds = [s.kind for s in p.steps]
    assert kinds.index("create_index") > max(i for i, k in enumerate(kinds) if k == "create_table")
    assert "create table rt_lib_author" in p.describe()
    assert p.data_loss == []
    # referenced tables first, so PostgreSQL resolves the foreign keys
    creates = [s.table.name for s in p.steps if s.kind == "create_table"]
    assert creates.index("rt_lib_author") < creates.index("rt_lib_book")


def test_install_records_source_history_and_versions(eng):
    _install(eng)
    assert installer.list_apps(eng)[0]["label"] == {"en": "Library", "zh-CN": "图书馆"}
    with eng.connect() as conn:
        hist = conn.execute(sa.select(system.schema_history)).one()
        ver = conn.execute(sa.select(system.app_versions)).one()
    assert (hist.from_version, hist.to_version, hist.outcome) == (None, "1.0.0", "ok")
    assert any(s["description"] == "create table rt_lib_book" for s in hist.steps)
    assert ver.source_text == "v1 text" and ver.source["id"] == "lib"


def test_install_twice_refused(eng):
    app = _install(eng)
    with pytest.raises(InstallError, match="'lib' is already installed; use upgrade"):
        installer.install(eng, app, "again")


def test_upgrade_of_unknown_app_refused(eng):
    app, _ = library("2.0.0")
    with pytest.raises(UnknownApp, match="'lib' is not installed; use install"):
        installer.upgrade(eng, app, "")


@pytest.mark.parametrize("version", ["1.0.0", "0.9.9", "1.0.0-rc1"])
def test_upgrade_needs_higher_version(eng, version):
    _install(eng)
    app, _ = library(version)
    with pytest.raises(InstallError, match=f"{version} is not newer than the installed 1.0.0"):
        installer.upgrade(eng, app, "")


def test_version_order():
    key = installer.version_key
    assert key("1.10.0") > key("1.9.2") > key("1.9") > key("1.9.0-rc.2") > key("1.9.0-rc.1")
    with pytest.raises(InstallError, match="'banana' is not a semantic version"):
        key("banana")


def test_add_field_keeps_rows(eng):
    _install(eng)

    def edit(d):
        _field(d, "author", key="country", type="text")
        _field(d, "book", key="isbn", type="text", unique=True)

    app, _ = library("1.1.0", edit)
    installer.upgrade(eng, app, "")
    assert "country" in _columns(eng, "rt_lib_author")
    assert _rows(eng, "SELECT name, country FROM rt_lib_author ORDER BY id") == [
        ("Ann", None),
        ("Bob", None),
    ]
    idx = {i["name"] for i in sa.inspect(eng).get_indexes("rt_lib_book")}
    assert "ux_rt_lib_book__isbn" in idx
    assert _version(eng) == ["1.1.0"]


def test_add_required_field_needs_default(eng):
    _install(eng)
    app, _ = library("1.1.0", lambda d: _field(d, "author", key="city", type="text", required=True))
    with pytest.raises(InstallError, match=r"required field author.city: 2 existing record"):
        installer.upgrade(eng, app, "")
    assert "city" not in _columns(eng, "rt_lib_author")

    def with_default(d):
        _field(d, "author", key="city", type="text", required=True, default="Paris")

    app, _ = library("1.1.0", with_default)
    installer.upgrade(eng, app, "")
    assert _rows(eng, "SELECT city FROM rt_lib_author") == [("Paris",), ("Paris",)]


def test_rename_field_keeps_values(eng):
    _install(eng)

    def edit(d):
        f = field_data(d, "author", "born")
        f.update(key="born_in", renamed_from="born")

    app, _ = library("1.1.0", edit)
    installer.upgrade(eng, app, "")
    cols = _columns(eng, "rt_lib_author")
    assert "born_in" in cols and "born" not in cols
    assert _rows(eng, "SELECT born_in FROM rt_lib_author ORDER BY id") == [("1950",), ("1960",)]


def test_retype_converts_values(eng):
    _install(eng)
    app, _ = library("1.1.0", lambda d: field_data(d, "author", "born").update(type="number"))
    p = installer.upgrade(eng, app, "")
    assert "retype field author.born: text -> number" in p.describe()
    assert _rows(eng, "SELECT born FROM rt_lib_author ORDER BY id") == [(1950,), (1960,)]
    col = {c["name"]: c for c in sa.inspect(eng).get_columns("rt_lib_author")}["born"]
    assert not isinstance(col["type"], sa.String)


def test_retype_refused_names_rows_and_changes_nothing(eng):
    _install(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE rt_lib_author SET born = 'long ago' WHERE id = 2"))
    app, _ = library("1.1.0", lambda d: field_data(d, "author", "born").update(type="number"))
    with pytest.raises(InstallError) as info:
        installer.upgrade(eng, app, "")
    msg = str(info.value)
    assert "author.born from text to number" in msg
    assert "id 2: 'long ago'" in msg and "id 1" not in msg
    assert _rows(eng, "SELECT born FROM rt_lib_author ORDER BY id") == [("1950",), ("long ago",)]
    assert _version(eng) == ["1.0.0"]


def test_retype_refusal_names_at_most_ten_rows(eng):
    _install(eng)
    with eng.begin() as conn:
        for i in range(12):
            conn.execute(
                sa.text("INSERT INTO rt_lib_author (name, born) VALUES ('x', :b)"), {"b": f"b{i}"}
            )
    app, _ = library("1.1.0", lambda d: field_data(d, "author", "born").update(type="number"))
    with pytest.raises(InstallError, match=r"12 value\(s\) do not convert.* and 2 more"):
        installer.upgrade(eng, app, "")


def _remove(d, rt, key):
    fields = rt_data(d, rt)["fields"]
    fields[:] = [f for f in fields if f["key"] != key]


def test_remove_field_archives_column_and_keeps_data(eng):
    _install(eng)
    app, _ = library("1.1.0", lambda d: _remove(d, "author", "born"))
    p = installer.upgrade(eng, app, "")
    assert p.data_loss == []
    assert "archive field author.born as column _archived_born_1_1_0" in p.describe()[0] or any(
        "_archived_born_1_1_0" in line for line in p.describe()
    )
    sql = "SELECT _archived_born_1_1_0 FROM rt_lib_author ORDER BY id"
    assert _rows(eng, sql) == [("1950",), ("1960",)]
    reg = Registry(eng)
    assert "_archived_born_1_1_0" in reg.table("lib", "author").c
    assert "born" not in reg.table("lib", "author").c
    # a later upgrade keeps the archived column
    app2, _ = library(
        "1.2.0", lambda d: (_remove(d, "author", "born"), _field(d, "book", key="x", type="text"))
    )
    installer.upgrade(eng, app2, "")
    assert _rows(eng, sql) == [("1950",), ("1960",)]


def test_purge_drops_field(eng):
    _install(eng)
    app, _ = library("1.1.0", lambda d: (_remove(d, "author", "born"), _remove(d, "book", "agent")))
    p = installer.upgrade(eng, app, "", purge=True)
    lost = [s.description for s in p.data_loss]
    assert lost == ["drop field author.born and its data", "drop field book.agent and its data"]
    assert "born" not in _columns(eng, "rt_lib_author")
    assert "agent" not in _columns(eng, "rt_lib_book")
    assert not any(c.startswith("_archived") for c in _columns(eng, "rt_lib_author"))
    assert _rows(eng, "SELECT title, author, pages FROM rt_lib_book") == [("T", 1, 10)]
    # the rebuilt table still enforces its remaining foreign keys and indexes
    idx = {i["name"] for i in sa.inspect(eng).get_indexes("rt_lib_book")}
    assert {"ix_rt_lib_book__author", "ix_rt_lib_book__title_pages"} <= idx
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO rt_lib_book (title, author) VALUES ('bad', 99)"))


def test_remove_and_purge_record_type(eng):
    _install(eng)

    def drop_book(d):
        d["record_types"] = [rt for rt in d["record_types"] if rt["key"] != "book"]

    app, _ = library("1.1.0", drop_book)
    installer.upgrade(eng, app, "")
    names = set(sa.inspect(eng).get_table_names())
    assert "rt_lib_book" not in names
    assert {"_archived_rt_lib_book_1_1_0", "_archived_rt_lib_book__fans_1_1_0"} <= names
    assert _rows(eng, "SELECT title FROM _archived_rt_lib_book_1_1_0") == [("T",)]

    def drop_more(d):
        drop_book(d)
        _remove(d, "author", "notes")

    app, _ = library("1.2.0", drop_more)
    p = installer.upgrade(eng, app, "", purge=True)
    assert [s.description for s in p.data_loss] == ["drop field author.notes and its data"]


def test_purge_record_type_drops_table(eng):
    _install(eng)

    def drop_book(d):
        d["record_types"] = [rt for rt in d["record_types"] if rt["key"] != "book"]

    app, _ = library("1.1.0", drop_book)
    p = installer.upgrade(eng, app, "", purge=True)
    assert "drop table rt_lib_book and all its rows" in [s.description for s in p.data_loss]
    names = set(sa.inspect(eng).get_table_names())
    assert not any("book" in n for n in names)
    assert _rows(eng, "SELECT count(*) FROM rt_lib_author") == [(2,)]


def test_rename_record_type_keeps_rows_and_links(eng):
    _install(eng)

    def edit(d):
        rt = rt_data(d, "book")
        rt.update(key="volume", renamed_from="book")

    app, _ = library("1.1.0", edit)
    installer.upgrade(eng, app, "")
    names = set(sa.inspect(eng).get_table_names())
    assert {"rt_lib_volume", "rt_lib_volume__fans"} <= names and "rt_lib_book" not in names
    assert _rows(eng, "SELECT title, author FROM rt_lib_volume") == [("T", 1)]
    with eng.begin() as conn:
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = 1"))  # cascade still works
    assert _rows(eng, "SELECT count(*) FROM rt_lib_volume") == [(0,)]
    idx = {i["name"] for i in sa.inspect(eng).get_indexes("rt_lib_volume")}
    assert "ix_rt_lib_volume__author" in idx


def test_index_add_and_drop(eng):
    _install(eng)
    app, _ = library("1.1.0", lambda d: rt_data(d, "book").update(indexes=[["pages"]]))
    p = installer.upgrade(eng, app, "")
    assert [s.kind for s in p.steps] == ["drop_index", "create_index"]
    idx = {i["name"] for i in sa.inspect(eng).get_indexes("rt_lib_book")}
    assert "ix_rt_lib_book__pages" in idx and "ix_rt_lib_book__title_pages" not in idx


def test_unique_on_repeated_values_refused(eng):
    _install(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE rt_lib_author SET born = '1950'"))
    app, _ = library("1.1.0", lambda d: field_data(d, "author", "born").update(unique=True))
    with pytest.raises(InstallError, match=r"born cannot become unique: repeated values '1950'"):
        installer.upgrade(eng, app, "")
    assert _version(eng) == ["1.0.0"]


def test_on_delete_change(eng):
    _install(eng)
    app, _ = library(
        "1.1.0", lambda d: field_data(d, "book", "author").update(on_delete="restrict")
    )
    installer.upgrade(eng, app, "")
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = 1"))
    assert _rows(eng, "SELECT title FROM rt_lib_book") == [("T",)]


def test_link_retarget_refused_at_plan():
    old, _ = library()

    def edit(d):
        field_data(d, "book", "author").update(type="text")
        field_data(d, "book", "author").pop("to")
        field_data(d, "book", "author").pop("on_delete")

    new, _ = library("1.1.0", edit)
    with pytest.raises(InstallError, match="changing a link field into text is not supported"):
        migrate.plan(old, new)


def test_dry_run_changes_nothing(eng):
    _install(eng)

    def edit(d):
        _remove(d, "author", "born")
        _field(d, "author", key="country", type="text")

    app, _ = library("1.1.0", edit)
    before = (_columns(eng, "rt_lib_author"), _rows(eng, "SELECT * FROM rt_lib_author"))
    p = installer.upgrade(eng, app, "", dry_run=True, purge=True)
    assert "add field author.country (text)" in p.describe()
    assert (_columns(eng, "rt_lib_author"), _rows(eng, "SELECT * FROM rt_lib_author")) == before
    assert _version(eng) == ["1.0.0"]
    assert _rows(eng, "SELECT count(*) FROM schema_history") == [(1,)]


def test_dry_run_reports_refusals(eng):
    _install(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE rt_lib_author SET born = 'x'"))
    app, _ = library("1.1.0", lambda d: field_data(d, "author", "born").update(type="number"))
    with pytest.raises(InstallError, match="do not convert"):
        installer.upgrade(eng, app, "", dry_run=True)


def test_failure_midway_leaves_old_version(eng, monkeypatch):
    _install(eng)

    def edit(d):
        _field(d, "author", key="country", type="text")
        _remove(d, "author", "born")
        rt_data(d, "book")["indexes"] = [["pages"]]

    def boom(self, ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(migrate.CreateIndex, "run", boom)
    app, _ = library("1.1.0", edit)
    before = _rows(eng, "SELECT * FROM rt_lib_author ORDER BY id")
    with pytest.raises(InstallError, match="installing lib 1.1.0 failed: disk on fire"):
        installer.upgrade(eng, app, "")
    cols = _columns(eng, "rt_lib_author")
    assert "country" not in cols and "born" in cols
    assert _rows(eng, "SELECT * FROM rt_lib_author ORDER BY id") == before
    idx = {i["name"] for i in sa.inspect(eng).get_indexes("rt_lib_book")}
    assert "ix_rt_lib_book__title_pages" in idx
    assert _version(eng) == ["1.0.0"]
    assert _rows(eng, "SELECT count(*) FROM archived_columns") == [(0,)]
    hist = _rows(eng, "SELECT to_version, outcome, error FROM schema_history ORDER BY id")
    assert hist == [("1.0.0", "ok", None), ("1.1.0", "failed", "disk on fire")]
    assert installer.installed_app(eng, "lib").version == "1.0.0"


def test_export_reinstalls_to_equal_app(eng, other_eng):
    _install(eng)

    def edit(d):
        _field(d, "author", key="country", type="text")
        field_data(d, "author", "born").update(key="born_in", renamed_from="born")

    app, data = library("1.1.0", edit)
    installer.upgrade(eng, app, "v1.1 text")
    exported = installer.export(eng, "lib")
    assert exported == data
    again = app_from_data(exported)
    assert again == installer.installed_app(eng, "lib") == app
    installer.install(other_eng, again, "copy")
    assert installer.installed_app(other_eng, "lib") == app
    assert "born_in" in _columns(other_eng, "rt_lib_author")


def test_export_unknown_app(eng):
    with pytest.raises(UnknownApp, match="'ghost' is not installed"):
        installer.export(eng, "ghost")


def test_remove_link_many_archives_junction(eng):
    _install(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO rt_lib_book__fans VALUES (1, 2)"))
    app, _ = library("1.1.0", lambda d: _remove(d, "book", "fans"))
    installer.upgrade(eng, app, "")
    names = set(sa.inspect(eng).get_table_names())
    assert "rt_lib_book__fans" not in names
    assert _rows(eng, "SELECT * FROM _archived_rt_lib_book__fans_1_1_0") == [(1, 2)]


def test_purge_link_field_of_linked_table(eng):
    """SQLite rebuilds the table to drop an FK column; rows linking to it must not cascade."""
    _install(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO rt_lib_book__fans VALUES (1, 2)"))
    app, _ = library("1.1.0", lambda d: _remove(d, "book", "agent"))
    if eng.dialect.name == "sqlite":
        with pytest.raises(
            InstallError, match=r"rows that link to it \(rt_lib_book__fans.source_id"
        ):
            installer.upgrade(eng, app, "", purge=True)
        assert "agent" in _columns(eng, "rt_lib_book")
    else:
        installer.upgrade(eng, app, "", purge=True)
        assert "agent" not in _columns(eng, "rt_lib_book")
    assert _rows(eng, "SELECT * FROM rt_lib_book__fans") == [(1, 2)]


def test_purge_record_type_with_links_to_it(eng):
    _install(eng)

    def edit(d):
        d["record_types"] = [rt for rt in d["record_types"] if rt["key"] != "author"]
        for key in ("author", "editor", "agent", "fans"):
            _remove(d, "book", key)

    app, _ = library("1.1.0", edit)
    installer.upgrade(eng, app, "", purge=True)
    assert "rt_lib_author" not in sa.inspect(eng).get_table_names()
    assert _rows(eng, "SELECT title, pages FROM rt_lib_book") == [("T", 10)]
    assert _columns(eng, "rt_lib_book") == {*naming.SYSTEM_COLUMNS, "title", "owner", "pages"}


def test_add_link_fields_and_record_type(eng):
    _install(eng)

    def edit(d):
        _field(d, "book", key="co_author", type="link", to="author", on_delete="set_null")
        _field(d, "book", key="reviewer", type="user")
        _field(d, "author", key="favourites", type="link_many", to="book")
        d["record_types"].append(
            {
                "key": "review",
                "label": "Review",
                "fields": [
                    {"key": "book", "type": "link", "to": "book", "on_delete": "cascade"},
                    {"key": "stars", "type": "rating"},
                ],
            }
        )

    app, _ = library("1.1.0", edit)
    installer.upgrade(eng, app, "")
    insp = sa.inspect(eng)
    fks = {fk["constrained_columns"][0]: fk for fk in insp.get_foreign_keys("rt_lib_book")}
    assert fks["co_author"]["referred_table"] == "rt_lib_author"
    if eng.dialect.name != "sqlite":  # SQLAlchemy does not parse an inline REFERENCES' options
        assert fks["co_author"]["options"].get("ondelete", "").upper() == "SET NULL"
    assert fks["reviewer"]["referred_table"] == "users"
    idx = {i["name"] for i in insp.get_indexes("rt_lib_book")}
    assert {"ix_rt_lib_book__co_author", "ix_rt_lib_book__reviewer"} <= idx
    assert insp.has_table("rt_lib_author__favourites") and insp.has_table("rt_lib_review")
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE rt_lib_book SET co_author = 2"))
        conn.execute(sa.text("INSERT INTO rt_lib_review (book, stars) VALUES (1, 4)"))
        conn.execute(sa.text("INSERT INTO rt_lib_author__favourites VALUES (2, 1)"))
        conn.execute(sa.text("DELETE FROM rt_lib_author WHERE id = 2"))
    assert _rows(eng, "SELECT co_author FROM rt_lib_book") == [(None,)]
    assert _rows(eng, "SELECT count(*) FROM rt_lib_author__favourites") == [(0,)]
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        conn.execute(sa.text("UPDATE rt_lib_book SET co_author = 99"))


def test_table_rebuild_keeps_archived_columns(eng):
    _install(eng)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (username) VALUES ('u')"))
        conn.execute(sa.text("UPDATE rt_lib_book SET owner = 1"))
    app, _ = library("1.1.0", lambda d: _remove(d, "book", "owner"))
    installer.upgrade(eng, app, "")

    def edit(d):
        _remove(d, "book", "owner")
        _remove(d, "book", "agent")  # an FK column: SQLite rebuilds the table to drop it

    app, _ = library("1.2.0", edit)
    installer.upgrade(eng, app, "", purge=True)
    assert _rows(eng, "SELECT title, _archived_owner_1_1_0 FROM rt_lib_book") == [("T", 1)]
    assert "agent" not in _columns(eng, "rt_lib_book")
