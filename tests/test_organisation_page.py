"""The organisation page that fits (issue 14 point 4): the summary header per role, the section
menu, the timeline near the top with note previews (visibility unchanged, DESIGN 4.4) and its
filter, and the one form for logging a contact moment that lands back on the timeline."""

from __future__ import annotations

import collections
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from html_helpers import assert_good_markup, form_fields, input_value, switch_user, text

from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction, Task
from sdd_crm.interactions.services import create_interaction
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import set_account_team_member

TODAY = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
LONG_NOTE = ("Begin van het verslag. " + "De werf wil hal drie uitbreiden met een tweede "
             "dok en zoekt daarvoor dertig lassers en een subsidie voor de warmtepomp. " * 4
             + "GEHEIM-SLOT")


@pytest.fixture
def w(make_user, make_org, make_contact):
    admin = make_user("admin", name="Ada Beheer")
    strategic = make_user("regional_account_manager", name="Sanne Strategisch")
    local = make_user("local_account_manager", municipality="GM0505", name="Lotte Lokaal")
    outsider = make_user("local_account_manager", municipality="GM0610", name="Olaf Buiten")
    regional = make_user("regional_account_manager", name="Rob Regio")
    viewer = make_user("viewer", name="Vera Kijker")
    org = make_org(actor=admin, name="Dordtse Dokken B.V.", city="Dordrecht",
                   kvk_number="74000001", phone="078-7400001")
    other = make_org(actor=admin, name="Dordtse Dokken Zuid B.V.", city="Dordrecht",
                     kvk_number="74000002")
    set_account_team_member(org, strategic, "strategic", actor=admin)
    set_account_team_member(org, local, "local", actor=admin)
    org.manual_critical, org.is_critical = True, True
    org.manual_critical_reason = "Enige leverancier van scheepsschroeven in de regio"
    anna = make_contact(org, first_name="Anna", last_name="Dok", function="Directeur")
    db.session.commit()
    return {"admin": admin, "strategic": strategic, "local": local, "outsider": outsider,
            "regional": regional, "viewer": viewer, "org": org, "other": other, "anna": anna}


def _log(w, *, author="local", days_ago=0, confidential=False, type="call",
         subject="Gesprek", notes=LONG_NOTE, follow_up=None):
    interaction = create_interaction({
        "organisation_id": w["org"].id, "type": type, "subject": subject, "notes": notes,
        "date": TODAY - dt.timedelta(days=days_ago), "confidential": confidential,
        "follow_ups": [{"title": follow_up}] if follow_up else []}, actor=w[author])
    db.session.commit()
    return interaction


def _page(client, w, query=""):
    resp = client.get(f"/organisations/{w['org'].id}{query}")
    assert resp.status_code == 200
    return text(resp)


def _header(page: str) -> str:
    return page.split('class="app-org-summary"')[1].split('class="app-section-nav"')[0]


def _timeline(page: str) -> str:
    return page.split('id="tijdlijn"')[1].split("</section>")[0]


# ---- the summary header ------------------------------------------------------------------

QUICK = ("/interactions/new?organisation_id={id}", "/tasks/new?organisation_id={id}",
         "/leads/new?organisation_id={id}")


@pytest.mark.parametrize("who, quick, edit", [
    ("admin", True, True), ("strategic", True, True), ("local", True, True),
    ("outsider", True, False),  # may not edit (another municipality, not in the team)
    ("viewer", False, False)])
def test_summary_header_per_role(client, login, w, who, quick, edit):
    _log(w, days_ago=3)
    login(w[who])
    resp = client.get(f"/organisations/{w['org'].id}")
    assert_good_markup(resp)
    header = _header(text(resp))
    assert "<h1" in header and "Dordtse Dokken B.V." in header
    # Criticality: critical, the manual flag and why in one line, with the link to the reasons.
    assert "Kritisch" in header and "handmatig als kritisch gemarkeerd" in header
    assert "Enige leverancier van scheepsschroeven in de regio" in header
    assert f'href="/chains/criticality/{w["org"].id}"' in header
    # Account team: the strategic manager named as such, and the others.
    assert re.search(r"Sanne Strategisch\s*<span[^>]*>strategisch</span>", header)
    assert "Lotte Lokaal" in header
    # Last contact three days ago: a date, no attention needed.
    assert "Laatste contact" in header and "nooit" not in header
    assert "Aandacht nodig" not in header
    for url in QUICK:
        assert (f'href="{url.format(id=w["org"].id)}"' in header) is quick, (who, url)
    assert (f'href="/organisations/{w["org"].id}/edit"' in header) is edit
    assert (f'href="/organisations/{w["org"].id}/delete"' in header) is edit


