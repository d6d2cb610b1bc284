"""Account self-service (issue 14 point 8): the account page linked from the header, the password
change with the old password, the language (also the one chosen on the login page), the
notification preferences that notify() and the e-mail jobs respect, the daily digest (once a
day), and "forgot password" by e-mail with a single-use, short-lived link.

A real SMTP server (aiosmtpd) runs inside the tests that send mail; jobs run inline.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
import socket
import time
from email import policy

import pyotp
import pytest
import sqlalchemy as sa
from html_helpers import field_error, text

from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth import reset, twofactor
from sdd_crm.auth.models import PasswordResetToken, User
from sdd_crm.auth.services import authenticate, change_own_password
from sdd_crm.extensions import db
from sdd_crm.i18n import local_day_start, local_today
from sdd_crm.jobs import schedule
from sdd_crm.jobs.models import Job
from sdd_crm.notifications import digest
from sdd_crm.notifications.jobs import JOB_KIND as EMAIL_JOB
from sdd_crm.notifications.models import Notification
from sdd_crm.notifications.services import notify, unread_count

PASSWORD = "correct horse battery staple"
STRONG = "paarse olifant danst langzaam"
STRONGER = "zeven groene kikkers zingen zacht"
ROLES = [("admin", None), ("regional_account_manager", None),
         ("local_account_manager", "GM0505"), ("business_developer", None), ("viewer", None)]


# --- a real SMTP server ---------------------------------------------------------------------

class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(app, monkeypatch):
    """Mail configured (with BASE_URL) and an SMTP server that keeps what it gets."""
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    monkeypatch.setitem(app.config, "MAIL_FROM", "crm@g.example.nl")
    monkeypatch.setitem(app.config, "BASE_URL", "https://crm.g.example.nl")
    try:
        yield box
    finally:
        controller.stop()


def _user(make_user, role="regional_account_manager", municipality=None, **kw) -> User:
    n = next(_n)
    return make_user(role, municipality=municipality, email=kw.pop("email", f"g{n}@g.example.nl"),
                     name=kw.pop("name", f"Gijs Gebruiker {n}"), **kw)


_n = iter(range(1, 10_000))


def _audit(action: str, user: User) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_type == "user",
        AuditEvent.entity_id == str(user.id))))


# --- the page and who may change what ---------------------------------------------------------

@pytest.mark.parametrize("role, municipality", ROLES)
def test_every_role_has_its_own_account_page_linked_from_the_header(client, login, make_user,
                                                                     role, municipality):
    user = _user(make_user, role, municipality)
    other = _user(make_user)
    login(user)
    page = text(client.get("/"))
    assert re.search(rf'<a class="utrecht-link app-user[^"]*"[^>]*href="/account">{user.name}',
                     page)
    resp = client.get("/account")
    assert resp.status_code == 200
    page = text(resp)
    assert user.email in page and other.email not in page
    assert 'aria-current="page" href="/account"' in page
    for part in ("Wachtwoord wijzigen", "Taal", "Meldingen", "Tweestapsverificatie",
                 "Waar bent u ingelogd"):
        assert part in page
    # The two-factor settings are linked from the page.
    assert 'href="/account/two-factor' in page


def test_the_account_page_needs_a_signed_in_user(client):
    for method, path in (("get", "/account"), ("post", "/account/language"),
                         ("post", "/account/notifications")):
        resp = getattr(client, method)(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_nobody_changes_another_users_account(client, login, make_user):
    """Every account route acts on the signed-in user: an id sent along is ignored."""
    anna, bram = _user(make_user), _user(make_user)
    login(anna)
    client.post("/account/language", data={"language-locale": "en", "user_id": bram.id,
                                           "id": bram.id})
    client.post("/account/notifications", data={"notify-digest": "y", "user_id": bram.id})
    db.session.expire_all()
    assert (anna.locale, anna.notify_in_app, anna.notify_email, anna.notify_digest) == \
        ("en", False, False, True)
    assert (bram.locale, bram.notify_in_app, bram.notify_email, bram.notify_digest) == \
        ("nl", True, True, False)


# --- the password -----------------------------------------------------------------------------

def _change(client, current=PASSWORD, new=STRONG, again=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again})


def test_a_wrong_old_password_is_refused_in_dutch_with_the_form_kept(client, login, make_user,
                                                                     caplog):
    user = _user(make_user)
    login(user)
    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    resp = _change(client, current="niet mijn wachtwoord")
    assert resp.status_code == 422
    page = text(resp)
    assert "Het formulier is niet opgeslagen." in page
    assert field_error(resp, "current_password") == "Het huidige wachtwoord klopt niet."
    assert 'id="new_password"' in page and 'id="new_password_again"' in page  # the form again
    assert authenticate(user.email, PASSWORD) is not None
    # Logged and audited as a failed attempt, never with a password.
    (failed,) = _audit("password_change_failed", user)
    assert failed.result == "failed"
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "password_change_failed" in log
    assert "niet mijn wachtwoord" not in log + str(failed.changes)


def test_a_weak_new_password_is_refused(client, login, make_user):
    user = _user(make_user)
    login(user)
    resp = _change(client, new="Welkom2026!!")
    assert resp.status_code == 422
    assert "veelgebruikt woord" in field_error(resp, "new_password")
    assert authenticate(user.email, PASSWORD) is not None


def test_a_password_change_ends_the_other_sessions_and_is_audited_and_logged(
        app, client, login, make_user, caplog):
    user = _user(make_user)
    other = app.test_client()
    login(user, c=other)
    login(user)
    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    resp = _change(client)
    assert resp.status_code == 302
    assert "U bent op uw andere apparaten afgemeld." in text(client.get("/account"))
    assert other.get("/account").status_code == 302  # the other browser is signed out
    (changed,) = _audit("password_changed", user)
    assert changed.changes.get("sessions_ended") == 2  # the other and this one (renewed)
    assert STRONG not in str(changed.changes)
    lines = [r.getMessage() for r in caplog.records if "password_changed" in r.getMessage()]
    assert lines and STRONG not in "".join(lines)
    assert authenticate(user.email, STRONG) is not None


# --- the language -------------------------------------------------------------------------------

def test_the_account_page_shows_and_sets_the_language(client, login, make_user):
    user = _user(make_user)
    login(user)
    page = text(client.get("/account"))
    assert re.search(r'<option selected value="nl">Nederlands</option>', page)
    resp = client.post("/account/language", data={"language-locale": "en"})
    assert resp.status_code == 302
    page = text(client.get("/account"))
    assert '<html lang="en"' in page
    assert "Sign out" in page
    db.session.expire_all()
    assert user.locale == "en"
    (event,) = [e for e in _audit("update", user) if "locale" in (e.changes or {})]
    assert event.changes["locale"] == ["nl", "en"]


def test_an_unknown_language_is_refused_with_the_form_kept(client, login, make_user):
    user = _user(make_user)
    login(user)
    resp = client.post("/account/language", data={"language-locale": "xx"})
    assert resp.status_code == 422
    assert field_error(resp, "language-locale")
    db.session.expire_all()
    assert user.locale == "nl"


def test_the_language_chosen_on_the_login_page_is_kept_into_the_account(client, login, make_user):
    user = _user(make_user)
    client.post("/language/en", data={"next": "/login"})
    assert '<html lang="en"' in text(client.get("/login"))
    login(user)
    assert '<html lang="en"' in text(client.get("/account"))
    db.session.expire_all()
    assert user.locale == "en"  # kept for the next sign-in, on any browser
    # Signing out keeps the login page in the user's language ...
    client.post("/logout")
    assert '<html lang="en"' in text(client.get("/login"))
    # ... but that is no choice for whoever signs in next on this browser.
    dutch = _user(make_user)
    login(dutch)
    db.session.expire_all()
    assert dutch.locale == "nl"
    assert '<html lang="nl"' in text(client.get("/account"))


def test_the_language_chosen_on_the_login_page_survives_the_code_step(client, make_user):
    user = _user(make_user)
    twofactor.start_enrolment(user)
    codes = twofactor.confirm_enrolment(user, pyotp.TOTP(user.totp_secret).now())
    db.session.commit()
    client.post("/language/en", data={"next": "/login"})
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.headers["Location"].endswith("/login/code")
    assert '<html lang="en"' in text(client.get("/login/code"))
    resp = client.post("/login/code", data={"code": codes[0]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert user.locale == "en"


# --- notification preferences -------------------------------------------------------------------

def test_the_preferences_are_shown_and_saved(client, login, make_user):
    user = _user(make_user)
    login(user)
    page = text(client.get("/account"))
    assert "Op deze server is e-mail niet ingesteld" in page  # the test app has no MAIL_SERVER
    assert re.search(r'<input checked class="[^"]*" id="notify-in_app"', page)
    resp = client.post("/account/notifications", data={"notify-in_app": "y",
                                                       "notify-digest": "y"})
    assert resp.status_code == 302
    assert "Uw voorkeuren voor meldingen zijn opgeslagen." in text(client.get("/account"))
    db.session.expire_all()
    assert (user.notify_in_app, user.notify_email, user.notify_digest) == (True, False, True)


def _set(user, *, in_app=True, email=True, digest=False):
    user.notify_in_app, user.notify_email, user.notify_digest = in_app, email, digest
    db.session.commit()


def _email_jobs() -> list[Job]:
    return list(db.session.scalars(sa.select(Job).where(Job.kind == EMAIL_JOB)))


def test_notify_respects_each_receivers_preferences(app, make_user, inbox):
    everything, quiet_app, no_mail, nothing = (_user(make_user) for _ in range(4))
    _set(quiet_app, in_app=False)
    _set(no_mail, email=False)
    _set(nothing, in_app=False, email=False, digest=False)
    rows = notify([everything.id, quiet_app.id, no_mail.id, nothing.id], "task_assigned",
                  "Bel de havenmeester", link="/tasks/")
    db.session.commit()
    by_user = {n.user_id: n for n in rows}
    assert set(by_user) == {everything.id, quiet_app.id, no_mail.id}  # nothing: no row at all
    assert unread_count(everything) == 1 and unread_count(no_mail) == 1
    assert unread_count(quiet_app) == 0 and by_user[quiet_app.id].read_at is not None
    time.sleep(0.2)
    assert sorted(m["To"] for m in inbox.messages) == sorted([everything.email, quiet_app.email])
    (job,) = _email_jobs()
    assert sorted(job.params["notification_ids"]) == sorted(
        [by_user[everything.id].id, by_user[quiet_app.id].id])


def test_the_email_job_skips_a_receiver_who_switched_email_off_since(app, make_user, inbox,
                                                                     monkeypatch):
    from sdd_crm.notifications import jobs

    user = _user(make_user)
    monkeypatch.setattr(jobs, "create_email_job", lambda ids: None)  # not yet sent
    (row,) = notify([user.id], "task_assigned", "Bel de havenmeester")
    db.session.commit()
    _set(user, email=False)
    monkeypatch.undo()
    job = jobs.create_email_job([row.id])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Job, job.id).result == {"sent": 0}
    assert inbox.messages == []


def test_without_mail_configured_no_email_job_is_made(app, make_user):
    user = _user(make_user)
    notify([user.id], "task_assigned", "Bel de havenmeester")
    db.session.commit()
    assert _email_jobs() == []


# --- the daily digest -------------------------------------------------------------------------------

def _notification(user, title, at) -> Notification:
    row = Notification(user_id=user.id, kind="task_assigned", title=title, link="/tasks/",
                       created_at=at)
    db.session.add(row)
    db.session.flush()
    return row


def test_the_digest_lists_the_days_notifications_once_a_day(app, make_user, inbox):
    day = local_today() - dt.timedelta(days=1)
    start = local_day_start(day)
    wants, english, refuses, idle = (_user(make_user) for _ in range(4))
    _set(wants, digest=True)
    _set(english, digest=True)
    english.locale = "en"
    _set(refuses, digest=False)
    _set(idle, digest=True)  # no notifications that day: no e-mail
    _notification(wants, "Bel de havenmeester", start + dt.timedelta(hours=9))
    _notification(wants, "Signaal: zoekt een kade", start + dt.timedelta(hours=15))
    _notification(wants, "Van eergisteren", start - dt.timedelta(minutes=1))
    _notification(wants, "Van vandaag", start + dt.timedelta(days=1, minutes=1))
    _notification(english, "Call the harbour master", start + dt.timedelta(hours=10))
    _notification(refuses, "Niet in een overzicht", start + dt.timedelta(hours=10))
    db.session.commit()

    assert digest.send_digests(day) == 2
    db.session.commit()
    (message,) = inbox.to(wants.email)
    body = message.get_content()
    assert "Bel de havenmeester" in body and "Signaal: zoekt een kade" in body
    assert "Van eergisteren" not in body and "Van vandaag" not in body
    assert "https://crm.g.example.nl/tasks/" in body
    assert "2 meldingen" in body and message["Subject"].startswith("SDD CRM: uw meldingen van")
    (english_message,) = inbox.to(english.email)
    assert english_message.get_content().startswith("Dear ")
    assert inbox.to(refuses.email) == inbox.to(idle.email) == []
    # Again the same day (an RQ retry, a second scheduler): nothing more.
    assert digest.send_digests(day) == 0
    db.session.commit()
    assert len(inbox.messages) == 2
    db.session.expire_all()
    assert wants.digest_sent_on == day


def test_the_digest_runs_from_the_schedule(app, make_user, inbox, monkeypatch):
    monkeypatch.setattr(schedule, "_REGISTRY",
                        {"notification_digest": schedule.get("notification_digest")})
    user = _user(make_user)
    _set(user, digest=True)
    _notification(user, "Bel de havenmeester",
                  local_day_start(local_today() - dt.timedelta(days=1)) + dt.timedelta(hours=12))
    db.session.commit()
    assert schedule.run_due() == ["notification_digest"]
    job = db.session.scalars(sa.select(Job).where(Job.kind == digest.JOB_KIND)).one()
    assert job.status == "finished" and job.result["sent"] == 1
    assert len(inbox.to(user.email)) == 1
    assert schedule.get("notification_digest").cron and schedule.get("notification_digest").description


def test_without_mail_the_digest_sends_nothing_and_claims_nothing(app, make_user):
    user = _user(make_user)
    _set(user, digest=True)
    day = local_today() - dt.timedelta(days=1)
    _notification(user, "Bel de havenmeester", local_day_start(day) + dt.timedelta(hours=12))
    db.session.commit()
    assert digest.send_digests(day) == 0
    db.session.expire_all()
    assert user.digest_sent_on is None


# --- forgot password ------------------------------------------------------------------------------

def _ask(client, address):
    return client.post("/password/forgot", data={"email": address})


def _link(inbox, user) -> str:
    (message,) = inbox.to(user.email)
    match = re.search(r"https://crm\.g\.example\.nl(/password/reset\?token=[\w-]+)",
                      message.get_content())
    assert match, message.get_content()
    return match.group(1)


def _reset(client, link, new=STRONG, again=None):
    assert client.get(link).status_code == 302  # the token moves into the session
    return client.post("/password/reset", data={"new_password": new,
                                                "new_password_again": again or new})


def test_no_forgot_password_link_without_mail_configured(client, app, monkeypatch):
    assert "Wachtwoord vergeten?" not in text(client.get("/login"))
    page = text(client.get("/password/forgot"))
    assert "Vraag een beheerder" in page and 'name="email"' not in page
    # Mail without a public address is not enough: a link is never built on the Host header.
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    assert "Wachtwoord vergeten?" not in text(client.get("/login"))


def test_the_same_answer_whether_or_not_the_address_has_an_account(client, make_user, inbox):
    user = _user(make_user)
    assert 'href="/password/forgot"' in text(client.get("/login"))
    known, unknown = _ask(client, user.email), _ask(client, "niemand@g.example.nl")
    assert known.status_code == unknown.status_code == 200
    def _without_csrf(resp):  # the header's forms carry a token that differs by the second
        return re.sub(r'name="csrf_token" value="[^"]*"', "", text(resp))

    assert _without_csrf(known) == _without_csrf(unknown)
    assert "Als er een account bij dit e-mailadres hoort" in text(known)
    time.sleep(0.2)
    assert [m["To"] for m in inbox.messages] == [user.email]
    # Only the hash is stored: the token of the e-mail is nowhere in the database.
    token = _link(inbox, user).split("token=")[1]
    (row,) = db.session.scalars(sa.select(PasswordResetToken)
                                .where(PasswordResetToken.user_id == user.id))
    assert row.token_hash == PasswordResetToken.hash(token) and token not in row.token_hash
    job = db.session.scalars(sa.select(Job).where(Job.kind == reset.JOB_KIND)).one()
    assert token not in str(job.params) and job.created_by_id is None
    assert [e.result for e in _audit("password_reset_requested", user)] == ["success"]


def test_the_link_resets_the_password_once_and_the_user_signs_in_normally(client, make_user,
                                                                         inbox, caplog):
    caplog.set_level(logging.DEBUG)
    user = _user(make_user)
    _ask(client, user.email)
    link = _link(inbox, user)
    resp = client.get(link)
    assert resp.status_code == 302 and "token" not in resp.headers["Location"]
    page = text(client.get("/password/reset"))
    assert "Nieuw wachtwoord instellen" in page and user.email in page
    # Twice, with the strength rules.
    resp = client.post("/password/reset", data={"new_password": "Welkom2026!!",
                                                "new_password_again": "Welkom2026!!"})
    assert resp.status_code == 422 and "veelgebruikt woord" in field_error(resp, "new_password")
    resp = client.post("/password/reset", data={"new_password": STRONG,
                                                "new_password_again": STRONGER})
    assert resp.status_code == 422
    assert field_error(resp, "new_password_again") == "De twee nieuwe wachtwoorden zijn niet gelijk."
    resp = client.post("/password/reset", data={"new_password": STRONG,
                                                "new_password_again": STRONG})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "Log in met uw nieuwe wachtwoord." in text(client.get("/login"))
    assert client.get("/account").status_code == 302  # not signed in by the link
    assert authenticate(user.email, STRONG) is not None
    (changed,) = _audit("password_changed", user)
    assert changed.changes.get("via") == "reset"
    # Single use: the same link again is refused.
    assert client.get(link).status_code == 302
    resp = client.get("/password/reset")
    assert resp.status_code == 410 and "Deze link werkt niet" in text(resp)
    resp = _reset(client, link, new=STRONGER)
    assert resp.status_code == 410
    assert authenticate(user.email, STRONGER) is None
    # Neither the token nor a password in any log line; the refusals are logged.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert link.split("token=")[1] not in logged and STRONG not in logged
    assert "password_reset_refused" in logged and "password_reset " in logged


def test_two_factor_is_still_asked_after_a_reset(client, make_user, inbox):
    user = _user(make_user)
    twofactor.start_enrolment(user)
    twofactor.confirm_enrolment(user, pyotp.TOTP(user.totp_secret).now())
    db.session.commit()
    _ask(client, user.email)
    assert _reset(client, _link(inbox, user)).status_code == 302
    resp = client.post("/login", data={"email": user.email, "password": STRONG})
    assert resp.headers["Location"].endswith("/login/code")


def test_an_expired_link_is_refused(client, make_user, inbox, monkeypatch):
    user = _user(make_user)
    _ask(client, user.email)
    link = _link(inbox, user)
    later = reset.now() + dt.timedelta(minutes=61)
    monkeypatch.setattr(reset, "now", lambda: later)
    resp = _reset(client, link)
    assert resp.status_code == 410
    assert authenticate(user.email, STRONG) is None


def test_a_newer_link_or_a_password_change_kills_the_link(client, make_user, inbox):
    user = _user(make_user)
    _ask(client, user.email)
    first = _link(inbox, user)
    inbox.messages.clear()
    _ask(client, user.email)
    second = _link(inbox, user)
    assert _reset(client, first).status_code == 410  # replaced by the newer one
    change_own_password(user, current_password=PASSWORD, new_password=STRONGER,
                        new_password_again=STRONGER)
    db.session.commit()
    assert _reset(client, second).status_code == 410  # the password changed meanwhile
    assert authenticate(user.email, STRONGER) is not None


def test_an_inactive_user_gets_no_link(client, make_user, inbox):
    user = _user(make_user)
    user.active = False
    db.session.commit()
    assert "Als er een account" in text(_ask(client, user.email))
    time.sleep(0.2)
    assert inbox.messages == []


def test_asking_is_rate_limited_for_unknown_addresses_too(client, make_user, inbox):
    for _ in range(5):
        assert _ask(client, "niemand@g.example.nl").status_code == 200
    assert _ask(client, "niemand@g.example.nl").status_code == 429
    assert _ask(client, "NIEMAND@g.example.nl ").status_code == 429  # the same address


def test_a_signed_in_user_is_sent_to_the_account_page(client, login, make_user, inbox):
    login(_user(make_user))
    resp = client.get("/password/forgot")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
