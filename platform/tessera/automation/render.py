"""Message texts and action parameters, rendered with Jinja2's SandboxedEnvironment.

Templates see ``record`` (link fields follow to the linked record, user fields to the
user), ``old`` (values before the change), ``user`` (who caused the event), ``vars`` (set
by ``set_variable``) and ``now``. A parameter that is exactly one ``{{ expression }}``
keeps the expression's native type (a number stays a number); anything else is text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from tessera.errors import TesseraError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_WHOLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


class RenderError(TesseraError):
    """A template in a workflow action could not be rendered."""


class UserView:
    """A user as templates see it: prints as the id; ``.name``, ``.email``, ``.username``."""

    def __init__(self, user_id: int, load: Callable[[int], Mapping[str, Any] | None]):
        self.id = user_id
        self._load = load
        self._row: Mapping[str, Any] | None = None

    def _get(self, key: str) -> Any:
        if self._row is None:
            self._row = self._load(self.id) or {}
        return self._row.get(key)

    @property
    def name(self) -> Any:
        """Display name, else username."""
        return self._get("display_name") or self._get("username")

    @property
    def email(self) -> Any:
        """E-mail address."""
        return self._get("email")

    @property
    def username(self) -> Any:
        """Login name."""
        return self._get("username")

    def __str__(self) -> str:
        return str(self.id)


class RecordView:
    """A record as templates see it: fields as attributes; links and users followed lazily."""

    def __init__(
        self,
        values: Mapping[str, Any],
        follow: Callable[[str, Any], Any],
        title: str | None = None,
    ):
        self._values = values
        self._follow = follow
        self._title = title

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        if key not in self._values:
            raise AttributeError(f"record has no field {key!r}")
        return self._follow(key, self._values[key])

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            raise KeyError(key)
        return self._follow(key, self._values[key])

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __str__(self) -> str:
        # In message text a record reads as its title ("Acme"), not its id; a lone
        # ``{{ record }}`` in an action parameter still yields the id (see plain()).
        title = self._values.get(self._title) if self._title else None
        return str(title if title not in (None, "") else self._values.get("id", ""))


def plain(value: Any) -> Any:
    """Views back to plain values (ids), recursively; everything else unchanged."""
    if isinstance(value, UserView):
        return value.id
    if isinstance(value, RecordView):
        return value._values.get("id")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=1024)
def _template(text: str) -> Any:
    return _ENV.from_string(text)


@lru_cache(maxsize=1024)
def _compiled_expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Render one template string to text; RenderError says what failed."""
    try:
        return _template(text).render(context)
    except TemplateError as exc:
        raise RenderError(f"cannot render {text!r}: {exc}") from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside ``value``; a lone ``{{ expr }}`` keeps its native type."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        whole = _WHOLE.match(value)
        if whole and "{{" not in whole.group(1) and "}}" not in whole.group(1):
            return plain(_expression(whole.group(1), context, value))
        return render_text(value, context)
    if isinstance(value, list | tuple):
        return [render_value(v, context) for v in value]
    if isinstance(value, Mapping):
        return {k: render_value(v, context) for k, v in value.items()}
    return value


def _expression(source: str, context: Mapping[str, Any], original: str) -> Any:
    try:
        result = _compiled_expression(source)(**context)
        if isinstance(result, Undefined):
            result._fail_with_undefined_error()
        return result
    except TemplateError as exc:
        raise RenderError(f"cannot render {original!r}: {exc}") from None