def test_last_contact_says_never_only_when_there_is_none(client, login, w):
    login(w["regional"])
    header = _header(_page(client, w))
    assert re.search(r"Laatste contact</dt>\s*<dd>nooit", header)
    assert "Aandacht nodig" in header
    # A contact moment written by a path that did not keep the figure: the page still knows.
    _log(w, days_ago=400)
    db.session.get(Organisation, w["org"].id).last_contact_on = None
    db.session.commit()
    header = _header(_page(client, w))
    assert not re.search(r"Laatste contact</dt>\s*<dd>nooit", header)
    assert "Aandacht nodig" in header  # 400 days ago is longer than six months


def test_section_menu_reaches_every_section_in_one_step(client, login, w):
    login(w["regional"])
    page = _page(client, w)
    nav = page.split('class="app-section-nav"')[1].split("</nav>")[0]
    anchors = re.findall(r'href="#([\w-]+)"', nav)
    assert anchors[0] == "tijdlijn"
    assert set(anchors) >= {"tijdlijn", "contactpersonen", "accountteam", "clusters",
                            "programmas", "gegevens", "wijzigingen"}
    for anchor in anchors:
        assert f'id="{anchor}"' in page, anchor
    # Tasks and leads: the timeline filtered to them, one click too.
    for kind, label in (("task", "Taken"), ("lead", "Signalen")):
        assert f'href="/organisations/{w["org"].id}?kind={kind}#tijdlijn">{label}</a>' in nav
    # The timeline comes first, right after the header and the menu.
    assert page.index('id="tijdlijn"') < page.index('id="contactpersonen"') < page.index(
        'id="gegevens"')
    switch_user(client, login, w["viewer"])
    page = _page(client, w)
    assert 'href="#contactpersonen"' not in page and 'id="contactpersonen"' not in page
    nav = page.split('class="app-section-nav"')[1].split("</nav>")[0]
    assert "kind=task" not in nav and "kind=lead" not in nav  # viewers see neither


# ---- the timeline: previews and filter -----------------------------------------------------

def test_note_previews_follow_the_visibility_rules(client, login, w):
    _log(w, subject="Open gesprek", notes="Open verslag: " + LONG_NOTE)
    _log(w, author="local", subject="Vertrouwelijk gesprek", confidential=True,
         notes="Geheim verslag over de overname.")
    expected = {  # who → (sees the open preview, sees the confidential one)
        "admin": (True, True), "strategic": (True, True), "local": (True, True),
        "regional": (True, False), "outsider": (True, False), "viewer": (False, False)}
    for who, (open_seen, secret_seen) in expected.items():
        switch_user(client, login, w[who])
        timeline = _timeline(_page(client, w))
        assert ("Open verslag: Begin van het verslag." in timeline) is open_seen, who
        assert ("Geheim verslag over de overname." in timeline) is secret_seen, who
        assert ("Vertrouwelijk gesprek" in timeline) is secret_seen, who
        assert "GEHEIM-SLOT" not in timeline, who  # a preview, never the whole note
        if open_seen:
            preview = re.search(r'app-timeline__preview">(Open verslag:[^<]*)<', timeline).group(1)
            assert len(preview) <= 201 and preview.endswith("…")


