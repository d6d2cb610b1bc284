"""Bad input on the contact-moment forms: a Dutch message on the field, the input kept,
nothing saved (no interaction, no task, no change of last_contact_on); and the version check."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, field_error, form_fields, input_value, text
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction, Task
from sdd_crm.interactions.services import create_interaction, update_interaction
from sdd_crm.organisations.models import Organisation

TODAY = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()  # the forms' default date


@pytest.fixture
def setting(make_user, make_org, make_contact):
    author = make_user("local_account_manager", municipality="GM0505", name="Auke Auteur")
    org = make_org(name="Dordtse Scheepswerf B.V.", city="Dordrecht", kvk_number="11112222")
    other = make_org(name="Sliedrechtse Baggeraars B.V.", city="Sliedrecht", kvk_number="33334444")
    here = make_contact(org, first_name="Anna", last_name="de Vries")
    elsewhere = make_contact(other, first_name="Kees", last_name="Visser")
    return {"author": author, "org": org, "other": other, "here": here, "elsewhere": elsewhere}


def _good(s, **changes) -> dict:
    data = {"type": "visit", "date": TODAY.isoformat(),
            "organisation": "Dordtse Scheepswerf B.V. (KvK 11112222)",
            "subject": "Uitbreiding hal 3", "notes": "Ze willen uitbreiden.",
            "topics": ["expansion"], "contact_ids": [str(s["here"].id)],
            "follow_ups-0-title": "Offerte nabellen", "follow_ups-0-due_date": "",
            "follow_ups-0-assignee_id": str(s["author"].id), "action": "save"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


BAD = {
    # name: (changes, field id with the message, the Dutch message)
    "future date": ({"date": (TODAY + dt.timedelta(days=5)).isoformat()}, "date",
                    "Een contactmoment ligt niet in de toekomst; plan een taak."),
    "missing subject": ({"subject": ""}, "subject", "Vul het onderwerp in."),
    "contact of another organisation": ({"contact_ids": None}, "contact_ids",
                                        "Kies contactpersonen van deze organisatie."),
    "25,000-character notes": ({"notes": "x" * 25_000}, "notes", "Hoogstens 20000 tekens."),
    "unknown topic": ({"topics": ["expansion", "golf"]}, "topics",
                      "Kies onderwerpen uit de lijst."),
    "unknown organisation": ({"organisation": "Bestaat Niet B.V."}, "organisation",
                             "Geen organisatie gevonden met deze naam of dit KvK-nummer."),
    "bad follow-up date": ({"follow_ups-0-due_date": "morgen"}, "follow_ups",
                           "Vul een geldige datum in, bijvoorbeeld 6-12-2026."),
}


def _counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Task)))


@pytest.mark.parametrize("form, case", [
    (form, case) for form in ("new", "visit", "edit") for case in BAD
    if not (form == "visit" and case == "contact of another organisation")])  # no contacts there
def test_bad_input_is_refused_in_dutch_with_the_input_kept(form, case, client, login, setting):
    s = setting
    changes, field_id, message = BAD[case]
    if case == "contact of another organisation":
        changes = {"contact_ids": [str(s["elsewhere"].id)]}
    url = f"/interactions/{form}"
    existing = None
    if form == "edit":
        existing = create_interaction({"organisation_id": s["org"].id, "type": "call",
                                       "date": TODAY - dt.timedelta(days=10),
                                       "subject": "Eerste gesprek"}, actor=s["author"])
        db.session.commit()
        url = f"/interactions/{existing.id}/edit"
        changes = {**changes, "version": str(existing.version)}
    login(s["author"])
    before = _counts()
    resp = client.post(url, data=_good(s, **changes))
    assert resp.status_code == 422
    page = text(resp)
    assert "Het formulier is niet opgeslagen." in page
    assert message in field_error(resp, field_id), (field_id, field_error(resp, field_id))
    assert_good_markup(resp)
    # The input is kept: what the user typed is still in the boxes.
    kept = form_fields(resp, "/interactions/")
    if case != "missing subject":
        assert kept["subject"] == "Uitbreiding hal 3"
    if case != "25,000-character notes":
        assert kept["notes"] == "Ze willen uitbreiden."
    else:
        assert kept["notes"] == "x" * 25_000
    if case == "unknown organisation":
        assert input_value(resp, "organisation") == "Bestaat Niet B.V."
    assert kept["follow_ups-0-title"] == "Offerte nabellen"
    # Nothing is saved.
    db.session.expire_all()
    assert _counts() == before
    if existing is not None:
        stored = db.session.get(Interaction, existing.id)
        assert stored.subject == "Eerste gesprek" and stored.version == existing.version
    assert db.session.get(Organisation, s["org"].id).last_contact_on in (
        None, TODAY - dt.timedelta(days=10))


def test_an_ambiguous_organisation_name_lists_the_candidates(client, login, setting, make_org):
    make_org(name="Dordtse Scheepswerf Zuid B.V.", city="Dordrecht")
    login(setting["author"])
    resp = client.post("/interactions/visit", data=_good(setting, organisation="scheepswerf"))
    assert resp.status_code == 422
    assert field_error(resp, "organisation") == (
        "Meerdere organisaties passen bij uw invoer; kies er één uit de lijst.")
    page = text(resp)
    assert '<option value="Dordtse Scheepswerf B.V. (KvK 11112222)">' in page
    assert "Dordtse Scheepswerf Zuid B.V. (nr. " in page


def test_last_contact_on_follows_create_edit_and_delete(client, login, setting):
    s = setting
    org_id = s["org"].id
    login(s["author"])

    def last_contact():
        db.session.expire_all()
        return db.session.get(Organisation, org_id).last_contact_on

    assert last_contact() is None
    old = TODAY - dt.timedelta(days=40)
    assert client.post("/interactions/new", data=_good(s, date=old.isoformat(),
                                                       subject="Oud gesprek")).status_code == 302
    assert last_contact() == old
    assert client.post("/interactions/visit", data=_good(s)).status_code == 302
    assert last_contact() == TODAY
    newest = db.session.scalar(sa.select(Interaction).where(Interaction.date == TODAY))
    recent = TODAY - dt.timedelta(days=7)
    resp = client.post(f"/interactions/{newest.id}/edit",
                       data=_good(s, date=recent.isoformat(), version=str(newest.version)))
    assert resp.status_code == 302
    assert last_contact() == recent
    newest = db.session.get(Interaction, newest.id)
    assert client.post(f"/interactions/{newest.id}/delete",
                       data={"version": str(newest.version)}).status_code == 302
    assert last_contact() == old
    oldest = db.session.scalar(sa.select(Interaction).where(Interaction.deleted_at.is_(None)))
    client.post(f"/interactions/{oldest.id}/delete", data={"version": str(oldest.version)})
    assert last_contact() is None


def test_a_stale_edit_gets_409_with_the_input_kept(client, login, setting):
    s = setting
    interaction = create_interaction({"organisation_id": s["org"].id, "type": "call",
                                      "date": TODAY, "subject": "Eerste versie"},
                                     actor=s["author"])
    db.session.commit()
    login(s["author"])
    form = form_fields(client.get(f"/interactions/{interaction.id}/edit"), "/edit")
    assert form["version"] == str(interaction.version)
    assert form["organisation"] == "Dordtse Scheepswerf B.V. (KvK 11112222)"
    # Someone else (here: the author in another tab) changes only the topics meanwhile.
    update_interaction(interaction, {"topics": ["energy"]}, actor=s["author"], partial=True)
    db.session.commit()
    form.update({"subject": "Mijn versie", "action": "save"})
    resp = client.post(f"/interactions/{interaction.id}/edit", data=form)
    assert resp.status_code == 409
    assert "Iemand anders heeft dit contactmoment intussen gewijzigd." in text(resp)
    assert input_value(resp, "subject") == "Mijn versie"
    db.session.expire_all()
    assert db.session.get(Interaction, interaction.id).subject == "Eerste versie"
    # Saving again (with the version the 409 page carries) overwrites knowingly.
    again = form_fields(resp, "/edit")
    assert client.post(f"/interactions/{interaction.id}/edit",
                       data={**again, "action": "save"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Interaction, interaction.id).subject == "Mijn versie"


def test_viewers_cannot_log_contact_moments(client, login, setting, make_user):
    login(make_user("viewer"))
    for url in ("/interactions/new", "/interactions/visit"):
        assert client.get(url).status_code == 403
        assert client.post(url, data=_good(setting)).status_code == 403
    assert _counts() == (0, 0)
