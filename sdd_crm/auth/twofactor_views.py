"""Two-factor authentication in the browser: the code step of the login, enrolment on the account
page, switching off, new recovery codes, and the admin's reset. The logic is in
:mod:`sdd_crm.auth.twofactor`; the growing wait after failed logins in
:mod:`sdd_crm.auth.login_delay`.

The login view (:mod:`sdd_crm.auth.views`) calls :func:`refuse_while_waiting` before it checks
a password and :func:`second_step` once the password is right: a user with a second factor then
holds only a short-lived marker in the session (user id and time) until the code is accepted
here, and only then is the session started.
"""

from __future__ import annotations

import logging

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..exceptions import NotFound, PermissionDenied, ValidationError
from ..extensions import db, limiter
from ..forms import form_page
from ..security_log import email_digest, event
from ..transaction import attempt
from . import bp, login_delay, sessions, twofactor
from .models import User
from .twofactor_forms import CodeForm, ConfirmForm, DisableForm, RenewCodesForm

PENDING = "two_factor_pending"
# What a signed-in user who must still set up a second factor may reach.
ENROLMENT_ENDPOINTS = frozenset({
    "static", "auth.two_factor_setup", "auth.two_factor_start", "auth.two_factor_confirm",
    "auth.logout", "auth.set_language", "auth.account", "auth.login",
    # The account page's own forms, so what it offers also works.
    "auth.change_password", "auth.end_other_session", "auth.account_language",
    "auth.account_notifications",
})


# --- used by the login view -------------------------------------------------------------------

def refuse_while_waiting(form, email: str | None):
    """The login page with "Wacht nog N seconden" (429, Retry-After) while the account's growing
    wait after failed logins lasts, without looking at the password; else None."""
    from .services import get_user_by_email

    user = get_user_by_email(email or "")
    # An unknown address waits just the same: the wait must not reveal who has an account.
    wait = (login_delay.seconds_to_wait(user) if user is not None
            else login_delay.seconds_to_wait_unknown(email))
    if not wait:
        return None
    event(logging.WARNING, "login_throttled", user_id=user.id if user is not None else None,
          account=email_digest(email), reason="delay", wait=wait)
    form.password.errors.append(_wait_message(wait))
    response = current_app.make_response((render_template("auth/login.html", form=form), 429))
    response.headers["Retry-After"] = str(wait)
    return response


def _wait_message(wait: int) -> str:
    return ngettext("Wacht nog %(num)d seconde voordat u het opnieuw probeert.",
                    "Wacht nog %(num)d seconden voordat u het opnieuw probeert.", wait)


def second_step(user: User, next_url: str):
    """After the right password: the redirect to the code step when ``user`` has a second
    factor (the session then holds only the pending marker), else None (sign in now)."""
    if not twofactor.is_enabled(user):
        return None
    language, chosen = session.get("lang"), session.get(sessions.LANGUAGE_CHOSEN)
    session.clear()
    if language:
        session["lang"] = language
    if chosen:  # kept into the account once the code is accepted (sessions.start_session)
        session[sessions.LANGUAGE_CHOSEN] = True
    session[PENDING] = {"user_id": user.id, "at": int(twofactor.now().timestamp()),
                        "next": next_url}
    event(logging.INFO, "password_accepted", user_id=user.id, second_factor="pending")
    return redirect(url_for("auth.login_code"))


def signed_in(user: User) -> None:
    """Every factor accepted: the growing wait starts again from nothing."""
    login_delay.reset(user)


# --- the code step ----------------------------------------------------------------------------

def _failure_limit() -> str:
    return current_app.config["LOGIN_FAILURE_LIMIT"]


def _code_failed(_response) -> bool:
    return bool(g.get("two_factor_failed"))


def _pending_key() -> str:
    pending = session.get(PENDING)
    user_id = pending.get("user_id") if isinstance(pending, dict) else None
    return f"two-factor:{user_id}"


def _code_throttled(limit) -> None:
    pending = session.get(PENDING)
    event(logging.WARNING, "two_factor_throttled", limit=limit.limit,
          user_id=pending.get("user_id") if isinstance(pending, dict) else None)


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    age = twofactor.now().timestamp() - float(pending.get("at") or 0)
    if not 0 <= age <= current_app.config["TWO_FACTOR_PENDING_SECONDS"]:
        return None
    try:
        user = db.session.get(User, int(pending.get("user_id")))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or not twofactor.is_enabled(user):
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_failure_limit, methods=["POST"], deduct_when=_code_failed,
               on_breach=_code_throttled)
