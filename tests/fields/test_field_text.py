"""text, long_text, email, phone, url."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from field_helpers import clean, error, make_field

from tessera import fields
from tessera.fields.base import for_field


def test_text_trims_and_accepts_numbers_from_json():
    assert clean("text", "  Ada  ") == "Ada"
    assert clean("text", 12345) == "12345"
    assert clean("text", "   ") is None


def test_text_refuses_non_text_json():
    assert error("text", ["a"]) == "must be text"
    assert error("text", True) == "must be text"


def test_text_max_length_message():
    assert error("text", "x" * 201, max_length=200) == "must be at most 200 characters"
    assert clean("text", "x" * 200, max_length=200) == "x" * 200


def test_text_pattern():
    assert clean("text", "AB-12", pattern=r"[A-Z]{2}-\d+") == "AB-12"
    assert "does not match the required pattern" in error("text", "ab", pattern=r"[A-Z]{2}-\d+")
    msg = error("text", "ab", pattern=r"\d+", pattern_message="digits only")
    assert msg == "digits only"


def test_text_bad_pattern_never_crashes():
    assert "pattern" in error("text", "a", pattern="(")


def test_required():
    f = make_field("text", required=True)
    with pytest.raises(fields.base.FieldValueError, match="required"):
        fields.get("text").clean(f, "  ")


def test_column_types():
    assert isinstance(fields.get("text").column_type(make_field("text")), sa.Text)
    col = fields.get("text").column_type(make_field("text", max_length=80))
    assert isinstance(col, sa.String) and col.length == 80
    assert fields.get("email").column_type(make_field("email")).length == 254
    assert fields.get("url").column_type(make_field("url")).length == 2048
    assert isinstance(fields.get("long_text").column_type(make_field("long_text")), sa.Text)


def test_long_text_keeps_lines():
    assert clean("long_text", "  a\r\nb\rc\n\n") == "  a\nb\nc"


@pytest.mark.parametrize("good", ["ada@example.com", "a.b+tag@mail.example.co.uk", "x@EXAMPLE.org"])
def test_email_good(good):
    assert clean("email", good) == good.rsplit("@", 1)[0] + "@" + good.rsplit("@", 1)[1].lower()


@pytest.mark.parametrize(
    "bad", ["ada", "ada@", "@example.com", "ada@example", "a b@x.com", "a@@x.com"]
)
def test_email_bad(bad):
    assert error("email", bad) == "not a valid e-mail address"


@pytest.mark.parametrize(
    "good", ["+86 138 0013 8000", "(010) 6552-9988", "555-0100 ext 12", "13800138000"]
)
def test_phone_good(good):
    assert clean("phone", good) == " ".join(good.split())


@pytest.mark.parametrize("bad", ["call me", "12", "+86 138 abc", "1" * 25])
def test_phone_bad(bad):
    assert error("phone", bad) == "not a valid phone number"


def test_url_good_and_bare_domain():
    assert clean("url", "https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert clean("url", "example.com/path") == "https://example.com/path"


@pytest.mark.parametrize(
    "bad", ["javascript:alert(1)", "ftp://x.org", "http://", "not a url", "http://a b.com"]
)
def test_url_bad(bad):
    assert error("url", bad).startswith("not a valid URL")


def test_text_operators():
    ops = fields.get("text").operators
    assert {"contains", "starts_with", "is_empty"} <= ops
    assert "lt" not in ops


def test_format_plain():
    assert fields.get("text").format(make_field("text"), "Ada", "zh-CN") == "Ada"
    assert fields.get("text").format(make_field("text"), None) == ""


def test_convert_lists_and_booleans_to_text():
    text = make_field("text")
    multi = make_field("multi_select", options=[{"value": "a", "label": "Alpha"}, {"value": "b"}])
    assert for_field(text).convert(multi, text, ["a", "b"]) == "Alpha, b"
    assert for_field(text).convert(make_field("boolean"), text, True) == "Yes"
    assert for_field(text).convert(make_field("number"), text, 12) == "12"


def test_convert_refuses_too_long():
    short = make_field("text", max_length=3)
    with pytest.raises(fields.base.FieldValueError, match="at most 3"):
        for_field(short).convert(make_field("text"), short, "abcdef")
