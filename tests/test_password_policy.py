"""The password policy (issue 11 point 5, ASVS 2.1): at least 12 characters, not on a list of
common or breached passwords, not too easy to guess (zxcvbn, with Dutch words and the user's
own name) — in the admin screen, the CLI and the self-service change alike, in Dutch."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from html_helpers import field_error, form_fields, text
from sdd_crm.auth.models import User
from sdd_crm.auth.passwords import password_problem, user_inputs_for
from sdd_crm.auth.services import authenticate
from sdd_crm.extensions import db

STRONG = "paarse olifant danst langzaam"
TOO_SHORT = "Het wachtwoord moet minstens 12 tekens lang zijn."
TOO_COMMON = "komt voor op lijsten van veelgebruikte of gelekte wachtwoorden"
COMMON_WORD = "is een veelgebruikt woord of uw eigen naam met alleen cijfers of tekens"
TOO_EASY = "Dit wachtwoord is te makkelijk te raden."

# (password, the reason it is refused)
WEAK = [
    ("kort", TOO_SHORT),
    ("password1234", TOO_COMMON),
    ("qwertyuiop12", TOO_COMMON),
    ("aaaaaaaaaaaa", TOO_EASY),
    ("welkom123456", COMMON_WORD),
    ("Wachtwoord2026!", COMMON_WORD),
    ("Zomer2026!!!", COMMON_WORD),
    ("Drechtsteden#1", COMMON_WORD),
    ("Dordrecht2026!", COMMON_WORD),
    ("123456789012", TOO_EASY),
]


@pytest.fixture
def in_request(app):
    with app.test_request_context():
        yield


# --- the policy itself ------------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", WEAK)
def test_weak_passwords_are_refused_with_the_reason(in_request, password, reason):
    problem = password_problem(password, user_inputs=user_inputs_for("Jan de Vries", "jan@example.nl"))
    assert problem is not None and reason in problem


@pytest.mark.parametrize("password", [PASSWORD, STRONG, "koffie met appeltaart om drie",
                                      "Tr0ub4dor&3-vlinder"])
def test_strong_passwords_are_accepted(in_request, password):
    assert password_problem(password, user_inputs=user_inputs_for("Jan de Vries", "jan@example.nl")) is None


def test_the_users_own_name_and_email_do_not_make_a_password(in_request):
    inputs = user_inputs_for("Marieke Oosterhout", "m.oosterhout@papendrecht.nl")
    for password in ("MariekeOosterhout1!", "oosterhout123456", "Oosterhout#2026"):
        problem = password_problem(password, user_inputs=inputs)
        assert problem is not None, password
    # Without knowing the user, the same password would have passed.
    assert password_problem("MariekeOosterhout1!") is None


def test_the_hint_from_zxcvbn_is_given_in_dutch(in_request):
    problem = password_problem("aaaaaaaaaaaa")
    assert 'Herhalingen zoals "aaa" zijn makkelijk te raden.' in problem
    assert "Repeats" not in problem
    problem = password_problem("abcdefghijklm")
    assert TOO_EASY in problem and 'Reeksen zoals "abc" of "6543"' in problem


def test_a_very_long_password_is_judged_quickly_and_accepted(in_request):
    assert password_problem("x" * 12 + STRONG * 30) is None


# --- admin screens --------------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", WEAK)
def test_the_admin_create_screen_refuses_weak_passwords(client, login, make_user, password, reason):
    login(make_user("admin"))
    resp = client.post("/admin/users/new", data={
        "email": "nieuw@example.nl", "name": "Nieuwe Collega", "role": "viewer",
        "municipality": "", "password": password})
    assert resp.status_code == 422
    assert reason in field_error(resp, "password")
    assert db.session.scalar(sa.select(User).where(User.email == "nieuw@example.nl")) is None


def test_the_admin_create_screen_accepts_a_strong_password(client, login, make_user):
    login(make_user("admin"))
    resp = client.post("/admin/users/new", data={
        "email": "nieuw@example.nl", "name": "Nieuwe Collega", "role": "viewer",
        "municipality": "", "password": STRONG})
    assert resp.status_code == 302
    assert authenticate("nieuw@example.nl", STRONG) is not None


@pytest.mark.parametrize("password, reason", WEAK[1:6])
def test_the_admin_edit_screen_refuses_weak_passwords(client, login, make_user, password, reason):
    admin, user = make_user("admin"), make_user("viewer")
    login(admin)
    data = form_fields(client.get(f"/admin/users/{user.id}/edit"), "/edit")
    data["password"] = password
    resp = client.post(f"/admin/users/{user.id}/edit", data=data)
    assert resp.status_code == 422
    assert reason in field_error(resp, "password")
    assert authenticate(user.email, PASSWORD) is not None  # unchanged


def test_the_admin_edit_screen_refuses_the_users_own_name(client, login, make_user):
    admin = make_user("admin")
    user = make_user("viewer", name="Marieke Oosterhout", email="m.oosterhout@example.nl")
    login(admin)
    data = form_fields(client.get(f"/admin/users/{user.id}/edit"), "/edit")
    data["password"] = "Oosterhout2026!"
    resp = client.post(f"/admin/users/{user.id}/edit", data=data)
    assert resp.status_code == 422
    assert COMMON_WORD in field_error(resp, "password")


# --- CLI ------------------------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", WEAK)
def test_the_cli_refuses_weak_passwords_when_creating_a_user(runner, password, reason):
    result = runner.invoke(args=["users", "create", "--email", "cli@example.nl", "--name",
                                 "Cli Collega", "--role", "viewer", "--password", password])
    assert result.exit_code != 0
    assert reason in result.output
    assert "Er is niets opgeslagen." in result.output
    assert db.session.scalar(sa.select(User).where(User.email == "cli@example.nl")) is None


@pytest.mark.parametrize("password, reason", WEAK[1:6])
def test_the_cli_refuses_weak_passwords_when_setting_one(runner, make_user, password, reason):
    user = make_user()
    result = runner.invoke(args=["users", "set-password", user.email, "--password", password])
    assert result.exit_code != 0
    assert reason in result.output
    assert authenticate(user.email, PASSWORD) is not None


def test_the_cli_sets_a_strong_password_and_ends_the_sessions(app, runner, client, make_user,
                                                             login):
    user = make_user()
    login(user)
    result = runner.invoke(args=["users", "set-password", user.email],
                           input=f"{STRONG}\n{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert "alle sessies zijn beëindigd" in result.output
    assert STRONG not in result.output  # asked without echo
    db.session.expire_all()
    assert authenticate(user.email, STRONG) is not None
    assert client.get("/account").status_code == 302


def test_the_cli_set_password_needs_a_known_user(runner):
    result = runner.invoke(args=["users", "set-password", "niemand@example.nl", "--password", STRONG])
    assert result.exit_code != 0
    assert "Geen gebruiker met e-mailadres niemand@example.nl." in result.output


# --- self-service -----------------------------------------------------------------------------

def _change(client, current=PASSWORD, new=STRONG, again=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again})


def test_the_account_page_offers_the_password_change(client, make_user, login):
    login(make_user())
    page = text(client.get("/account"))
    assert "Wachtwoord wijzigen" in page
    assert "Huidig wachtwoord" in page and "Nieuw wachtwoord (nogmaals)" in page


@pytest.mark.parametrize("password, reason", WEAK)
def test_self_service_refuses_weak_passwords(client, make_user, login, password, reason):
    user = make_user()
    login(user)
    resp = _change(client, new=password)
    assert resp.status_code == 422
    assert reason in field_error(resp, "new_password")
    assert "Het formulier is niet opgeslagen." in text(resp)
    assert authenticate(user.email, PASSWORD) is not None


def test_self_service_needs_the_current_password(client, make_user, login):
    user = make_user()
    login(user)
    resp = _change(client, current="niet het wachtwoord")
    assert resp.status_code == 422
    assert "Het huidige wachtwoord klopt niet." in field_error(resp, "current_password")
    assert authenticate(user.email, STRONG) is None


def test_guessing_the_current_password_is_throttled(client, make_user, login):
    """Someone at an unlocked, signed-in browser cannot try current passwords without end: after
    LOGIN_FAILURE_LIMIT refusals (10 a minute) the change is refused unchecked, even when right."""
    user = make_user()
    login(user)
    for n in range(10):
        assert _change(client, current=f"geraden wachtwoord {n}").status_code == 422
    resp = _change(client)
    assert resp.status_code == 429
    assert authenticate(user.email, PASSWORD) is not None  # nothing changed


def test_self_service_needs_the_new_password_twice_the_same(client, make_user, login):
    user = make_user()
    login(user)
    resp = _change(client, again=STRONG + "!")
    assert resp.status_code == 422
    assert "De twee nieuwe wachtwoorden zijn niet gelijk." in field_error(resp, "new_password_again")
    assert authenticate(user.email, STRONG) is None


def test_self_service_accepts_a_strong_password(client, make_user, login):
    user = make_user()
    login(user)
    resp = _change(client)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    assert "Uw wachtwoord is gewijzigd." in text(client.get("/account"))
    assert authenticate(user.email, STRONG) is not None
    assert authenticate(user.email, PASSWORD) is None


def test_the_messages_are_english_for_an_english_user(client, make_user, login):
    user = make_user(locale="en")
    login(user)
    resp = _change(client, new="Wachtwoord2026!")
    assert resp.status_code == 422
    error = field_error(resp, "new_password")
    assert "common word" in error
    assert "veelgebruikt" not in error
