"""Languages: the UI's own strings through Flask-Babel, template labels through pick_label.

The UI speaks ``en`` and ``zh_CN`` (Babel's spelling); template labels use ``zh-CN``
(the template language's spelling). The choice is, in order: the language the user
picked this session, the signed-in user's saved locale, the browser's Accept-Language.
The Chinese catalog lives in ``translations/zh/`` (not ``zh_CN/``): Babel parses ``zh_CN``
as ``zh_Hans_CN``, whose catalog search tries ``zh_Hans_CN`` then ``zh``, never ``zh_CN``.
It is compiled with ``pybabel compile -d platform/tessera/web/translations`` and the
``.mo`` file is committed beside its ``.po``, so no build step is needed.
Moments are stored in UTC and shown in the signed-in user's time zone (``local_time``).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel, format_timedelta, gettext

from tessera import messages, timezones
from tessera.messages import Label, Msg
from tessera.meta.compile import humanize
from tessera.meta.model import pick_label

UI_LOCALES = ("en", "zh_CN")
LANGUAGE_NAMES = {"en": "English", "zh_CN": "中文"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with our locale selector and the label helpers for templates."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=ui_locale)
    app.jinja_env.globals.update(
        L=label,
        ui_locale=ui_locale,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        translated=translated,
        ago=ago,
        moment_title=moment_title,
    )


def translated(message: Any) -> str:
    """A message from data (a validation error) in the UI language, as plain text.

    Never ``{{ _(message) }}`` in a template: Jinja's ``_`` marks its result safe HTML
    and %-formats it, so a template author's message would run as script on a public
    form, and a ``%`` in it would crash the page. A :class:`~tessera.messages.Msg` from
    the engine is rendered from its message id and parameters (labels in the reader's
    language); other text is looked up in the catalog as it is. Returns a ``str``, which
    autoescaping then escapes.
    """
    from flask_babel import get_translations

    gettext = get_translations().gettext
    if isinstance(message, Msg | Label):
        return messages.render(message, gettext, _label_of)
    text = str(message)
    return str(gettext(text)) if text else text


def _label_of(value: Label) -> str:
    return label(value.value, value.key) if value.value or value.key else ""


def normalize(locale: str | None) -> str | None:
    """``zh-CN``, ``zh_cn``, ``zh`` -> ``zh_CN``; ``en-US`` -> ``en``; unknown -> None."""
    if not locale:
        return None
    lowered = locale.replace("-", "_").lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en"):
        return "en"
    return None


def ui_locale() -> str:
    """The UI locale of this request (``en`` or ``zh_CN``)."""
    chosen = normalize(session.get("locale"))
    if chosen:
        return chosen
    user = g.get("user")
    if user and normalize(user.get("locale")):
        return normalize(user["locale"])
    best = request.accept_languages.best_match(["en", "zh-CN", "zh"]) if request else None
    return normalize(best) or "en"


def label_locale() -> str:
    """The locale used to pick template labels (``en`` or ``zh-CN``)."""
    return "zh-CN" if ui_locale() == "zh_CN" else "en"


def label(value: Any, key: str = "") -> str:
    """A template label (string or locale map) in the current language, else the key."""
    if isinstance(value, str):
        return value
    return pick_label(value, label_locale(), humanize(key) if key else "")


def user_zone() -> tzinfo:
    """The signed-in user's time zone, else the installation's ``TIME_ZONE``, else UTC."""
    user = g.get("user") if has_request_context() else None
    default = current_app.config.get("TIME_ZONE") if current_app else None
    return timezones.zone((user or {}).get("timezone"), default)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) moment in the signed-in user's time zone, formatted; "" for None."""
    if value is None:
        return ""
    return timezones.to_local(value, user_zone()).strftime(fmt)


def ago(value: datetime | str | None, now: datetime | None = None) -> str:
    """``2 minutes ago`` / ``2分钟前`` for a stored moment (ISO text accepted); "" for None."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    moment = timezones.to_local(value, UTC)
    delta = moment - (now or datetime.now(UTC))
    if abs(delta.total_seconds()) < 45:
        return gettext("just now")
    return format_timedelta(delta, add_direction=True, threshold=1.0)


def moment_title(value: datetime | None) -> str:
    """The full local date and time with the zone's name, for a tooltip beside ``ago``."""
    if value is None:
        return ""
    local = timezones.to_local(value, user_zone())
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()
