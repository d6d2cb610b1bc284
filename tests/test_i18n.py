"""Dutch first, English switchable: pages, form errors, and Dutch-formatted dates, numbers, money."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from flask import render_template_string, session
from flask_babel import refresh

from sdd_crm import create_app
from sdd_crm.extensions import babel

ROOT = Path(__file__).resolve().parent.parent
NBSP = "\xa0"


def _text(resp) -> str:
    return resp.get_data(as_text=True).replace(NBSP, " ")


def test_the_login_page_is_dutch_by_default(client):
    page = _text(client.get("/login"))
    assert '<html lang="nl"' in page
    assert "Inloggen" in page
    assert "E-mailadres" in page and "Wachtwoord" in page
    assert "Naar de inhoud" in page


def test_an_empty_required_field_gets_the_dutch_wtforms_message(client):
    resp = client.post("/login", data={"email": "", "password": ""})
    assert resp.status_code == 200
    assert "Dit veld is vereist." in _text(resp)


def test_switching_to_english_translates_the_page_and_form_messages(client):
    resp = client.post("/language/en", data={"next": "/login"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/login")

    page = _text(client.get("/login"))
    assert '<html lang="en"' in page
    assert "Sign in" in page
    assert "Email address" in page and "Password" in page
    assert "Inloggen" not in page
    # The switch offers the way back, labelled in its own language.
    assert 'lang="nl">Nederlands</button>' in page

    page = _text(client.post("/login", data={"email": "", "password": ""}))
    assert "This field is required." in page
    assert "Dit veld is vereist." not in page

    client.post("/language/nl", data={"next": "/login"})
    assert "Inloggen" in _text(client.get("/login"))


def test_an_unknown_language_is_ignored(client):
    resp = client.post("/language/xx", data={"next": "/login"})
    assert resp.status_code == 302
    assert "Inloggen" in _text(client.get("/login"))


def test_the_language_switch_does_not_redirect_off_site(client):
    resp = client.post("/language/en", data={"next": "//evil.example/x"})
    assert resp.status_code == 302
    assert "evil.example" not in resp.headers["Location"]


def test_a_user_who_chose_english_gets_english_after_login(client, make_user, login):
    user = make_user(locale="en", name="Anne Smith")
    login(user)
    page = _text(client.get("/"))
    assert '<html lang="en"' in page
    assert "Welcome, Anne Smith" in page
    assert "Sign out" in page and "Organisations" in page
    assert "Uitloggen" not in page


def test_a_dutch_user_sees_dutch_even_if_the_browser_asks_for_english(client, make_user, login):
    user = make_user(locale="nl", name="Piet de Vries")
    login(user)
    page = _text(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert "Welkom, Piet de Vries" in page
    assert "Uitloggen" in page


def test_switching_language_while_signed_in_is_remembered_for_the_user(client, make_user, login):
    from sdd_crm.extensions import db

    user = make_user(locale="nl")
    login(user)
    client.post("/language/en", data={"next": "/"})
    db.session.refresh(user)
    assert user.locale == "en"
    assert "Sign out" in _text(client.get("/"))


def test_error_pages_follow_the_language(client):
    assert "bestaat niet" in _text(client.get("/no-such-page"))
    client.post("/language/en", data={"next": "/login"})
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "does not exist" in _text(resp)


def _render(template: str, **ctx) -> str:
    return render_template_string(template, **ctx).replace(NBSP, " ")


FORMATS = "{{ amount|money }}|{{ n|number }}|{{ day|date }}|{{ day|date('long') }}|{{ moment|date }}"
VALUES = {
    "amount": 1250000.5,
    "n": 1234567.891,
    "day": dt.date(2025, 3, 14),
    "moment": dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.timezone.utc),
}


def test_money_numbers_and_dates_are_dutch_formatted(app):
    with app.test_request_context("/"):
        money, number, day, long_day, moment = _render(FORMATS, **VALUES).split("|")
    assert money == "€ 1.250.000,50"
    assert number == "1.234.567,891"
    # One format per language (issue 14): day, abbreviated month with its full stop, year.
    assert day == "14 mrt. 2025"
    assert long_day == "14 maart 2025"
    # Shown in Dutch time (CET in March: UTC+1).
    assert moment == "14 mrt. 2025 10:30"


def test_money_numbers_and_dates_follow_english(app):
    with app.test_request_context("/"):
        session["lang"] = "en"
        refresh()
        money, number, day, long_day, moment = _render(FORMATS, **VALUES).split("|")
    assert money == "€1,250,000.50"
    assert number == "1,234,567.891"
    # Day before month in English too, never 3/14/25.
    assert day == "14 Mar 2025"
    assert long_day == "March 14, 2025"
    assert moment == "14 Mar 2025 10:30"


def test_empty_values_format_as_nothing(app):
    with app.test_request_context("/"):
        assert _render("[{{ none|money }}{{ none|number }}{{ none|date }}]", none=None) == "[]"


def test_without_a_compiled_catalogue_the_interface_is_dutch(app, tmp_path):
    """A missing .mo (no `make translations`) only means Dutch, never an error."""
    other = create_app({
        "TESTING": True, "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "empty.sqlite3"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "no-translations"),
    })
    # Flask-Babel keeps one translations cache per extension object, shared by both apps.
    cache = babel.domain_instance.cache
    cache.clear()
    c = other.test_client()
    with c.session_transaction() as s:
        s["lang"] = "en"
    try:
        resp = c.get("/login")
    finally:
        cache.clear()
    assert resp.status_code == 200
    page = _text(resp)
    assert '<html lang="en"' in page
    assert "Inloggen" in page


def test_every_message_in_the_english_catalogue_is_translated():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_translations.py")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not (ROOT / "babel.cfg").exists(), reason="no babel.cfg")
def test_every_string_in_the_code_is_in_the_english_catalogue():
    """New Dutch strings need `make messages` and an English translation."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_translations.py"),
                             "--source"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
