"""Sharing a public form: its link with a copy button, and a QR code drawn server-side.

The QR code is an SVG made by segno (no CDN, no script): shown inline on the share page
and downloadable for printing on a poster or a registration desk.
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from tessera.meta.model import App, Form
from tessera.web import common
from tessera.web.public import form_limit

bp = Blueprint("public_share", __name__)
common.protect(bp)


def _public(app_id: str, form_key: str) -> tuple[App, Form]:
    app = common.meta(app_id)
    form = next((f for f in app.forms if f.key == form_key and f.public), None)
    if form is None:
        abort(404, _("This form does not exist or is not public."))
    return app, form


def _link(app: App, form: Form) -> str:
    return url_for("public.submit", app_id=app.id, form_key=form.key, _external=True)


def qr_svg(text: str, scale: int = 6) -> str:
    """An SVG QR code of ``text`` (medium error correction: survives a smudged print)."""
    import segno  # imported here: a checkout whose venv predates segno still starts

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True)
    return buffer.getvalue().decode("utf-8")


@bp.get("/a/<app_id>/forms/<form_key>/share")
def share(app_id: str, form_key: str):
    """The form's link (copy button), its QR code and its submission limit."""
    app, form = _public(app_id, form_key)
    link = _link(app, form)
    count, per = form_limit(form)
    return render_template(
        "public_share.html",
        app=app,
        form=form,
        link=link,
        qr=Markup(qr_svg(link)),  # segno's own SVG markup; the link is XML-escaped by segno
        count=count,
        per=per,
    )


@bp.get("/a/<app_id>/forms/<form_key>/qr.svg")
def qr(app_id: str, form_key: str):
    """The QR code as an SVG file to print."""
    app, form = _public(app_id, form_key)
    return Response(
        qr_svg(_link(app, form), scale=12),
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="{form.key}-qr.svg"'},
    )
