"""Engine messages: English text for callers that treat them as strings, rendered in the
reader's language from msgid + parameters by the web layer."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from tessera.errors import FieldValueError
from tessera.fields import get
from tessera.messages import Label, Msg, render
from tessera.meta.model import Field

ZH = {
    "must be at most %(n)s characters": "最多 %(n)s 个字符",
    "%(field)s: %(problems)s": "%(field)s：%(problems)s",
    "required": "必填",
    "broken %(x)s": "坏的 %(nope)s",
}


def zh_gettext(msgid: str) -> str:
    return ZH.get(msgid, msgid)


def zh_label(label: Label) -> str:
    value = label.value
    if isinstance(value, dict):
        return value.get("zh-CN") or value.get("en") or label.key
    return value or label.key


def test_a_msg_is_its_english_text():
    m = Msg("must be at most %(n)s characters", n=5)
    assert m == "must be at most 5 characters"
    assert isinstance(m, str) and m.msgid == "must be at most %(n)s characters"
    assert m.params == {"n": 5}


def test_render_translates_the_msgid_and_formats_the_parameters():
    m = Msg("must be at most %(n)s characters", n=5)
    assert render(m, zh_gettext, zh_label) == "最多 5 个字符"


def test_parameters_that_are_messages_or_labels_render_in_the_same_language():
    label = Label({"en": "Lost reason", "zh-CN": "输单原因"}, "lost_reason")
    m = Msg("%(field)s: %(problems)s", field=label, problems=Msg("required"))
    assert m == "Lost reason: required"  # the English text names the label, never the key
    assert render(m, zh_gettext, zh_label) == "输单原因：必填"


def test_a_label_without_text_falls_back_on_its_key():
    assert str(Label(None, "lost_reason")) == "lost_reason"
    assert str(Label({"zh-CN": "原因"}, "k", locale="zh-CN")) == "原因"
    assert str(Label({"en": "Reason", "zh-CN": "原因"}, "k", locale="zh-CN")) == "原因"


def test_a_broken_translation_falls_back_on_english_instead_of_crashing():
    assert render(Msg("broken %(x)s", x=1), zh_gettext) == "broken 1"


def test_join_keeps_each_part_translatable():
    joined = Msg.join([Msg("required"), Msg("must be at most %(n)s characters", n=2)])
    assert joined == "required; must be at most 2 characters"
    assert render(joined, zh_gettext) == "必填; 最多 2 个字符"
    single = Msg("required")
    assert Msg.join([single]) is single


def test_plain_text_renders_as_itself():
    assert render("already text", zh_gettext) == "already text"


def test_a_msg_survives_pickling_with_its_parameters():
    m = Msg("must be at most %(n)s characters", n=5)
    back = pickle.loads(pickle.dumps(m))
    assert back == m and back.msgid == m.msgid and back.params == {"n": 5}


def test_field_types_raise_messages_with_ids():
    f = Field(key="name", type="text", label={"en": "Name"}, options={"max_length": 3})
    with pytest.raises(FieldValueError) as info:
        get("text").clean(f, "abcdef")
    assert info.value.message.msgid == "must be at most %(n)s characters"
    assert render(info.value.message, zh_gettext) == "最多 3 个字符"


def test_required_is_a_message_id():
    f = Field(key="name", type="text", label={"en": "Name"}, required=True)
    with pytest.raises(FieldValueError) as info:
        get("text").clean(f, "")
    assert render(info.value.message, zh_gettext) == "必填"


def test_the_engine_does_not_import_flask():
    root = Path(__file__).resolve().parents[1] / "platform" / "tessera"
    engine = [root / "messages.py", root / "timezones.py"]
    for package in ("fields", "records", "query", "meta", "storage"):
        engine += sorted((root / package).glob("*.py"))
    for path in engine:
        source = path.read_text("utf-8")
        assert not re.search(r"^\s*(from|import) flask", source, re.M), path
