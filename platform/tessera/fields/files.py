"""The attachment field type and the upload store.

Files live under ``<instance>/uploads/<sha256[:2]>/<sha256>`` (content-addressed:
the same file uploaded twice is stored once; a user-supplied name never becomes part
of a path). The row keeps only metadata, in a ``JSON`` column::

    {"name": "offer.pdf", "size": 12034, "content_type": "application/pdf",
     "path": "ab/ab12...", "sha256": "ab12..."}

``path`` is relative to ``<instance>/uploads`` and must be exactly the one derived
from ``sha256``, so metadata sent through the API cannot point at other files.
With option ``multiple: true`` the value is a list of such dicts. Options ``accept``
(list or comma-separated: ``.pdf``, ``image/*``, ``application/pdf``) and
``max_size_mb`` are checked for every file.

Names lose control and invisible format characters (bidi overrides such as U+202E make
``invoice\u202efdp.exe`` read as ``invoiceexe.pdf``); a ``content_type`` must be a plain
``type/subtype`` (no parameters, no CR/LF that could split a download's headers).
A file is bound to the record holding it: writes through the API may keep a record's
own files but not bring metadata from elsewhere (:func:`foreign_files`); new files
arrive through upload forms only.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from tessera.errors import FieldValueError
from tessera.fields.base import FieldType
from tessera.messages import Msg
from tessera.meta.model import Field

UPLOADS = "uploads"
MAX_NAME = 200
CHUNK = 1024 * 1024
_KEYS = ("name", "size", "content_type", "path", "sha256")
_SHA = re.compile(r"[0-9a-f]{64}")
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")


def clean_content_type(kind: Any) -> str | None:
    """``type/subtype`` lower-cased when ``kind`` is one (parameters dropped), else None."""
    if not isinstance(kind, str):
        return None
    bare = kind.split(";", 1)[0].strip()
    return bare.lower() if _MIME.fullmatch(bare) else None


def sanitize_filename(filename: str) -> str:
    """The file's own name, without directories, control or reserved characters."""
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    name = re.split(r"[\\/]", name)[-1]
    name = _BAD_CHARS.sub("", name).strip().strip(".").strip()
    if not name:
        raise FieldValueError(Msg("not a valid file name"))
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = name[: MAX_NAME - len(keep) - 1] + "." + keep if keep else name[:MAX_NAME]
    return name


def uploads_dir(instance_path: str | os.PathLike) -> Path:
    """The folder holding every uploaded file."""
    return Path(instance_path).resolve() / UPLOADS


def upload_path(instance_path: str | os.PathLike, metadata: Mapping[str, Any]) -> Path:
    """The absolute path of an attachment's file; refuses metadata not made by us."""
    checked = check_metadata(metadata)
    root = uploads_dir(instance_path)
    path = (root / checked["path"]).resolve()
    if root not in path.parents:
        raise FieldValueError(Msg("file path is outside the upload folder"))
    return path


def save_upload(
    instance_path: str | os.PathLike,
    filename: str,
    stream: BinaryIO,
    *,
    content_type: str | None = None,
    max_bytes: int | None = None,
    created: list[Path] | None = None,
) -> dict[str, Any]:
    """Store ``stream`` under ``<instance>/uploads`` and return its metadata dict.

    ``created`` collects the path when this call wrote a new file (not when the same
    content was already stored), so a caller whose request then fails can remove it.
    """
    name = sanitize_filename(filename)
    root = uploads_dir(instance_path)
    root.mkdir(parents=True, exist_ok=True)
    digest, size, temp = _write_temp(root, stream, max_bytes)
    target = root / digest[:2] / digest
    target.parent.mkdir(exist_ok=True)
    if target.exists():
        os.unlink(temp)  # same content already stored
    else:
        os.replace(temp, target)
        if created is not None:
            created.append(target)
    kind = (
        clean_content_type(content_type)
        or mimetypes.guess_type(name)[0]
        or "application/octet-stream"
    )
    return {
        "name": name,
        "size": size,
        "content_type": kind,
        "path": f"{digest[:2]}/{digest}",
        "sha256": digest,
    }


def _write_temp(root: Path, stream: BinaryIO, max_bytes: int | None) -> tuple[str, int, str]:
    """Copy ``stream`` to a temp file in ``root`` hashing as it goes."""
    sha = hashlib.sha256()
    size = 0
    fd, temp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise FieldValueError(
                        Msg("file is larger than %(size)s", size=_size(max_bytes))
                    )
                sha.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(temp)
        raise
    return sha.hexdigest(), size, temp


