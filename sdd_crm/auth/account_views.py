"""The account page (``/account``, linked from the user's name in every page's header): who you
are, your password, your language, how you are told of notifications, two-factor
authentication and where you are signed in.

Every route here acts on the signed-in user only: no user id in a URL or a form, so nobody can
change another's account through it. The two-factor part is in
:mod:`sdd_crm.auth.twofactor_views`; "forgot password" in :mod:`sdd_crm.auth.reset_views`.

A password change asks for the current password, is throttled like the login (a borrowed,
signed-in browser cannot guess it without end) and ends every other session of the user — the
browser that changed it continues in a fresh session.
"""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import mail
from ..exceptions import ValidationError
from ..extensions import limiter
from ..forms import form_page
from ..notifications.preferences import set_preferences
from ..security_log import event
from . import bp, sessions
from .account_forms import LanguageForm, NotificationsForm
from .forms import PasswordChangeForm
from .passwords import MIN_PASSWORD_LENGTH
from .services import change_own_password
from .views import _failure_limit


def _languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def _account_page(password_form: PasswordChangeForm | None = None,
                  language_form: LanguageForm | None = None,
                  notifications_form: NotificationsForm | None = None):
    user = current_user._get_current_object()
    if language_form is None:
        language_form = LanguageForm(_languages(), formdata=None, locale=user.locale)
    if notifications_form is None:
        notifications_form = NotificationsForm(formdata=None, in_app=user.notify_in_app,
                                               email=user.notify_email, digest=user.notify_digest)
    return render_template("auth/account.html", form=password_form or PasswordChangeForm(),
                           language_form=language_form, notifications_form=notifications_form,
                           mail_configured=mail.is_configured(),
                           min_password_length=MIN_PASSWORD_LENGTH,
                           sessions=sessions.active_sessions(user),
                           current_session=sessions.current_session())


@bp.route("/account")
@login_required
def account():
    return _account_page()


def _password_change_key() -> str:
    return f"password-change:{current_user.get_id()}"


def _form_refused(response) -> bool:
    return response.status_code == 422


@bp.route("/account/password", methods=["POST"])
@login_required
# Guessing the current password from a borrowed session is throttled like the login itself.
@limiter.limit(_failure_limit, methods=["POST"], key_func=_password_change_key,
               deduct_when=_form_refused)
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        form_page(form, lambda: _account_page(form))
        user = current_user._get_current_object()
        try:
            change_own_password(user, current_password=form.current_password.data,
                                new_password=form.new_password.data,
                                new_password_again=form.new_password_again.data)
        except ValidationError as exc:
            if "current_password" in exc.errors:  # a guess, perhaps: logged and audited
                event(logging.WARNING, "password_change_failed", user_id=user.id)
            raise
        # Audited by the service with this request's transaction; here the log line only.
        event(logging.INFO, "password_changed", audit=False, user_id=user.id)
        sessions.start_session(user)  # a fresh session id; every other session has ended
        flash(_("Uw wachtwoord is gewijzigd. U bent op uw andere apparaten afgemeld."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(form), 422


@bp.route("/account/language", methods=["POST"])
@login_required
def account_language():
    form = LanguageForm(_languages())
    if form.validate_on_submit():
        current_user.locale = form.locale.data  # audited as a change of the user
        session["lang"] = form.locale.data
        with force_locale(form.locale.data):  # the message in the language just chosen
            flash(_("Uw taal is opgeslagen."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(language_form=form), 422


@bp.route("/account/notifications", methods=["POST"])
@login_required
def account_notifications():
    form = NotificationsForm()
    if form.validate_on_submit():
        set_preferences(current_user._get_current_object(), in_app=form.in_app.data,
                        email=form.email.data, digest=form.digest.data)
        flash(_("Uw voorkeuren voor meldingen zijn opgeslagen."), "success")
        return redirect(url_for("auth.account"))
    return _account_page(notifications_form=form), 422


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_other_session(session_id: int):
    if sessions.end_own_session(current_user, session_id):
        event(logging.INFO, "session_ended", user_id=current_user.id, session=session_id)
        flash(_("De sessie is beëindigd."), "success")
    else:
        flash(_("Deze sessie bestaat niet of is al beëindigd."), "error")
    return redirect(url_for("auth.account"))
