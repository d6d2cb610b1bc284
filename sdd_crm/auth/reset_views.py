""""Forgot password" in the browser: asking for a link, and setting a new password with it.
The rules are in :mod:`sdd_crm.auth.reset`.

The link in the e-mail carries the token as ``?token=`` (the access logs mask that parameter);
the page puts it in the (signed, HttpOnly) session cookie and sends the browser on to the same
page without it, so the token does not stay in the address bar, the history or a Referer.
"""

from __future__ import annotations

import logging

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..extensions import limiter
from ..forms import form_page
from ..jobs.views import register_kind
from ..security_log import email_digest, event
from . import bp, reset, sessions
from .account_forms import ForgotPasswordForm, ResetPasswordForm
from .passwords import MIN_PASSWORD_LENGTH
from .services import normalise_email
from .views import _failure_limit

register_kind(reset.JOB_KIND, title=_l("E-mail om het wachtwoord te herstellen"))

TOKEN_KEY = "password_reset_token"


@bp.app_template_global()
def password_reset_available() -> bool:
    """For the login page: offer "Wachtwoord vergeten?" only when the e-mail can be sent."""
    return reset.available()


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_LIMIT"]


def _address_key() -> str:
    return "password-reset:" + normalise_email(request.form.get("email", ""))


def _reset_throttled(limit) -> None:
    event(logging.WARNING, "password_reset_throttled",
          account=email_digest(request.form.get("email")), limit=limit.limit)


@bp.route("/password/forgot", methods=["GET", "POST"])
# Every request counts, known address or not: the limit itself must not tell who has an account.
# Per client address as failed logins are (an office shares one); per e-mail address tighter.
@limiter.limit(_failure_limit, methods=["POST"], on_breach=_reset_throttled)
@limiter.limit(_reset_limit, methods=["POST"], key_func=_address_key, on_breach=_reset_throttled)
def forgot_password():
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    if not reset.available():
        return render_template("auth/forgot_password.html", form=None)
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset.request_reset(form.email.data)
        # The same page whether or not the address has an account.
        return render_template("auth/forgot_password_sent.html",
                               minutes=current_app.config["PASSWORD_RESET_MINUTES"])
    return render_template("auth/forgot_password.html", form=form), 422 if form.errors else 200


def _link_refused(_response) -> bool:
    return bool(g.get("reset_link_refused"))


@bp.route("/password/reset", methods=["GET", "POST"])
# Trying tokens is throttled per client address like failed logins.
@limiter.limit(_failure_limit, deduct_when=_link_refused)
def reset_password():
    if request.method == "GET" and "token" in request.args:
        session[TOKEN_KEY] = request.args.get("token", "")[:100]
        return redirect(url_for("auth.reset_password"))
    token = session.get(TOKEN_KEY)
    user = reset.user_for_token(token) if reset.available() else None
    if user is None:
        g.reset_link_refused = True
        if session.pop(TOKEN_KEY, None) is not None:
            event(logging.WARNING, "password_reset_refused")
        return render_template("auth/reset_invalid.html"), 410
    form = ResetPasswordForm()

    def render():
        return render_template("auth/reset_password.html", form=form, user=user,
                               min_password_length=MIN_PASSWORD_LENGTH)

    if form.validate_on_submit():
        form_page(form, render)
        reset.reset_password(token, new_password=form.new_password.data,
                             new_password_again=form.new_password_again.data)
        session.pop(TOKEN_KEY, None)
        if current_user.is_authenticated:  # someone else's browser: signed out, not swapped
            sessions.end_session()
        # Audited by the service with this request's transaction; here the log line only.
        event(logging.INFO, "password_reset", audit=False, user_id=user.id)
        flash(_("Uw wachtwoord is gewijzigd. Log in met uw nieuwe wachtwoord."), "success")
        return redirect(url_for("auth.login"))
    return render(), 422 if form.errors else 200
