"""Domain exceptions, in one place so every layer raises and catches the same ones."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template: where, what, and (if likely) the fix."""

    path: str
    message: str
    line: int | None = None
    hint: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = self.path or "(template)"
        if self.source and self.line:
            where = f"{self.source}:{self.line}: {where}"
        elif self.line:
            where = f"line {self.line}: {where}"
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class TesseraError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass
class TemplateError(TesseraError):
    """A template failed to load or validate; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"template has {n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class InstallError(TesseraError):
    """Installing, upgrading or exporting an app was refused; nothing was changed."""


class UnknownApp(InstallError):
    """No installed app has this id."""


@dataclass
class FieldValueError(TesseraError):
    """A single value does not fit its field; message is user-facing."""

    message: str

    def __str__(self) -> str:
        return self.message


class RecordError(TesseraError):
    """Base of the records service's refusals; ``status`` is the matching HTTP code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(RecordError):
    """Values broke field or record rules; ``fields`` maps field key -> messages."""

    status = 422
    code = "validation_failed"


class NotFound(RecordError):
    """No such app, record type or record."""

    status = 404
    code = "not_found"


class Forbidden(RecordError):
    """The user's roles do not allow this operation or field; ``fields`` names the fields."""

    status = 403
    code = "forbidden"


class Conflict(RecordError):
    """A stale version, or a delete blocked by records that link here."""

    status = 409
    code = "conflict"


class BadRequest(RecordError):
    """A malformed request: bad filter, sort key, cursor, page size or body."""

    status = 400
    code = "bad_request"
