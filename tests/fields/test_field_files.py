"""attachment and the upload store."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa
from field_helpers import clean, error, make_field

from tessera import fields
from tessera.errors import FieldValueError
from tessera.fields.files import sanitize_filename, save_upload, upload_path

DATA = b"%PDF-1.4 offer"
SHA = hashlib.sha256(DATA).hexdigest()


def meta(**over):
    base = {
        "name": "offer.pdf",
        "size": len(DATA),
        "content_type": "application/pdf",
        "path": f"{SHA[:2]}/{SHA}",
        "sha256": SHA,
    }
    return base | over


def test_save_upload_stores_by_hash(tmp_path):
    m = save_upload(tmp_path, "offer.pdf", io.BytesIO(DATA))
    assert m == meta()
    stored = tmp_path / "uploads" / SHA[:2] / SHA
    assert stored.read_bytes() == DATA
    assert upload_path(tmp_path, m) == stored.resolve()


def test_save_upload_dedupes_and_leaves_no_temp(tmp_path):
    save_upload(tmp_path, "a.pdf", io.BytesIO(DATA))
    m = save_upload(tmp_path, "b.pdf", io.BytesIO(DATA))
    assert m["name"] == "b.pdf"
    files = sorted(p.name for p in (tmp_path / "uploads").rglob("*") if p.is_file())
    assert files == [SHA]


@pytest.mark.parametrize(
    ("raw", "clean_name"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/abs/path/report.docx", "report.docx"),
        ("re<po>rt\x00.pdf", "report.pdf"),
        ("  .hidden  ", "hidden"),
        ("报价单.pdf", "报价单.pdf"),
    ],
)
def test_sanitize_filename(raw, clean_name):
    assert sanitize_filename(raw) == clean_name


@pytest.mark.parametrize("raw", ["", "..", "../", "/", "...", "\x00"])
def test_sanitize_refuses_empty_names(raw):
    with pytest.raises(FieldValueError, match="not a valid file name"):
        sanitize_filename(raw)


def test_sanitize_keeps_extension_of_long_names():
    name = sanitize_filename("x" * 500 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf")


def test_path_tricks_never_leave_uploads(tmp_path):
    m = save_upload(tmp_path, "../../../../tmp/evil.sh", io.BytesIO(b"x"))
    assert m["name"] == "evil.sh"
    assert (tmp_path / "uploads" / m["path"]).exists()
    assert not (tmp_path.parent / "tmp" / "evil.sh").exists()


def test_save_upload_max_bytes(tmp_path):
    with pytest.raises(FieldValueError, match="larger than"):
        save_upload(tmp_path, "big.bin", io.BytesIO(b"x" * 2048), max_bytes=1024)
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


def test_coerce_single_and_multiple():
    assert clean("attachment", meta()) == meta()
    assert clean("attachment", [meta()]) == meta()
    assert clean("attachment", [meta(), meta(name="b.pdf")], multiple=True) == [
        meta(),
        meta(name="b.pdf"),
    ]
    assert clean("attachment", meta(), multiple=True) == [meta()]
    assert error("attachment", [meta(), meta()]) == "only one file is allowed"
    assert clean("attachment", []) is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("offer.pdf", "not a file (expected name, size, content_type, path, sha256)"),
        ({"name": "x"}, "not a file (expected name, size, content_type, path, sha256)"),
        (meta(path="../../etc/passwd"), "not a file (path does not match its sha256)"),
        (meta(path=f"/{SHA[:2]}/{SHA}"), "not a file (path does not match its sha256)"),
        (meta(sha256="../x"), "not a file (sha256 must be 64 hex digits)"),
        (meta(size=-1), "not a file (size must be a whole number of bytes)"),
        (meta(content_type=""), "not a file (content_type must look like type/subtype)"),
    ],
)
def test_coerce_refuses_foreign_metadata(bad, message):
    assert error("attachment", bad) == message


def test_upload_path_refuses_tricks(tmp_path):
    with pytest.raises(FieldValueError):
        upload_path(tmp_path, meta(path="../../x"))


def test_metadata_name_is_sanitised():
    assert clean("attachment", meta(name="../../a.pdf"))["name"] == "a.pdf"


def test_accept_and_max_size():
    assert clean("attachment", meta(), accept=[".pdf"]) == meta()
    assert clean("attachment", meta(), accept="image/*, application/pdf") == meta()
    msg = error("attachment", meta(), accept=[".png", "image/*"])
    assert msg == '"offer.pdf" is not an accepted file type (accepted: .png, image/*)'
    big = meta(size=6 * 1024 * 1024)
    assert error("attachment", big, max_size_mb=5) == '"offer.pdf" is larger than 5 MB'


def test_format_column_operators():
    at = fields.get("attachment")
    f = make_field("attachment", multiple=True)
    assert at.format(f, [meta(size=12 * 1024 + 300), meta(name="b.txt", size=20)]) == (
        "offer.pdf (12.3 KB), b.txt (20 B)"
    )
    assert at.format(make_field("attachment"), None) == ""
    assert isinstance(at.column_type(f), sa.JSON)
    assert at.operators == {"is_empty", "is_not_empty"}
