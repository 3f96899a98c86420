"""Merge page in a real browser: a customised app meets its author's new version; the admin
sees the conflict with radio choices (zh and en), previews the plan and applies it."""

from __future__ import annotations

import copy

import yaml
from browser_helpers import shot, sign_in

from tessera.meta import app_from_data
from tessera.storage import installer

V1 = {
    "id": "mdemo",
    "version": "1.0.0",
    "label": {"en": "Merge demo", "zh-CN": "合并演示"},
    "record_types": [
        {
            "key": "deal",
            "label": {"en": "Deal", "zh-CN": "商机"},
            "title": "name",
            "fields": [
                {"key": "name", "type": "text", "label": {"en": "Name", "zh-CN": "名称"}},
                {"key": "amount", "type": "number", "label": {"en": "Amount", "zh-CN": "金额"}},
            ],
        }
    ],
}


def _label(data: dict, key: str, en: str, zh: str) -> None:
    field = next(f for f in data["record_types"][0]["fields"] if f["key"] == key)
    field["label"] = {"en": en, "zh-CN": zh}


def _prepare(live_server) -> str:
    t = live_server["app"].extensions["tessera"]
    installer.install(t.engine, app_from_data(copy.deepcopy(V1)), None)
    mine = copy.deepcopy(V1)
    mine["version"] = "1.0.1"
    _label(mine, "amount", "Deal value", "商机金额")
    installer.upgrade(t.engine, app_from_data(mine), None, local_edit=True)
    t.registry.reload()
    theirs = copy.deepcopy(V1)
    theirs["version"] = "1.1.0"
    _label(theirs, "amount", "Expected revenue", "预计收入")
    theirs["record_types"][0]["fields"].append(
        {"key": "close_on", "type": "date", "label": {"en": "Close date", "zh-CN": "成交日期"}}
    )
    return yaml.safe_dump(theirs, allow_unicode=True)


def _switch(page, locale: str) -> None:
    page.click(f"button.lang[value={locale}]")
    page.wait_for_load_state()


def _preview(page, text: str) -> None:
    page.goto("/builder/merge/mdemo")
    page.fill("#m-text", text)
    page.click("#m-preview")
    page.wait_for_selector(".m-conflict")


def test_merge_page_lists_conflicts_previews_and_applies(page, live_server):
    text = _prepare(live_server)
    sign_in(page)
    _switch(page, "zh_CN")
    try:
        _preview(page, text)
        assert page.locator("th", has_text="我的（本地）").count() == 1
        shot(page, "merge_conflicts_zh")
    finally:
        _switch(page, "en")
    _preview(page, text)
    row = page.locator('.m-conflict[data-path="record_types.deal.fields.amount.label"]')
    assert "Deal value" in row.inner_text() and "Expected revenue" in row.inner_text()
    assert page.locator("#m-apply").count() == 0
    row.locator("input[value=theirs]").check()
    page.click("button[value=preview]")
    page.wait_for_selector("#m-apply")
    assert "add field deal.close_on (date)" in page.locator(".m-plan").inner_text()
    shot(page, "merge_preview_en")
    page.click("#m-apply")
    page.wait_for_url("**/a/mdemo**")
    data = installer.export(live_server["app"].extensions["tessera"].engine, "mdemo")
    assert data["version"] == "1.1.0"
    amount = data["record_types"][0]["fields"][1]
    assert amount["label"] == {"en": "Expected revenue", "zh-CN": "预计收入"}
