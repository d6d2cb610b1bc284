"""The lead screens a user works with: share form, lists with tabs and filters, detail, edit,
comments. (The status flow is in test_leads_state_machine.py, visibility in
test_leads_visibility.py.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, field_error, form_fields, input_value, text
from leads_support import build_world, notifications_of, reload
from sdd_crm.extensions import db
from sdd_crm.leads.models import Lead, LeadComment
from sdd_crm.leads.services import change_status, share_lead


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def _lead_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Lead))


# --- Sharing ---------------------------------------------------------------------------------

def test_the_organisation_page_offers_to_share_a_lead(client, login, world):
    login(world.users["local_other"])
    page = text(client.get(f"/organisations/{world.org.id}"))
    assert f'href="/leads/new?organisation_id={world.org.id}"' in page
    assert "Signaal delen" in page


def test_the_share_form_lists_colleagues_and_municipalities(client, login, world):
    login(world.users["author"])
    resp = client.get(f"/leads/new?organisation_id={world.org.id}")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    assert "Baggerwerf Sliedrecht B.V." in page
    assert "Pim Papendrecht (Lokaal accountmanager, Papendrecht)" in page
    assert "Vera Viewer" not in page  # viewers do not work with leads
    assert "Zoë Zwijndrecht (" not in page  # not oneself
    # The company's municipality is chosen in advance.
    assert '<option selected value="GM0610">Sliedrecht</option>' in page


def test_sharing_with_a_municipality_creates_the_lead_and_notifies_its_account_managers(
        client, login, world, make_user):
    second = make_user("local_account_manager", municipality="GM0610", name="Tweede Sliedrecht")
    login(world.users["local_other"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "workforce", "title": "Zoekt 40 lassers", "description": "Regel 1\nRegel 2",
        "shared_with": "municipality", "shared_with_municipality": "GM0610"})
    assert resp.status_code == 302
    lead = db.session.scalar(sa.select(Lead).where(Lead.title == "Zoekt 40 lassers"))
    assert resp.headers["Location"].endswith(f"/leads/{lead.id}")
    assert (lead.author_id, lead.from_municipality_code, lead.status) == (
        world.users["local_other"].id, "GM0505", "new")
    page = text(client.get(resp.headers["Location"]))
    assert "Het signaal is gedeeld met: Gemeente Sliedrecht." in page
    assert "Regel 1\nRegel 2" in page
    for receiver in (world.users["local_receiving"], second):
        titles = [n.title for n in notifications_of(receiver)]
        assert "Nieuw signaal van Dirk Dordrecht: Zoekt 40 lassers" in titles
    for outsider in ("named", "regional", "local_other"):  # not the receiving side
        assert lead.id not in [n.lead_id for n in notifications_of(world.users[outsider])]


def test_sharing_with_a_named_colleague(client, login, world):
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "innovation", "title": "Waterstofpilot", "shared_with": "user",
        "shared_with_user_id": str(world.users["bizdev"].id)})
    assert resp.status_code == 302
    lead = db.session.scalar(sa.select(Lead).where(Lead.title == "Waterstofpilot"))
    assert (lead.shared_with, lead.shared_with_user_id) == ("user", world.users["bizdev"].id)
    assert [n.link for n in notifications_of(world.users["bizdev"])] == [f"/leads/{lead.id}"]


@pytest.mark.parametrize("data, field, message", [
    ({"title": "", "shared_with": "regional_team"}, "title", "Vul een korte titel in."),
    ({"title": "x" * 201, "shared_with": "regional_team"}, "title", "Hoogstens 200 tekens."),
    ({"title": "Iets", "shared_with": ""}, "shared_with", "Kies met wie u het signaal deelt."),
    ({"title": "Iets", "shared_with": "user", "shared_with_user_id": ""},
     "shared_with_user_id", "Kies een actieve collega."),
    ({"title": "Iets", "shared_with": "municipality", "shared_with_municipality": "GM9999"},
     "shared_with_municipality", "Kies een gemeente."),
    ({"title": "Iets", "type": "gossip", "shared_with": "regional_team"}, "type",
     "Kies het soort signaal."),
])
def test_bad_input_is_refused_with_a_dutch_message_and_the_form_kept(client, login, world,
                                                                      data, field, message):
    login(world.users["author"])
    before = _lead_count()
    resp = client.post(f"/leads/new?organisation_id={world.org.id}",
                       data={"type": "expansion", "description": "Mijn toelichting", **data})
    assert resp.status_code == 422
    assert message in field_error(resp, field if field != "shared_with" else "shared_with")
    assert "Mijn toelichting" in text(resp)
    assert _lead_count() == before


def test_a_lead_cannot_be_shared_with_oneself(client, login, world):
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "Aan mezelf", "shared_with": "user",
        "shared_with_user_id": str(world.users["author"].id)})
    assert resp.status_code == 422
    assert "niet met uzelf" in field_error(resp, "shared_with_user_id")
    assert input_value(resp, "title") == "Aan mezelf"


def test_the_share_form_needs_an_existing_organisation(client, login, world):
    login(world.users["author"])
    assert client.get("/leads/new?organisation_id=987654").status_code == 404
    resp = client.get("/leads/new")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/organisations/")


# --- Lists -----------------------------------------------------------------------------------

def test_the_inbox_shows_leads_waiting_for_me_with_sender_and_receiver(client, login, world):
    login(world.users["local_receiving"])
    resp = client.get("/leads/")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    assert "Zoekt 2 hectare" in page and "Sluiting dreigt" not in page
    assert "Zoë Zwijndrecht (Zwijndrecht)" in page and "Gemeente Sliedrecht" in page
    assert "Alle signalen</a>" not in page  # the "all" tab is for the regional team and admins


def test_the_status_and_type_filters(client, login, world):
    lead = world.leads["region"]
    login(world.users["regional"])
    extra = share_lead({"organisation_id": world.org.id, "type": "expansion", "title": "Nog een",
                        "shared_with": "regional_team"}, actor=world.users["author"])
    change_status(extra, "accepted", actor=world.users["regional"])
    db.session.commit()
    page = text(client.get("/leads/?tab=inbox&status=new"))
    assert lead.title in page and "Nog een" not in page
    page = text(client.get("/leads/?tab=inbox&status=accepted"))
    assert lead.title not in page and "Nog een" in page
    page = text(client.get("/leads/?tab=all&type=expansion"))
    assert "Nog een" in page and "Zoekt 2 hectare" in page and lead.title not in page
    page = text(client.get("/leads/?tab=all&status=open&type=risk"))
    assert lead.title in page and "Alle filters wissen" in page
    # Unknown values are ignored, never an error.
    assert client.get("/leads/?tab=nonsense&status=x&type=y&page=abc").status_code == 200


def test_lists_paginate_without_count_and_without_n_plus_one(client, login, world, app,
                                                              count_queries, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    for n in range(5):
        share_lead({"organisation_id": world.org.id, "type": "risk", "title": f"Extra {n}",
                    "shared_with": "regional_team"}, actor=world.users["author"])
    db.session.commit()
    login(world.users["author"])
    page1 = text(client.get("/leads/?tab=shared"))
    assert "Volgende pagina" in page1 and "Extra 4" in page1 and "Extra 0" not in page1
    page3 = text(client.get("/leads/?tab=shared&page=3"))
    assert "Vorige pagina" in page3 and "Volgende pagina" not in page3
    with count_queries() as small:
        client.get("/leads/?tab=shared&page=3")
    with count_queries() as full:
        client.get("/leads/?tab=shared")
    assert full.count == small.count, full.statements
    # The list's total (issue 14 point 2) and the header's waiting leads are counted, but
    # bounded: in a LIMIT subquery, never a COUNT(*) of the whole table.
    counts = [s for s in full.statements if "count(" in s.lower() and "lead" in s.lower()]
    assert counts and all("limit" in s.lower() for s in counts), counts
    assert "8 signalen" in page1  # the three of the world and these five


# --- Detail, edit, comments --------------------------------------------------------------------

def test_the_author_edits_the_text_while_the_lead_is_new(client, login, world):
    lead = world.leads["named"]
    login(world.users["author"])
    resp = client.get(f"/leads/{lead.id}/edit")
    assert resp.status_code == 200
    assert_good_markup(resp)
    data = form_fields(resp, f"/leads/{lead.id}/edit")
    data.update(title="Interesse in SCALE en subsidie")
    assert client.post(f"/leads/{lead.id}/edit", data=data).status_code == 302
    assert reload(lead).title == "Interesse in SCALE en subsidie"


def test_the_text_is_frozen_once_the_receiving_side_responded(client, login, world):
    lead = world.leads["named"]
    login(world.users["author"])
    data = form_fields(client.get(f"/leads/{lead.id}/edit"), f"/leads/{lead.id}/edit")
    change_status(lead, "accepted", actor=world.users["named"])
    db.session.commit()
    resp = client.post(f"/leads/{lead.id}/edit", data={**data, "title": "Te laat"})
    assert resp.status_code in (409, 422)
    assert reload(lead).title == "Interesse in SCALE"
    resp = client.get(f"/leads/{lead.id}/edit")
    assert resp.status_code == 302
    assert "kan niet meer worden gewijzigd" in text(client.get(resp.headers["Location"]))


def test_only_the_author_edits(client, login, world):
    lead = world.leads["named"]
    login(world.users["named"])
    resp = client.post(f"/leads/{lead.id}/edit", data={"type": "risk", "title": "Gekaapt"})
    assert resp.status_code == 403
    assert "Alleen wie het signaal deelde" in text(resp)
    assert reload(lead).title == "Interesse in SCALE"
    assert "Tekst wijzigen" not in text(client.get(f"/leads/{lead.id}"))


def test_a_stale_edit_is_refused(client, login, world):
    lead = world.leads["named"]
    login(world.users["author"])
    resp = client.post(f"/leads/{lead.id}/edit", data={
        "type": "subsidy", "title": "Oude versie", "version": str(lead.version - 1 or 99)})
    assert resp.status_code == 409
    assert "intussen gewijzigd" in text(resp)
    assert reload(lead).title == "Interesse in SCALE"


def test_comments_are_shown_and_notify_the_other_side(client, login, world):
    lead = world.leads["municipality"]
    login(world.users["local_receiving"])
    resp = client.post(f"/leads/{lead.id}/comments", data={"body": "Wij bellen morgen."})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#reacties")
    page = text(client.get(f"/leads/{lead.id}"))
    assert "Wij bellen morgen." in page and "Sanne Sliedrecht" in page
    assert "Sanne Sliedrecht reageerde op 'Zoekt 2 hectare'" in [
        n.title for n in notifications_of(world.users["author"])]


def test_an_empty_comment_is_refused(client, login, world):
    lead = world.leads["municipality"]
    login(world.users["author"])
    resp = client.post(f"/leads/{lead.id}/comments", data={"body": "   "})
    assert resp.status_code == 422
    assert "Schrijf een reactie." in field_error(resp, "body")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LeadComment)) == 0


def test_the_detail_page_markup(client, login, world):
    lead = world.leads["municipality"]
    login(world.users["local_receiving"])
    resp = client.get(f"/leads/{lead.id}")
    assert_good_markup(resp)
    page = text(resp)
    assert "Zoekt 2 hectare" in page and "Baggerwerf Sliedrecht B.V." in page
    assert "Gemeente Sliedrecht" in page