def check_metadata(raw: Any) -> dict[str, Any]:
    """A clean metadata dict from ``raw``; FieldValueError when it is not one of ours."""
    if not isinstance(raw, Mapping) or any(k not in raw for k in _KEYS):
        raise FieldValueError(f"not a file (expected {', '.join(_KEYS)})")
    sha = raw["sha256"]
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise FieldValueError("not a file (sha256 must be 64 hex digits)")
    if raw["path"] != f"{sha[:2]}/{sha}":
        raise FieldValueError("not a file (path does not match its sha256)")
    size = raw["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise FieldValueError("not a file (size must be a whole number of bytes)")
    kind = clean_content_type(raw["content_type"])
    if kind is None:
        raise FieldValueError("not a file (content_type must look like type/subtype)")
    return {
        "name": sanitize_filename(raw["name"]),
        "size": size,
        "content_type": kind,
        "path": raw["path"],
        "sha256": sha,
    }


def foreign_files(value: Any, current: Any) -> list[str]:
    """Names of files in ``value`` that ``current`` (the record's stored value) lacks."""
    own = {m.get("sha256") for m in _listed(current) if isinstance(m, Mapping)}
    return [
        str(m.get("name", "?")) if isinstance(m, Mapping) else "?"
        for m in _listed(value)
        if not isinstance(m, Mapping) or m.get("sha256") not in own
    ]


def _listed(value: Any) -> list:
    if value in (None, "", []):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _accepted(field: Field) -> list[str]:
    accept = field.opt("accept") or []
    if isinstance(accept, str):
        accept = accept.split(",")
    return [a.strip().lower() for a in accept if a.strip()]


def _accepts(patterns: list[str], meta: Mapping[str, Any]) -> bool:
    name, kind = meta["name"].lower(), meta["content_type"].lower()
    for pattern in patterns:
        if pattern.startswith(".") and name.endswith(pattern):
            return True
        if pattern.endswith("/*") and kind.startswith(pattern[:-1]):
            return True
        if pattern == kind:
            return True
    return False


def _size(n: int | float) -> str:
    """Human size: ``512 B``, ``12.3 KB``, ``5 MB``."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}".replace(".0 ", " ")
    return f"{n} GB"


class AttachmentType(FieldType):
    """Uploaded file(s); options ``multiple``, ``accept``, ``max_size_mb``."""

    name = "attachment"
    operators = frozenset({"is_empty", "is_not_empty"})

    def column_type(self, field: Field) -> sa.types.TypeEngine:
        """JSON metadata (a dict, or a list of dicts when multiple)."""
        return sa.JSON()

    def coerce(self, field: Field, raw: Any) -> Any:
        """Checked metadata: a dict, or a list of dicts when ``multiple``."""
        if raw is None or raw == "" or raw == []:
            return None
        items = list(raw) if isinstance(raw, list | tuple) else [raw]
        files = [check_metadata(item) for item in items]
        if field.opt("multiple"):
            return files
        if len(files) > 1:
            raise FieldValueError(Msg("only one file is allowed"))
        return files[0]

    def validate(self, field: Field, value: Any) -> list[str]:
        """Accepted types and maximum size, per file."""
        files = value if isinstance(value, list) else [value]
        patterns = _accepted(field)
        limit_mb = field.opt("max_size_mb")
        problems = []
        for meta in files:
            if patterns and not _accepts(patterns, meta):
                problems.append(
                    f'"{meta["name"]}" is not an accepted file type '
                    f"(accepted: {', '.join(patterns)})"
                )
            if limit_mb is not None and meta["size"] > float(limit_mb) * 1024 * 1024:
                problems.append(
                    Msg('"%(name)s" is larger than %(mb)s MB', name=meta["name"], mb=limit_mb)
                )
        return problems

    def is_empty(self, value: Any) -> bool:
        """None or no files."""
        return not value

    def format(self, field: Field, value: Any, locale: str = "en") -> str:
        """``offer.pdf (11.8 KB)``, several joined with commas."""
        files = value if isinstance(value, list) else [value] if value else []
        return ", ".join(f"{m['name']} ({_size(m['size'])})" for m in files)


builtin = [AttachmentType()]
