"""Security headers on every response (no CDN: everything comes from our own origin)."""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter

from . import logmask

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` kept inside the database's integer range, so a huge id is a 404 rather than a
    500 from the database driver. Longer than ten digits: no route matches. Ten digits beyond
    2**31 - 1: id 0, which no record has. (Refusing the value in ``to_python`` instead would make
    Werkzeug answer 405 for the route's other methods.)"""

    regex = r"\d{1,10}"

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= 2**31 - 1 else 0


def register(app) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    # No calendar-feed secret and no searched name in the access log (sdd_crm/logmask.py).
    logmask.install((app.logger.name,))

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
        if request.is_secure:
            # Only over HTTPS (as the client saw it: behind a proxy, ProxyFix and
            # PROXY_FIX_HOPS make X-Forwarded-Proto count); over plain HTTP the header means nothing.
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "no-store" not in (h.get("Cache-Control") or ""):
            # Pages, JSON, downloads, the calendar feed and job files may hold personal data:
            # never kept in any cache. Only the static assets (no personal data) may be cached.
            h["Cache-Control"] = "no-store"
        return response
