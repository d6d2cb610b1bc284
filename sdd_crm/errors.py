"""Error pages in the user's language, and JSON errors under /api (never a stack trace)."""

from __future__ import annotations

from flask import current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from .exceptions import ConflictError, NotFound, PermissionDenied, ValidationError
from .transaction import rollback


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
    422: "validation_error", 429: "too_many_requests", 500: "server_error", 503: "unavailable",
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


API_CONFLICT = N_("Dit record is intussen gewijzigd; haal het opnieuw op en stuur de nieuwe versie mee.")
BUSY = N_("De database is even bezig met een achtergrondtaak (bijvoorbeeld een import). Er is "
           "niets opgeslagen; probeer het over een paar seconden opnieuw.")
CLASH = N_("Dit botst met een bestaand record, bijvoorbeeld een KvK-nummer dat al bestaat.")


def _form_page(status: int, prepare):
    """Re-render the form the view registered with :func:`sdd_crm.forms.form_page`, if any."""
    page = g.get("form_page")
    if page is None:
        return None
    form, render, conflict_message, field_map = page
    prepare(form, conflict_message, field_map)
    response = make_response(render())
    response.status_code = status
    return response


def validation_response(e: ValidationError):
    if wants_json():
        fields = {k: v for k, v in e.errors.items() if k != "_"}
        return api_error(422, e.errors.get("_"), fields=fields)

    def prepare(form, _conflict, field_map):
        from .forms import apply_service_errors

        apply_service_errors(form, e.errors, field_map)

    return _form_page(422, prepare) or _render(422, e.errors.get("_"))


def conflict_response(e: ConflictError):
    if wants_json():
        extra = {"current_version": e.current_version} if e.current_version is not None else {}
        details = current_app.extensions.get("sdd_conflict_details")  # sdd_crm/api/conflicts.py
        if details is not None and e.record is not None:
            extra.update(details(e))  # the record as its GET returns it, and what changed
        return api_error(409, e.message or _(API_CONFLICT), **extra)

    def prepare(form, conflict_message, field_map):
        message = str(conflict_message or e.message or _(MESSAGES[409]))
        if message not in form.form_errors:
            form.form_errors.append(message)
        version = getattr(form, "version", None)
        if version is not None and e.current_version is not None:
            version.data = str(e.current_version)  # the next save is made knowingly
        if e.record is not None and e.expected_version is not None:
            # What changed in between, field by field, with a choice per field (the form's
            # conflicts macro shows it).
            from .conflicts import attach

            attach(form, e.record, e.expected_version, current=g.get("form_page_current"),
                   field_map=field_map)

    return _form_page(409, prepare) or _render(409, e.message)


def register(app) -> None:
    @app.after_request
    def _audit_refusal(response):
        # Every refusal (403), however it was answered (PermissionDenied, abort(403), the API's
        # forbidden(), a view's own 403), is audited; the event outlives the request's rollback.
        # It is logged too (sdd_crm.security, WARNING), with a reason code and no record data.
        if response.status_code == 403:
            from .audit.events import record_refusal
            from .security_log import refusal

            record_refusal(response.status_code)
            refusal(403, g.pop("refusal_reason", "forbidden"))
        return response

    @app.errorhandler(ValidationError)
    def _validation(e):
        return validation_response(e)

    @app.errorhandler(ConflictError)
    def _conflict(e):
        return conflict_response(e)

    @app.errorhandler(PermissionDenied)
    def _denied(e):
        g.refusal_reason = "permission_denied"  # a service's rule; "forbidden": a view's own check
        return _render(403, _("U heeft geen recht om dit te doen.") if wants_json() else None)

    @app.errorhandler(NotFound)
    def _not_found(e):
        if e.hidden is not None:
            # An existing record the user may not see: audited as a refusal, answered exactly
            # as a missing id (so its existence does not leak).
            from .audit.events import record_refusal
            from .security_log import refusal

            record_refusal(404, record_of=e.hidden)
            refusal(404, "hidden_record")
        return _render(404)

    @app.errorhandler(IntegrityError)
    def _integrity(e):
        # Two requests racing for the same KvK number: the database refuses the second.
        current_app.logger.info("Refused by a database constraint: %s", e.orig)
        if wants_json():
            return api_error(409, _(CLASH))
        return _form_page(409, lambda form, _c, _f: form.form_errors.append(_(CLASH))) \
            or _render(409, _(CLASH))

    @app.errorhandler(OperationalError)
    def _operational(e):
        # SQLite (the embedded default) has one writer at a time: a save that waited out the busy
        # timeout behind a long background import is refused, not crashed. Anything else is a 500.
        if "database is locked" not in str(e.orig):
            return _unexpected(e)
        rollback()
        from .conflicts import stale_record_conflict

        conflict = stale_record_conflict(wait_for_writer=True)
        if conflict is not None:
            # The other writer was a save of the same record, now stored: an edit conflict.
            return conflict_response(conflict)
        current_app.logger.warning("Write refused: the database is locked by another writer")
        response = make_response(_render(503, _(BUSY)))
        response.headers["Retry-After"] = "10"
        return response

    @app.errorhandler(DataError)
    def _data(e):
        current_app.logger.warning("Input refused by the database: %s", e.orig)
        if wants_json():
            return _render(422)
        message = _(MESSAGES[422])
        return _form_page(422, lambda form, _c, _f: form.form_errors.append(message)) \
            or _render(422)

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _render(400, _("Het formulier is verlopen of ongeldig. Laad de pagina opnieuw en probeer het nog eens."))

    @app.errorhandler(StaleDataError)
    def _stale(e):
        # Two saves passed the version check at the same moment; the database let one through.
        rollback()
        from .conflicts import stale_record_conflict

        return conflict_response(stale_record_conflict() or ConflictError())

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        status = e.code or 500
        description = getattr(e, "sdd_message", None)
        response = make_response(_render(status, description))
        # Keep what the exception says about itself: Allow on a 405, Retry-After on a 429.
        for name, value in e.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(e):
        rollback()  # an error before the view ran (a before_request hook) has no boundary yet
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(500)

    @app.errorhandler(InternalServerError)
    def _ise(e):
        rollback()
        return _render(500)
