"""Security headers on every response (no CDN: everything comes from our own origin)."""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` that stops at the database's integer range: a 20-digit id is a 404, not a
    500 from the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register(app) -> None:
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def _refuse_nul_bytes():
        # PostgreSQL refuses NUL in text: answer 400 here, for every view at once.
        if any("\x00" in v for v in request.args.values()):
            abort(400)

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            # Pages may hold personal data: never keep them in shared caches.
            h.setdefault("Cache-Control", "no-store")
        return response
