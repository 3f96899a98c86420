"""Public forms (``form.public: true``): anyone with the link may submit, no sign-in.

Spam defences: a honeypot field people never see (a filled one is thanked and dropped),
and a per-IP limit for each form: its ``rate_limit: {count, per}``, else
``PUBLIC_FORM_LIMIT`` submissions per ``PUBLIC_FORM_WINDOW`` seconds, counted in Redis
(shared by every web process; the embedded store without ``REDIS_URL``).
Submissions go through the records service as ``Actor(kind="user", user_id=None,
ref="public-form:<form>")``; after the save the form's ``form.submitted`` workflows are started.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from tessera import prefill, signin
from tessera.errors import ValidationFailed
from tessera.meta.model import App, Form
from tessera.records.actor import Actor
from tessera.web import automation, common, forms, uploads
from tessera.web.i18n import label_locale

bp = Blueprint("public", __name__)
#: the Chinese catalogue of the strings added with prefilled links (CRM 2.0.0)
TRANSLATIONS = Path(__file__).resolve().parent / "translations_crm"
HONEYPOT = "website_url"


class RateLimiter:
    """Sliding-window counter of hits per key in Redis, shared by every web process.

    The store is the sign-in throttle's: Redis at ``REDIS_URL``, else a private
    in-process one. Each hit is a member of a sorted set scored by its time; one
    transaction drops the old hits, adds this one and counts.
    """

    def __init__(self, redis: Any = None) -> None:
        if redis is None:
            import fakeredis

            redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        self.redis = redis

    def allow(self, key: str, limit: int, window: float, now: float | None = None) -> bool:
        """Record a hit for ``key``; False when it already had ``limit`` hits in ``window``."""
        now = time.time() if now is None else now
        name = "tessera:public:" + key
        member = f"{now}:{secrets.token_hex(4)}"
        with self.redis.pipeline() as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zadd(name, {member: now})
            pipe.zcard(name)
            pipe.expire(name, int(window) + 1)
            count = pipe.execute()[2]
        if count > limit:
            self.redis.zrem(name, member)  # a refused try does not use up the window
            return False
        return True


def limiter() -> RateLimiter:
    """This Flask app's limiter (on the sign-in throttle's Redis)."""
    found = current_app.extensions.get("tessera_public_limiter")
    if found is None:
        found = RateLimiter(signin.throttle(current_app).redis)
        current_app.extensions["tessera_public_limiter"] = found
    return found


def form_limit(form: Form) -> tuple[int, int]:
    """(submissions, seconds) for one public form: its ``rate_limit``, else the app's."""
    cfg = current_app.config
    declared = form.options.get("rate_limit") or {}
    count = int(declared.get("count", cfg["PUBLIC_FORM_LIMIT"]))
    per = int(declared.get("per", cfg["PUBLIC_FORM_WINDOW"] if not declared else 60))
    return count, per


def public_form(app_id: str, form_key: str) -> tuple[App, Form]:
    """The public form or a 404 (private forms are not reachable here)."""
    app = common.engine_objects().registry.apps.get(app_id)
    form = next((f for f in (app.forms if app else ()) if f.key == form_key and f.public), None)
    if form is None:
        abort(404, _("This form does not exist or is not public."))
    return app, form


@bp.route("/f/<app_id>/<form_key>", methods=["GET", "POST"])
def submit(app_id: str, form_key: str):
    """Show a public form; on POST create the record (or show per-field errors)."""
    app, form = public_form(app_id, form_key)
    rt = app.record_type(form.record_type)
    spec = forms.spec(app, rt, form)
    preset = _prefilled(app, form)
    if request.method == "GET":
        return _page(app, spec, forms.initial(spec, None))
    if request.form.get(HONEYPOT):
        return render_template("public_done.html", app=app, form=form)  # a bot: drop quietly
    key = f"{app.id}/{form.key}/{request.remote_addr}"
    if not limiter().allow(key, *form_limit(form)):
        message = _("Too many submissions from your address. Please wait a minute and try again.")
        return _page(app, spec, forms.posted_values(spec, request.form), notice=message), 429
    return _create(app, form, spec, preset)


def _prefilled(app: App, form: Form) -> dict:
    """The signed values of the link's ``prefill`` parameter (see tessera.prefill); 400 if bad.

    The form's query string stays on the POST (the form posts to its own URL), so the
    same values are checked again when it is submitted.
    """
    token = request.args.get("prefill")
    if not token:
        return {}
    try:
        values = prefill.read(current_app.config["SECRET_KEY"], app.id, form.key, token)
    except prefill.PrefillError as exc:
        abort(400, _("This link is not valid: %(reason)s", reason=_(str(exc))))
    rt = app.record_type(form.record_type)
    return {k: v for k, v in values.items() if rt.has_field(k)}


def _create(app: App, form: Form, spec: forms.FormSpec, preset: dict | None = None):
    raw, errors = forms.read_submission(
        spec, request.form, request.files, _instance(), on_saved=uploads.saved
    )
    hidden = forms.hidden_fields(app, spec, raw, None, None)
    raw = {k: v for k, v in raw.items() if k not in hidden} | (preset or {})
    if errors:
        return _page(app, spec, forms.posted_values(spec, request.form), errors=errors), 422
    actor = Actor(user_id=None, kind="user", ref=f"public-form:{form.key}", locale=label_locale())
    try:
        row = common.engine_objects().records.create(app.id, spec.rt.key, raw, actor)
    except ValidationFailed as exc:
        return _page(app, spec, forms.posted_values(spec, request.form), errors=exc.fields), 422
    automation.form_submitted(app.id, form.key, row["id"], None)
    return render_template("public_done.html", app=app, form=form)


def _instance() -> str:
    return str(common.engine_objects().instance_path)


def _page(app: App, spec: forms.FormSpec, values: dict, *, errors=None, notice=None):
    return render_template(
        "public_form.html",
        app=app,
        form=spec.form,
        spec=spec,
        values=values,
        errors=errors or {},
        notice=notice,
        honeypot=HONEYPOT,
        rules=forms.conditions_json(spec),
        hidden=forms.hidden_fields(app, spec, forms.visibility_input(spec, values), None, None),
        links={},
        users=[],
    )