@limiter.limit(_failure_limit, methods=["POST"], key_func=_pending_key,
               deduct_when=_code_failed, on_breach=_code_throttled)
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    user = _pending_user()
    if user is None:
        if session.pop(PENDING, None) is not None:
            flash(_("De tijd voor de code is verstreken. Log opnieuw in."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        wait = login_delay.seconds_to_wait(user)
        if wait:
            event(logging.WARNING, "login_throttled", user_id=user.id, reason="delay", wait=wait)
            form.code.errors.append(_wait_message(wait))
            response = current_app.make_response(
                (render_template("auth/login_code.html", form=form), 429))
            response.headers["Retry-After"] = str(wait)
            return response
        factor = twofactor.verify_second_factor(user, form.code.data)
        if factor is not None:
            next_url = session[PENDING].get("next") or url_for("main.dashboard")
            sessions.start_session(user)  # a new session; the pending marker is gone with the old
            signed_in(user)
            event(logging.INFO, "login_succeeded", user_id=user.id, second_factor=factor)
            if factor == "recovery":
                left = twofactor.recovery_codes_left(user)
                flash(ngettext("U heeft een herstelcode gebruikt; u heeft er nog %(num)d. Maak "
                               "nieuwe aan op uw accountpagina als u uw app kwijt bent.",
                               "U heeft een herstelcode gebruikt; u heeft er nog %(num)d. Maak "
                               "nieuwe aan op uw accountpagina als u uw app kwijt bent.", left),
                      "warning")
            return redirect(next_url)
        g.two_factor_failed = True
        login_delay.record_failure(user)
        event(logging.WARNING, "two_factor_failed", user_id=user.id)
        form.code.errors.append(_("Deze code is onjuist of al gebruikt."))
    # 200 even after a wrong code: the failure count is saved with the request.
    return render_template("auth/login_code.html", form=form), 200


# --- a role that requires a second factor ----------------------------------------------------------

@bp.before_app_request
def _enrolment_required():
    """A signed-in user whose role requires a second factor and who has none reaches nothing
    but its set-up (and logout) until it is done."""
    if request.blueprint == "api" or request.endpoint in ENROLMENT_ENDPOINTS \
            or request.endpoint is None:
        return None  # the API authenticates with tokens, not the browser session
    if not current_user.is_authenticated or not twofactor.must_enrol(current_user):
        return None
    return redirect(url_for("auth.two_factor_setup"))


@bp.app_template_global()
def two_factor_status(user: User) -> dict:
    """For the account page and the admin's user screen."""
    return {"enabled": twofactor.is_enabled(user), "required": twofactor.is_required(user),
            "pending": twofactor.enrolment_pending(user), "enabled_at": user.totp_enabled_at,
            "codes_left": twofactor.recovery_codes_left(user) if twofactor.is_enabled(user) else 0}


# --- enrolment ------------------------------------------------------------------------------

def _setup_page(form):
    user = current_user._get_current_object()
    pending = twofactor.enrolment_pending(user)
    return render_template(
        "auth/two_factor_setup.html", form=form, pending=pending,
        required=twofactor.is_required(user),
        qr=twofactor.qr_data_uri(user) if pending else None,
        secret=twofactor.grouped_secret(user) if pending else None)


@bp.route("/account/two-factor")
@login_required
def two_factor_setup():
    if twofactor.is_enabled(current_user):
        return redirect(url_for("auth.account"))
    return _setup_page(ConfirmForm())


@bp.route("/account/two-factor/start", methods=["POST"])
@login_required
def two_factor_start():
    if not twofactor.is_enabled(current_user):
        twofactor.start_enrolment(current_user)
    return redirect(url_for("auth.two_factor_setup"))


@bp.route("/account/two-factor", methods=["POST"])
@login_required
def two_factor_confirm():
    if twofactor.is_enabled(current_user):
        return redirect(url_for("auth.account"))
    form = ConfirmForm()
    if form.validate_on_submit():
        form_page(form, lambda: _setup_page(form))
        codes = twofactor.confirm_enrolment(current_user, form.code.data)
        flash(_("Tweestapsverificatie staat aan. Voortaan vragen we na uw wachtwoord om een "
                "code uit de app."), "success")
        return render_template("auth/recovery_codes.html", codes=codes)
    return _setup_page(form), 422 if form.errors else 200


# --- switching off, new recovery codes ----------------------------------------------------------

def _refused(response) -> bool:
    return response.status_code == 422


def _own_key() -> str:
    return f"two-factor-own:{current_user.get_id()}"


@bp.route("/account/two-factor/disable", methods=["GET", "POST"])
@login_required
@limiter.limit(_failure_limit, methods=["POST"], key_func=_own_key, deduct_when=_refused)
def two_factor_disable():
    if not twofactor.is_enabled(current_user):
        return redirect(url_for("auth.account"))
    form = DisableForm()

    def render():
        return render_template("auth/two_factor_disable.html", form=form,
                               required=twofactor.is_required(current_user))

    if form.validate_on_submit():
        form_page(form, render)
        twofactor.disable(current_user, password=form.password.data, code=form.code.data)
        flash(_("Tweestapsverificatie staat uit."), "success")
        return redirect(url_for("auth.account"))
    return render(), 422 if form.errors else 200


@bp.route("/account/two-factor/recovery-codes", methods=["GET", "POST"])
@login_required
@limiter.limit(_failure_limit, methods=["POST"], key_func=_own_key, deduct_when=_refused)
def two_factor_recovery_codes():
    if not twofactor.is_enabled(current_user):
        return redirect(url_for("auth.account"))
    form = RenewCodesForm()

    def render():
        return render_template("auth/two_factor_renew.html", form=form,
                               left=twofactor.recovery_codes_left(current_user))

    if form.validate_on_submit():
        form_page(form, render)
        codes = twofactor.regenerate_recovery_codes(current_user, form.code.data)
        return render_template("auth/recovery_codes.html", codes=codes)
    return render(), 422 if form.errors else 200


# --- the admin's reset ------------------------------------------------------------------------

@bp.route("/admin/users/<int:user_id>/two-factor/reset", methods=["POST"])
@login_required
def two_factor_reset(user_id: int):
    if not current_user.is_admin:
        raise PermissionDenied()
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    try:
        with attempt():
            twofactor.reset(user, actor=current_user)
    except ValidationError as e:
        flash(e.errors.get("_", ""), "error")
    else:
        flash(_("De tweestapsverificatie van %(name)s is uitgezet. Bij de volgende keer inloggen "
                "kan %(name)s haar opnieuw instellen.", name=user.name), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))
