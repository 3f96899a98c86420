"""The import runner on the CRM: parsing, links, dedupe, all-or-nothing, audit, undo."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tessera.dataio import mapping, service
from tessera.dataio.importer import Importer, ImportOptions
from tessera.dataio.readers import FileProblem
from tessera.errors import Conflict, ValidationFailed
from tessera.records.actor import Actor
from tessera.storage.events import audit_log, outbox

CUSTOMERS = (
    "客户名称,手机,邮箱,价值等级,累计消费,最近购买,标签\n"
    '华为技术有限公司,138 0013 8000,hw@example.cn,高价值,"￥1,234.50",2024年3月5日,VIP、政府\n'
    "腾讯,13900139000,qq@example.cn,普通,300,2024/3/6,\n"
    "阿里巴巴,13700137000,ali@example.cn,低价值,0,45356,VIP\n"
)
BAD = CUSTOMERS + (
    "坏日期,13600136000,bad@example.cn,普通,100,2024-02-30,\n"
    ',13500135000,noname@example.cn,普通,"1,2,3",,\n'
)


def _names(t):
    table = t.registry.table("crm", "customer")
    with t.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(table.c.name)))


def _importer(t, path, actor_ref="1", **opts):
    app, rt, _ = t.records.resolve("crm", "customer")
    from tessera.dataio.readers import open_table

    table = open_table(path)
    table.close()
    options = ImportOptions(mapping=mapping.suggest(app, rt, table.headers), **opts)
    return Importer(t, "crm", "customer", path, options, Actor(kind="import", ref=actor_ref))


def test_mapping_is_suggested_by_label_alias_and_key(crm):
    app, rt, _ = crm.records.resolve("crm", "customer")
    headers = ["客户名称", "Mobile", "E-mail", "tier", "公司", "whatever"]
    assert mapping.suggest(app, rt, headers) == {
        "客户名称": "name",
        "Mobile": "phone",
        "E-mail": "email",
        "tier": "tier",
        "公司": "company",
        "whatever": None,
    }
    assert mapping.suggest(app, rt, ["X"], {"X": "notes"}) == {"X": "notes"}
    assert mapping.import_defaults(app, rt)["match"] == ["phone", "email"]


def test_gbk_file_imports_with_every_spreadsheet_format(crm, write_csv):
    result = _importer(crm, write_csv(CUSTOMERS, encoding="gbk")).run()
    assert result.ok and result.counts["created"] == 3
    hw = crm.queries.list("crm", "customer", filter={"field": "name", "op": "starts_with",
                                                      "value": "华为"}).rows[0]  # fmt: skip
    assert hw["phone"] == "138 0013 8000" and hw["tier"] == "high"
    assert hw["total_spent"] == Decimal("1234.50") and str(hw["last_purchase_at"]) == "2024-03-05"
    assert hw["tags"] == ["vip", "government"]
    ali = crm.queries.list("crm", "customer", filter={"field": "name", "op": "eq",
                                                       "value": "阿里巴巴"}).rows[0]  # fmt: skip
    assert str(ali["last_purchase_at"]) == "2024-03-05"  # Excel serial 45356
    with crm.engine.connect() as conn:
        kinds = set(conn.execute(sa.select(audit_log.c.actor_kind, audit_log.c.actor_ref)))
        events = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar()
    assert kinds == {("import", "1")}
    assert events == 0  # workflows: none


def test_dry_run_reports_every_problem_and_refusal_writes_nothing(crm, write_csv):
    path = write_csv(BAD)
    checked = _importer(crm, path).check()
    assert checked.counts == {"rows": 5, "created": 3, "updated": 0, "skipped": 0, "refused": 2,
                              "links_created": 0}  # fmt: skip
    by_row = {(p["row"], p["field"]): p for p in checked.problems}
    assert by_row[(5, "last_purchase_at")]["message"] == "2024-02-30: February 2024 has 29 days"
    assert by_row[(5, "last_purchase_at")]["column"] == "最近购买"
    assert by_row[(6, "name")]["message"] == "required"
    assert "groups of three digits" in by_row[(6, "total_spent")]["message"]
    refused = _importer(crm, path).run()
    assert not refused.ok and not refused.written and _names(crm) == []
    partial = _importer(crm, path, skip_invalid=True).run()
    assert partial.counts["created"] == 3 and partial.counts["refused"] == 2
    assert len(_names(crm)) == 3


@pytest.mark.parametrize("index_max", [None, 0], ids=["key-index", "sql-per-batch"])
def test_dedupe_on_normalised_phone_and_email(crm, write_csv, index_max):
    crm.config["IMPORT_MATCH_INDEX_MAX"] = index_max
    crm.records.create("crm", "customer", {"name": "旧华为", "phone": "+86 13800138000"})
    crm.records.create("crm", "customer", {"name": "旧腾讯", "email": "QQ@EXAMPLE.CN"})
    path = write_csv(CUSTOMERS + "腾讯重复,13900139000,,普通,1,,\n")
    skip = _importer(crm, path, match=["phone", "email"]).check()
    assert skip.counts["skipped"] == 3 and skip.counts["created"] == 1
    assert {n["message"] for n in skip.notes} >= {"same phone as row 3"}
    upd = _importer(crm, path, match=["phone", "email"], on_match="update").run()
    assert upd.counts["updated"] == 2 and upd.counts["created"] == 1
    assert upd.counts["skipped"] == 1  # the in-file duplicate of row 3
    assert _names(crm) == sorted(["华为技术有限公司", "腾讯", "阿里巴巴"])


def test_dedupe_refuses_an_ambiguous_update(crm, write_csv):
    crm.records.create("crm", "customer", {"name": "A", "phone": "13900139000"})
    crm.records.create("crm", "customer", {"name": "B", "email": "qq@example.cn"})
    result = _importer(crm, write_csv(CUSTOMERS), match=["phone", "email"],
                       on_match="update").check()  # fmt: skip
    assert any("matches 2 existing customer records" in p["message"] for p in result.problems)


def test_links_by_title_missing_ambiguous_and_created(crm, write_csv):
    crm.records.create("crm", "customer", {"name": "华为"})
    crm.records.create("crm", "customer", {"name": "同名"})
    crm.records.create("crm", "customer", {"name": "同名"})
    path = write_csv("主题,客户,方式,已完成\n拜访,华为,拜访,是\n电话,同名,电话,否\n"
                     "新客,小米,微信,0\n")  # fmt: skip
    app, rt, _ = crm.records.resolve("crm", "follow_up")
    options = ImportOptions(mapping=mapping.suggest(app, rt, ["主题", "客户", "方式", "已完成"]))
    actor = Actor(kind="import", ref="7")
    result = Importer(crm, "crm", "follow_up", path, options, actor).check()
    messages = {p["row"]: p["message"] for p in result.problems}
    assert messages[3].startswith('2 customer records have title "同名"')
    assert messages[4] == 'no customer with title "小米" (or allow creating missing ones)'
    options.create_missing, options.skip_invalid = True, True
    done = Importer(crm, "crm", "follow_up", path, options, actor).run()
    assert done.counts["created"] == 2 and done.counts["links_created"] == 1
    assert "小米" in _names(crm)


def test_rest_style_link_reference_through_the_records_service(crm):
    c = crm.records.create("crm", "customer", {"name": "Acme", "email": "a@b.cn"})
    fu = crm.records.create(
        "crm", "follow_up", {"subject": "hi", "customer": {"by": "email", "value": "A@B.CN"}}
    )
    assert fu["customer"] == c["id"]
    fu2 = crm.records.create(
        "crm", "follow_up", {"subject": "t", "customer": {"by": "title", "value": "Acme"}}
    )
    assert fu2["customer"] == c["id"]
    with pytest.raises(ValidationFailed) as info:
        crm.records.create(
            "crm", "follow_up", {"subject": "x", "customer": {"by": "email", "value": "no@b.cn"}}
        )
    assert info.value.fields == {"customer": ["no customer with email 'no@b.cn'"]}
    with pytest.raises(ValidationFailed) as info:
        crm.records.update("crm", "follow_up", fu["id"], {"customer": {"by": "nope", "value": 1}})
    assert "no stored field 'nope'" in info.value.fields["customer"][0]
    for odd in ({"by": "email", "value": ["a@b.cn"]}, {"by": ["email"], "value": "a@b.cn"}):
        with pytest.raises(ValidationFailed) as info:  # not a reference: the link type refuses
            crm.records.update("crm", "follow_up", fu["id"], {"customer": odd})
        assert list(info.value.fields) == ["customer"]


def test_bulk_update_is_all_or_nothing_and_audited(crm):
    a = crm.records.create("crm", "customer", {"name": "A", "email": "a@x.cn"})
    b = crm.records.create("crm", "customer", {"name": "B", "email": "b@x.cn"})
    with pytest.raises(ValidationFailed) as info:
        crm.records.bulk_update("crm", "customer", [(a["id"], {"name": "A2"}),
                                                     (b["id"], {"email": "a@x.cn"})])  # fmt: skip
    assert info.value.rows == {"1": {"email": ["a@x.cn is already used by another Customer"]}}
    out = crm.records.bulk_update(
        "crm", "customer", [(a["id"], {"name": "A2"}), (b["id"], {"tier": "high"})]
    )
    assert [r["version"] for r in out] == [2, 2]
    assert crm.records.get("crm", "customer", b["id"])["tier"] == "high"
    assert len(crm.records.history("crm", "customer", a["id"])) == 2


def test_undo_a_whole_import_unless_a_row_changed_since(crm, write_csv):
    crm.records.create("crm", "customer", {"name": "旧", "phone": "13800138000"})
    job = _job(crm, write_csv(CUSTOMERS), match=["phone"], on_match="update")
    assert service.execute(crm, job, "run").counts == {
        "rows": 3,
        "created": 2,
        "updated": 1,
        "skipped": 0,
        "refused": 0,
        "links_created": 0,
    }
    assert service.get_job(crm, job)["status"] == "done"
    assert service.undo(crm, job, None) == {"deleted": 2, "restored": 1}
    assert _names(crm) == ["旧"] and service.get_job(crm, job)["status"] == "undone"
    job2 = _job(crm, write_csv(CUSTOMERS, "again.csv"))
    service.execute(crm, job2, "run")
    one = crm.queries.list("crm", "customer", filter={"field": "name", "op": "eq",
                                                       "value": "腾讯"}).rows[0]  # fmt: skip
    crm.records.update("crm", "customer", one["id"], {"tier": "high"})
    with pytest.raises(Conflict, match=f"customer #{one['id']} changed since the import"):
        service.undo(crm, job2, None)


def _job(t, path, **opts):
    app, rt, _ = t.records.resolve("crm", "customer")
    from tessera.dataio.readers import open_table

    table = open_table(path)
    table.close()
    options = ImportOptions(mapping=mapping.suggest(app, rt, table.headers), **opts)
    return service.create_job(t, "crm", "customer", path, path.name, options, None)


def test_bad_files_and_rows_are_precise(crm, write_csv):
    with pytest.raises(FileProblem, match="no data rows"):
        _importer(crm, write_csv("客户名称,手机\n")).check()
    extra = _importer(crm, write_csv("客户名称,手机\nA,138,extra\n")).check()
    assert extra.problems[0]["message"] == "has 3 cells but the header names 2"
    formula = _importer(crm, write_csv('客户名称,备注\n"=HYPERLINK(""x"")",@SUM(1)\n')).run()
    assert formula.ok and _names(crm) == ['=HYPERLINK("x")']  # stored as text, never run


def test_background_job_reports_progress_and_can_be_cancelled(crm, write_csv):
    rows = "".join(f"客户{i},1{i:010d},,,,,\n" for i in range(30))
    job = _job(crm, write_csv("客户名称,手机,邮箱,价值等级,累计消费,最近购买,标签\n" + rows),
               batch_size=10)  # fmt: skip
    service.update_job(crm, job, cancel=True)
    service.update_job(crm, job, status="running")
    assert service.execute(crm, job, "run") is None  # cancelled before the first batch
    assert service.get_job(crm, job)["status"] == "cancelled" and _names(crm) == []
    service.start(crm, job, "run")
    import time

    for _ in range(200):
        if service.get_job(crm, job)["status"] not in ("running", "checking"):
            break
        time.sleep(0.05)
    done = service.get_job(crm, job)
    assert done["status"] == "done" and done["processed"] == 30 and len(_names(crm)) == 30


def test_rest_api_accepts_link_references(crm, flask_app):
    from tessera import tokens, users

    # an admin: what is tested here is the reference form, not the CRM's roles
    uid = users.create_user(crm.engine, "ann", "correct-horse-1", is_admin=True)
    _, plain = tokens.create_token(crm.engine, uid, "tests")
    client = flask_app.test_client()
    auth = {"Authorization": f"Bearer {plain}"}
    c = crm.records.create("crm", "customer", {"name": "Acme", "email": "a@b.cn"})
    body = {"subject": "call", "customer": {"by": "email", "value": "a@b.cn"}}
    resp = client.post("/api/v1/crm/follow_up", json=body, headers=auth)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["customer"] == c["id"]
    body["customer"] = {"by": "title", "value": "Nobody"}
    resp = client.post("/api/v1/crm/follow_up", json=body, headers=auth)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == {"customer": ["no customer with title 'Nobody'"]}


def test_a_job_that_lost_its_process_is_ended_by_cancel(crm, write_csv):
    from datetime import UTC, datetime, timedelta

    job = _job(crm, write_csv(CUSTOMERS))
    service.execute(crm, job, "run")
    assert len(_names(crm)) == 3
    old = datetime.now(UTC) - timedelta(seconds=service.STALE_SECONDS + 5)
    service.update_job(crm, job, status="running", updated_at=old)
    assert service.is_stale(service.get_job(crm, job))
    service.cancel(crm, job)
    done = service.get_job(crm, job)
    assert done["status"] == "failed" and "start it again" in done["error"]
    assert _names(crm) == []


def test_progress_reports_the_fraction_of_the_file_read(crm, write_csv):
    rows = "".join(f"客户{i},1{i:010d}\n" for i in range(60))
    importer = _importer(crm, write_csv("客户名称,手机\n" + rows), batch_size=20)
    seen = []
    importer.progress = lambda n, r: seen.append((n, r.fraction))
    importer.check()
    assert [n for n, _ in seen] == [20, 40, 60]
    assert seen[-1][1] == 1.0 and all(f is not None for _, f in seen)
