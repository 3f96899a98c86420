"""Import a GBK CSV of Chinese customers (duplicates, bad rows) in the wizard, then export.

Shares the live server with the other journeys: every name and phone here carries a
prefix unique to this run, and the export is narrowed to it with the table's search.
"""

from __future__ import annotations

import uuid

from browser_helpers import shot, sign_in
from openpyxl import load_workbook

ROWS, DUPLICATES, BAD = 1000, 50, 20


def _gbk_file(tmp_path, tag: str):
    lines = ["客户名称,手机,邮箱,价值等级,累计消费,最近购买"]
    for i in range(ROWS - DUPLICATES - BAD):
        tier = ("高价值", "普通", "低价值")[i % 3]
        lines.append(f"{tag}客户{i:04d}有限公司,1{tag_digits(tag)}{i:04d},c{i}@{tag}.cn,{tier},"
                     f"\"{i * 10:,}\",2024/3/{i % 28 + 1}")  # fmt: skip
    for i in range(DUPLICATES):  # same phone as an earlier row, written differently
        lines.append(f"{tag}重复{i:02d},+86 1{tag_digits(tag)}{i:04d},,普通,1,2024-01-01")
    for i in range(BAD):
        bad = ("2024-02-30", "不是日期")[i % 2]
        lines.append(f"{tag}坏行{i:02d},1{tag_digits(tag)}9{i:03d},bad{i}@{tag}.cn,普通,5,{bad}")
    path = tmp_path / "客户名单.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def tag_digits(tag: str) -> str:
    return str(int(tag, 16) % 1000000).zfill(6)


def _switch(page, locale: str) -> None:
    page.click(f"button.lang[value={locale}]")
    page.wait_for_load_state()


def test_import_gbk_customers_then_export_xlsx(page, tmp_path):
    tag = uuid.uuid4().hex[:4]
    sign_in(page)
    _switch(page, "zh_CN")
    page.goto("/a/crm/v/customers")
    page.click("a.button:has-text('导入')")
    page.set_input_files("#file", str(_gbk_file(tmp_path, tag)))
    page.click("button:has-text('上传并预览')")
    assert page.locator("table.preview td", has_text=f"{tag}客户0000有限公司").count() == 1
    assert page.input_value("#map-1") == "phone" and page.input_value("#map-4") == "total_spent"
    page.check("input[name=skip_invalid]")
    shot(page, "import-mapping-zh")
    page.click("button:has-text('检查文件')")
    page.wait_for_selector(".import-result", timeout=30000)
    assert page.locator(".n-created").inner_text() == str(ROWS - DUPLICATES - BAD)
    assert page.locator(".n-skipped").inner_text() == str(DUPLICATES)
    assert page.locator(".n-refused").inner_text() == str(BAD)
    assert page.locator(".import-problems td", has_text="February 2024 has 29 days").count() == 10
    shot(page, "import-report-zh")
    with page.expect_download() as report:
        page.click("a:has-text('下载错误行')")
    assert report.value.suggested_filename.endswith("-report.csv")
    page.click("button:has-text('导入 930 行')")
    page.wait_for_selector(".import-result", timeout=60000)
    assert page.locator(".n-created").inner_text() == str(ROWS - DUPLICATES - BAD)
    shot(page, "import-done-zh")
    _switch(page, "en")
    assert page.locator("h2", has_text="Import finished").count() == 1
    shot(page, "import-done-en")

    page.goto(f"/a/crm/v/customers?q={tag}")
    page.click("summary:has-text('Export')")
    shot(page, "export-menu-en")
    with page.expect_download() as download:
        page.click("a[data-export=xlsx]")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    ws = load_workbook(saved).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][:4] == ["Code", "Name", "Company", "Value tier"]
    names = [r[1] for r in values[1:]]
    assert len(names) == ROWS - DUPLICATES - BAD
    assert names[0] == f"{tag}客户0000有限公司"  # the view sorts by name
    assert {r[3] for r in values[1:]} == {"High value", "Normal", "Low value"}
