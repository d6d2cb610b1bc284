from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import limiter
from ..security_log import email_digest, event
from . import bp, login_delay, sessions, twofactor_views
from .forms import LoginForm
from .services import authenticate, get_user_by_email, normalise_email


def _login_failed(response) -> bool:
    return bool(g.get("login_failed"))


def _account_key() -> str:
    return "account:" + normalise_email(request.form.get("email", ""))


def _failure_limit() -> str:
    """Failed logins allowed per address and per account: ``;``-separated, all of them apply
    (by default 10 a minute and 100 an hour)."""
    from flask import current_app

    return current_app.config["LOGIN_FAILURE_LIMIT"]


def _throttled(limit) -> None:
    # Nothing returned: the 429 page comes from the error handler (Dutch, with Retry-After).
    event(logging.WARNING, "login_throttled", account=email_digest(request.form.get("email")),
          limit=limit.limit)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_failure_limit, methods=["POST"], deduct_when=_login_failed, on_breach=_throttled)
@limiter.limit(_failure_limit, methods=["POST"], key_func=_account_key, deduct_when=_login_failed,
               on_breach=_throttled)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        # After repeated failures the account waits a growing while: refused unchecked (429).
        waiting = twofactor_views.refuse_while_waiting(form, form.email.data)
        if waiting is not None:
            return waiting
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            # With two-factor authentication: only a pending marker until the code is accepted.
            code_step = twofactor_views.second_step(user, _safe_next(request.args.get("next")))
            if code_step is not None:
                return code_step
            # A new server-side session with a new id (the boundary also stores the last login
            # and a rehashed password).
            sessions.start_session(user)
            twofactor_views.signed_in(user)
            event(logging.INFO, "login_succeeded", user_id=user.id)
            return redirect(_safe_next(request.args.get("next")))
        g.login_failed = True
        known = get_user_by_email(form.email.data or "")
        if known is not None:
            login_delay.record_failure(known)  # saved: the page below answers 200
        else:
            login_delay.record_unknown_failure(form.email.data)
        event(logging.WARNING, "login_failed", account=email_digest(form.email.data),
              user_id=known.id if known is not None else None)
        form.password.errors.append(_("Onbekend e-mailadres of onjuist wachtwoord."))
    return render_template("auth/login.html", form=form), 200


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("main.dashboard")


@bp.route("/logout", methods=["POST"])
def logout():
    """POST only, with the CSRF token: a link or an image elsewhere cannot sign anyone out."""
    if current_user.is_authenticated:
        event(logging.INFO, "logout", user_id=current_user.id)
    sessions.end_session()  # the stored session is revoked: a copy of the cookie is dead too
    flash(_("U bent uitgelogd."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<lang>", methods=["POST"])
def set_language(lang: str):
    from flask import current_app

    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
        else:  # chosen before signing in: kept into the account (sessions.start_session)
            session[sessions.LANGUAGE_CHOSEN] = True
    return redirect(_safe_next(request.form.get("next")))
