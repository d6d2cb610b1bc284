"""The organisation timeline: every kind in one list, newest first, filterable by kind, each
kind through its visibility rule, and a fixed number of statements whatever the rows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from html_helpers import switch_user, text
from interaction_helpers import EXPECTED_VISIBLE, build_world
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Task
from sdd_crm.interactions.services import create_interaction, create_task
from sdd_crm.timeline.queries import KINDS, organisation_timeline
from sdd_crm.leads.services import share_lead
from sdd_crm.organisations.services import update_organisation
from sdd_crm.programmes.models import Participation, Programme

AMS = ZoneInfo("Europe/Amsterdam")
TODAY = dt.datetime.now(AMS).date()


def noon(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(12), tzinfo=AMS)


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def scale_name() -> str:
    return db.session.scalar(sa.select(Programme.name).where(Programme.code == "scale"))


def _participation(org, status="interested", days_ago=20):
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    p = Participation(programme_id=scale.id, organisation_id=org.id, status=status,
                      status_changed_at=noon(days_ago))
    db.session.add(p)
    db.session.commit()
    return p


def test_all_kinds_merged_newest_first(world, make_contact):
    w = world
    admin, author = w.users["admin"], w.users["author"]
    org = w.sliedrecht
    recent = create_interaction({"organisation_id": org.id, "type": "call",
                                 "date": TODAY - dt.timedelta(days=1), "subject": "Gisteren gebeld"},
                                actor=author)
    task = create_task({"title": "Offerte sturen", "organisation_id": org.id,
                        "due_date": TODAY + dt.timedelta(days=3)}, actor=author)
    task.created_at = noon(5)
    lead = share_lead({"organisation_id": org.id, "type": "expansion", "title": "Wil uitbreiden",
                       "shared_with": "regional_team"}, actor=author)
    lead.created_at = noon(2)
    _participation(org, days_ago=20)
    update_organisation(org, {"employees": "120"}, actor=admin, partial=True)
    make_contact(org, first_name="Kees", last_name="Visser")
    db.session.commit()

    entries = organisation_timeline(org.id, admin)
    kinds_titles = [(e.kind, e.title) for e in entries]
    # Today: the changes (newest first); then each earlier day.
    assert kinds_titles[:3] == [("change", "Contactpersoon Kees Visser toegevoegd"),
                                ("change", "Organisatie gewijzigd"),
                                ("change", "Organisatie aangemaakt")]
    assert kinds_titles[3:] == [
        ("interaction", "Gisteren gebeld"),
        ("lead", "Wil uitbreiden"),
        ("interaction", "Faillissement dreigt"),  # 3 days ago, confidential: admin sees it
        ("interaction", "Nieuwe kade in gebruik"),
        ("task", "Offerte sturen"),
        ("participation", scale_name()),
    ]
    by_kind = {e.kind: e for e in entries}  # the last (oldest) of each kind
    assert by_kind["change"].fields == () and "Werkzame personen" in entries[1].fields
    assert by_kind["task"].due_date == TODAY + dt.timedelta(days=3)
    assert by_kind["task"].status_label == "Open" and by_kind["task"].actor == "Auke Auteur"
    assert by_kind["lead"].status_label == "Nieuw"
    assert by_kind["participation"].status_label == "Geïnteresseerd"
    days = [e.day for e in entries]
    assert days == sorted(days, reverse=True)
    for kind in KINDS:
        only = organisation_timeline(org.id, admin, kinds=[kind])
        assert only and {e.kind for e in only} == {kind}
    assert recent.id in {e.id for e in entries if e.kind == "interaction"}


def test_each_kind_follows_its_visibility_rule(world):
    w = world
    author = w.users["author"]
    org = w.dordrecht
    secret = w.interactions["dordrecht_secret"]
    create_task({"title": "Overname bespreken met wethouder", "organisation_id": org.id,
                 "interaction_id": secret.id}, actor=author)
    share_lead({"organisation_id": org.id, "type": "relocation", "title": "Verhuist naar Sliedrecht",
                "shared_with_municipality": "GM0610"}, actor=author)
    _participation(org)
    db.session.commit()
    lead_seers = {"admin", "regional_account_manager", "author", "local_sliedrecht"}
    for who, user in w.users.items():
        entries = organisation_timeline(org.id, user)
        titles = {e.title for e in entries}
        sees_secret = "dordrecht_secret" in EXPECTED_VISIBLE[who]
        assert ("Overname door Chinese investeerder" in titles) == sees_secret, who
        assert ("Overname bespreken met wethouder" in titles) == sees_secret, who
        assert ("Verhuist naar Sliedrecht" in titles) == (who in lead_seers), who
        assert scale_name() in titles, who  # participations are not confidential
        assert "Organisatie aangemaakt" in titles, who
    viewer = organisation_timeline(org.id, w.users["viewer"])
    assert {e.kind for e in viewer} == {"participation", "change"}


def test_contact_changes_show_fields_but_never_values_and_not_to_viewers(world, client, login,
                                                                        make_contact):
    contact = make_contact(world.dordrecht, first_name="Anna", last_name="de Vries",
                           email="anna@werf.nl")
    from sdd_crm.contacts.services import update_contact

    update_contact(contact, {"organisation_id": world.dordrecht.id, "last_name": "de Vries",
                             "first_name": "Anna", "email": "anna.devries@werf.nl"},
                   actor=world.users["admin"])
    db.session.commit()
    login(world.users["business_developer"])
    page = text(client.get(f"/organisations/{world.dordrecht.id}?kind=change"))
    assert "Contactpersoon Anna de Vries gewijzigd" in page
    timeline = page.split('id="tijdlijn"')[1].split("</section>")[0]
    assert "E-mailadres" in timeline and "anna.devries@werf.nl" not in timeline
    assert f'href="/contacts/{contact.id}"' in page
    switch_user(client, login, world.users["viewer"])
    page = text(client.get(f"/organisations/{world.dordrecht.id}?kind=change"))
    assert "Organisatie aangemaakt" in page and "Anna de Vries" not in page


def test_kind_filter_links_on_the_organisation_page(world, client, login):
    login(world.users["author"])
    org = world.dordrecht
    _participation(org)
    page = text(client.get(f"/organisations/{org.id}"))
    for kind in KINDS:
        assert f'href="/organisations/{org.id}?kind={kind}#tijdlijn"' in page
    assert "Vacatures lassers besproken" in page and scale_name() in page
    only = text(client.get(f"/organisations/{org.id}?kind=participation"))
    timeline = only.split('id="tijdlijn"')[1].split("</section>")[0]
    assert scale_name() in timeline and "Vacatures lassers besproken" not in timeline
    assert f'href="/organisations/{org.id}?kind=participation#tijdlijn" aria-current="page"' in only
    assert client.get(f"/organisations/{org.id}?kind=onzin").status_code == 200
    timeline = text(client.get(f"/organisations/{org.id}?kind=interaction")).split(
        'id="tijdlijn"')[1]
    assert f'href="/interactions/{world.interactions["dordrecht_public"].id}"' in timeline


def test_statement_count_does_not_grow_with_rows(world, count_queries, client, login):
    org = world.sliedrecht
    org_id, author = org.id, world.users["author"]
    user = world.users["team_member"]
    login(user)

    def add(n):
        for i in range(n):
            create_interaction({"organisation_id": org_id, "type": "call",
                                "date": TODAY - dt.timedelta(days=i), "subject": f"Gesprek {i}",
                                "confidential": i % 2 == 0,
                                "follow_ups": [{"title": f"Actie {i}"}]}, actor=author)
            share_lead({"organisation_id": org_id, "type": "risk", "title": f"Signaal {i}",
                        "shared_with": "regional_team"}, actor=author)
        db.session.commit()

    def measure():
        assert user.role  # loaded outside the count
        with count_queries() as direct:
            entries = organisation_timeline(org_id, user)
        with count_queries() as page:
            assert client.get(f"/organisations/{org_id}").status_code == 200
        return entries, direct.count, page.count

    add(1)  # with the world's two: 3 interactions (2 of them confidential)
    entries, few, page_few = measure()
    # The world's public one; its secret one and the new confidential one stay hidden.
    assert [e.title for e in entries if e.kind == "interaction"] == ["Nieuwe kade in gebruik"]
    add(27)  # 30 interactions, 28 tasks, 28 leads
    entries, many, page_many = measure()
    assert sum(e.kind == "interaction" for e in entries) == 14
    assert few == many == len(KINDS)  # one statement per kind
    assert page_few == page_many


def test_each_kind_is_limited_and_the_merge_keeps_the_newest(world):
    org = world.dordrecht
    author = world.users["author"]
    for i in range(60):
        create_interaction({"organisation_id": org.id, "type": "call",
                            "date": TODAY - dt.timedelta(days=10 + i), "subject": f"Oud {i}"},
                           actor=author)
    db.session.commit()
    entries = organisation_timeline(org.id, world.users["admin"], limit=50)
    assert len(entries) == 50
    titles = [e.title for e in entries]
    # The newest changes: the account-team addition (audited on the organisation), its creation.
    assert titles[0].startswith("teamlid toegevoegd: ") and titles[1] == "Organisatie aangemaakt"
    assert "Vacatures lassers besproken" in titles and "Oud 0" in titles and "Oud 59" not in titles
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0