def test_timeline_filter_by_kind_of_contact_and_period(client, login, w):
    _log(w, type="call", subject="Belletje over personeel", days_ago=2, follow_up="Terugbellen")
    _log(w, type="visit", subject="Bezoek aan de werf", days_ago=40)
    _log(w, type="email", subject="Mail over subsidie", days_ago=100)
    login(w["local"])
    everything = _timeline(_page(client, w))
    assert all(s in everything for s in ("Belletje over personeel", "Bezoek aan de werf",
                                         "Mail over subsidie", "Terugbellen"))
    visits = _timeline(_page(client, w, "?type=visit"))
    assert "Bezoek aan de werf" in visits
    assert "Belletje over personeel" not in visits and "Terugbellen" not in visits
    assert '<option selected value="visit">' in visits or 'value="visit" selected' in visits
    since = (TODAY - dt.timedelta(days=50)).isoformat()
    until = (TODAY - dt.timedelta(days=10)).isoformat()
    period = _timeline(_page(client, w, f"?date_from={since}&date_to={until}"))
    assert "Bezoek aan de werf" in period
    assert "Belletje over personeel" not in period and "Mail over subsidie" not in period
    # A GET form that works without JavaScript; a bad date is a Dutch message, not a 500.
    assert re.search(r'<form method="get" action="/organisations/\d+#tijdlijn"', everything)
    bad = _timeline(_page(client, w, "?date_from=gisteren"))
    assert "Vul een geldige datum in, bijvoorbeeld 6-12-2026." in bad and "Bezoek aan de werf" in bad
    assert "Niets op de tijdlijn dat bij het filter past." in _timeline(
        _page(client, w, "?type=event"))


def test_the_first_twenty_entries_then_more_on_request(client, login, w):
    for i in range(25):
        _log(w, subject=f"Telefoontje {i:02d}", days_ago=i)
    login(w["local"])
    timeline = _timeline(_page(client, w, "?type=call"))
    assert timeline.count('class="app-timeline__item ') == 20
    assert "Telefoontje 19" in timeline and "Telefoontje 20" not in timeline
    more = re.search(r'<a class="utrecht-link" href="([^"]+)">Meer tonen', timeline).group(1)
    assert more == f"/organisations/{w['org'].id}?type=call&more=1#tijdlijn"
    timeline = _timeline(_page(client, w, "?type=call&more=1"))
    assert timeline.count('class="app-timeline__item ') == 25 and "Meer tonen" not in timeline


def test_statement_count_does_not_grow_with_previews(client, login, w, count_queries):
    login(w["strategic"])
    for i in range(2):
        _log(w, subject=f"Gesprek {i}", follow_up=f"Actie {i}")
    _page(client, w)  # warm up
    db.session.expunge_all()  # each measured request starts from an empty session
    with count_queries() as few:
        _page(client, w)
    for i in range(2, 12):
        _log(w, subject=f"Gesprek {i}", confidential=i % 2 == 0, follow_up=f"Actie {i}")
    db.session.expunge_all()
    with count_queries() as many:
        page = _page(client, w)
    assert "Gesprek 11" in page
    grown = collections.Counter(re.sub(r"\s+", " ", x)[:120] for x in many.statements)
    grown.subtract(re.sub(r"\s+", " ", x)[:120] for x in few.statements)
    assert many.count <= few.count, [k for k, v in grown.items() if v > 0]


# ---- the one form ------------------------------------------------------------------------

def test_both_old_addresses_lead_to_the_one_form(client, login, w):
    login(w["local"])
    org_id = w["org"].id
    resp = client.get(f"/interactions/visit?organisation_id={org_id}")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/interactions/new?type=visit&organisation_id={org_id}"
    assert client.get("/interactions/visit").headers["Location"] == "/interactions/new?type=visit"
    for kind in ("visit", "call", "email"):
        resp = client.get(f"/interactions/new?organisation_id={org_id}&type={kind}")
        assert_good_markup(resp)
        form = form_fields(resp, "/interactions/new")
        assert form["type"] == kind
        page = text(resp)
        # Who was present (contacts of the organisation, colleagues) and a follow-up: always.
        assert "Anna Dok, Directeur" in page and "Sanne Strategisch" in page
        assert 'name="contact_ids"' in page and 'name="user_ids"' in page
        assert 'name="follow_ups-0-title"' in page
    assert client.get("/interactions/new?type=onzin").status_code == 200


