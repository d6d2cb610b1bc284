"""Error pages in the user's language, and JSON errors under /api (never a stack trace)."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db


def N_(message: str) -> str:
    """Mark a message for extraction (``pybabel -k N_``); it is translated when shown."""
    return message


MESSAGES = {
    400: N_("De aanvraag is ongeldig."),
    401: N_("U moet eerst inloggen."),
    403: N_("U heeft geen toegang tot deze pagina."),
    404: N_("Deze pagina of dit record bestaat niet (meer)."),
    405: N_("Deze actie is hier niet toegestaan."),
    409: N_("Iemand anders heeft dit record intussen gewijzigd. Laad het opnieuw en probeer het nog eens."),
    413: N_("Het bestand is te groot."),
    415: N_("Dit type inhoud wordt niet ondersteund."),
    422: N_("De gegevens zijn niet geldig."),
    429: N_("Te veel pogingen. Wacht even en probeer het opnieuw."),
    500: N_("Er ging iets mis aan onze kant. Probeer het later opnieuw."),
}

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests", 500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str | None = None, **extra):
    body = {"error": {"status": status, "code": CODES.get(status, "error"),
                      "message": message or _(MESSAGES.get(status, MESSAGES[400]))}}
    body["error"].update(extra)
    return jsonify(body), status


def _render(status: int, message: str | None = None):
    if wants_json():
        return api_error(status, message)
    return (
        render_template("errors/error.html", status=status,
                        message=message or _(MESSAGES.get(status, MESSAGES[400]))),
        status,
    )


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _render(400, _("Het formulier is verlopen of ongeldig. Laad de pagina opnieuw en probeer het nog eens."))

    @app.errorhandler(StaleDataError)
    def _stale(e):
        db.session.rollback()
        return _render(409)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        status = e.code or 500
        description = getattr(e, "sdd_message", None)
        return _render(status, description)

    @app.errorhandler(Exception)
    def _unexpected(e):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(500)

    @app.errorhandler(InternalServerError)
    def _ise(e):
        db.session.rollback()
        return _render(500)
