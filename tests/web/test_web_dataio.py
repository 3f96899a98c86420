"""Import wizard and export in the browser: pages, the JSON progress, report and files."""

from __future__ import annotations

import csv
import io
import re
import time

from openpyxl import load_workbook
from web_helpers import post

CSV_GBK = (
    "客户名称,手机,邮箱,价值等级\n"
    "华为,13800138000,hw@x.cn,高价值\n"
    "腾讯,13900139000,qq@x.cn,普通\n"
    "坏行,13700137000,bad-email,普通\n"
    "华为重复,138-0013-8000,,普通\n"
).encode("gbk")


def _wait(client, job_id: int) -> dict:
    for _ in range(200):
        progress = client.get(f"/imports/{job_id}/progress").get_json()
        if progress["status"] not in ("checking", "running"):
            return progress
        time.sleep(0.05)
    raise AssertionError("the import job did not finish")


def _upload(client) -> int:
    data = {"file": (io.BytesIO(CSV_GBK), "客户.csv"), "encoding": ""}
    resp = post(client, "/a/crm/import/customer", data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(re.search(r"/imports/(\d+)", resp.headers["Location"]).group(1))


def test_wizard_upload_preview_check_report_import_undo(client, tessera):
    page = client.get("/a/crm/v/customers").get_data(as_text=True)
    assert "/a/crm/import/customer" in page and "/a/crm/v/customers/export?format=xlsx" in page
    job = _upload(client)
    html = client.get(f"/imports/{job}").get_data(as_text=True)
    assert "<td>华为</td>" in html and "gb18030" in html
    assert re.search(r'name="map.1"[^>]*>.*?<option value="phone" selected', html, re.S)
    form = {"map.0": "name", "map.1": "phone", "map.2": "email", "map.3": "tier",
            "match": ["phone", "email"], "on_match": "skip", "skip_invalid": "1",
            "workflows": "none"}  # fmt: skip
    assert post(client, f"/imports/{job}/check", form).status_code == 302
    checked = _wait(client, job)
    assert checked["status"] == "checked"
    assert checked["counts"] == {"rows": 4, "created": 2, "updated": 0, "skipped": 1,
                                 "refused": 1, "links_created": 0}  # fmt: skip
    html = client.get(f"/imports/{job}").get_data(as_text=True)
    assert "not a valid e-mail address" in html and "Import 2 rows" in html
    report = client.get(f"/imports/{job}/report.csv").get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(report))) == [
        ["row", "客户名称", "手机", "邮箱", "价值等级", "error"],
        ["4", "坏行", "13700137000", "bad-email", "普通", "邮箱: not a valid e-mail address"],
    ]
    assert post(client, f"/imports/{job}/run").status_code == 302
    assert _wait(client, job)["status"] == "done"
    names = [r["name"] for r in tessera.queries.list("crm", "customer").rows]
    assert sorted(names) == ["华为", "腾讯"]
    post(client, f"/imports/{job}/undo")
    assert client.get(f"/imports/{job}/progress").get_json()["status"] == "undone"
    assert tessera.queries.list("crm", "customer").rows == []


def test_wizard_speaks_chinese_and_refuses_bad_files(client):
    job = _upload(client)
    post(client, "/lang", {"locale": "zh_CN"})
    html = client.get(f"/imports/{job}").get_data(as_text=True)
    assert "字段对应" in html and "检查文件" in html and "与已有记录重复时" in html
    junk = {"file": (io.BytesIO(b"\x00\x01\x02" * 100), "x.csv")}
    resp = post(client, "/a/crm/import/customer", junk, content_type="multipart/form-data",
                follow_redirects=True)  # fmt: skip
    assert "无法导入该文件" in resp.get_data(as_text=True)


def test_someone_elses_import_is_not_found(client, web_app):
    job = _upload(client)
    from web_helpers import login

    other = web_app.test_client()
    login(other, "bob")
    assert other.get(f"/imports/{job}").status_code == 404
    assert other.get(f"/imports/{job}/progress").status_code == 404


def test_export_button_files_follow_the_page_filters(client, tessera):
    tessera.records.bulk_create("crm", "customer", [
        {"name": "=1+1", "tier": "high"}, {"name": "华为", "tier": "high"},
        {"name": "腾讯", "tier": "low"}])  # fmt: skip
    resp = client.get("/a/crm/v/customers/export?format=csv&f.tier=high&sort=-name")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert [r[1] for r in rows] == ["Name", "华为", "'=1+1"]
    post(client, "/lang", {"locale": "zh_CN"})
    resp = client.get("/a/crm/v/customers/export?format=xlsx")
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][:4] == ["编号", "名称", "公司", "价值等级"]
    assert sorted(v[1] for v in values[1:]) == ["=1+1", "华为", "腾讯"]
    assert {v[3] for v in values[1:]} == {"高价值", "低价值"}