@pytest.mark.parametrize("address", ["/interactions/new", "/interactions/visit"])
def test_saving_lands_on_the_timeline_with_the_message_there(client, login, w, address):
    login(w["local"])
    resp = client.post(address, data={
        "type": "visit", "date": TODAY.isoformat(),
        "organisation": "Dordtse Dokken B.V. (KvK 74000001)", "subject": "Rondleiding nieuwe hal",
        "notes": "Goed gesprek.", "contact_ids": [str(w["anna"].id)],
        "user_ids": [str(w["strategic"].id)], "follow_ups-0-title": "Offerte sturen",
        "follow_ups-0-assignee_id": str(w["local"].id), "action": "save"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/organisations/{w['org'].id}#tijdlijn"
    interaction = db.session.scalar(sa.select(Interaction))
    assert [c.id for c in interaction.contacts] == [w["anna"].id]
    assert [u.id for u in interaction.users] == [w["strategic"].id]
    assert db.session.scalar(sa.select(Task.title)) == "Offerte sturen"
    page = text(client.get(resp.headers["Location"]))
    timeline = _timeline(page)
    # The message is at the top of the timeline section (where the address lands), once.
    assert "Het contactmoment met Dordtse Dokken B.V. is vastgelegd." in timeline
    assert page.count("Het contactmoment met Dordtse Dokken B.V. is vastgelegd.") == 1
    assert timeline.index("is vastgelegd.") < timeline.index("Rondleiding nieuwe hal")


def test_a_candidate_is_chosen_with_a_button_without_javascript(client, login, w):
    login(w["local"])
    resp = client.post("/interactions/new", data={
        "type": "call", "date": TODAY.isoformat(), "organisation": "Dordtse Dokken",
        "subject": "Even bellen", "action": "save"})
    assert resp.status_code == 422
    page = text(resp)
    assert "Meerdere organisaties passen bij uw invoer" in page
    buttons = re.findall(r'<button type="submit" name="pick_organisation" value="([^"]+)"', page)
    assert buttons == ["Dordtse Dokken B.V. (KvK 74000001)", "Dordtse Dokken Zuid B.V. (KvK 74000002)"]
    resp = client.post("/interactions/new", data={
        "type": "call", "date": TODAY.isoformat(), "organisation": "Dordtse Dokken",
        "subject": "Even bellen", "pick_organisation": buttons[0]})
    assert resp.status_code == 200
    assert input_value(resp, "organisation") == buttons[0]
    assert "Anna Dok, Directeur" in text(resp)  # its contacts, to tick who was there
    assert input_value(resp, "subject") == "Even bellen"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0


def test_viewers_get_neither_the_form_nor_the_old_address(client, login, w):
    login(w["viewer"])
    assert client.get("/interactions/new").status_code == 403
    assert client.get("/interactions/visit").status_code == 403
    assert client.post("/interactions/visit", data={"subject": "x"}).status_code == 403


def test_recent_changes_name_the_parent_and_the_municipality(client, login, make_user, make_org):
    """The page's recent changes read as the user knows the records: the parent organisation
    and the municipality by name, never an internal id or a GM code (issue 14 point 6)."""
    from sdd_crm.organisations.services import update_organisation

    admin = make_user("admin")
    parent = make_org(name="Moederbedrijf Werven Holding", kvk_number="74990001")
    org = make_org(name="Dochter Werf B.V.", kvk_number="74990002", municipality="GM0505")
    update_organisation(org, {"parent_id": parent.id, "municipality": "GM0642"},
                        actor=admin, partial=True)
    db.session.commit()
    login(admin)
    page = re.sub(r"<[^>]+>", " ", text(client.get(f"/organisations/{org.id}")))
    changes = page[page.index("Recente wijzigingen"):]
    assert "Moederbedrijf Werven Holding" in changes
    assert re.search(r"Dordrecht\s*→\s*Zwijndrecht", changes), changes[:600]
    assert f"#{parent.id}" not in changes and "GM0505" not in changes and "GM0642" not in changes
