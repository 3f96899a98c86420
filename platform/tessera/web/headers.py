"""Security headers on every response, HTTPS cookies and the reverse-proxy setting.

- ``Content-Security-Policy``: scripts, styles, images, fonts and form targets from this
  site only; no inline script or style attribute (the templates carry none: behaviour
  lives in ``static/*.js``, JSON data in ``<script type="application/json">`` blocks;
  Apache ECharts is vendored in ``static/vendor/echarts/`` and draws on canvas, with
  tooltips in its rich-text mode so it never writes inline style attributes),
  no framing (``frame-ancestors 'none'``), no plugins.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: same-origin``.
- ``PREFERRED_URL_SCHEME = "https"`` (environment variable of the same name) says the
  site is served over HTTPS: session cookies get ``Secure`` and responses carry
  ``Strict-Transport-Security``.
- ``PROXY_HOPS = N`` (environment variable ``TESSERA_PROXY_HOPS``): the app runs behind
  N reverse proxies; the client address (sign-in throttling, public-form limits) and the
  scheme are read from ``X-Forwarded-For`` / ``X-Forwarded-Proto`` set by them. Leave it
  at 0 when clients reach the app directly, or they could forge their address.
"""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the headers to every response; apply the HTTPS and proxy settings."""
    https = app.config.get("PREFERRED_URL_SCHEME") == "https"
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    def add_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    app.after_request(add_headers)
