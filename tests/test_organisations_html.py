"""The organisation list and detail pages, and the account team, as a user sees them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from html_helpers import (
    assert_good_markup,
    build_region,
    field_error,
    form_fields,
    switch_user,
    text,
)
from sdd_crm.extensions import db
from sdd_crm.organisations.models import AccountTeamMember, Organisation
from sdd_crm.organisations.services import update_organisation
from sdd_crm.valuechains.models import Cluster, OrganisationCluster


@pytest.fixture
def region(make_user, make_org):
    return build_region(make_user, make_org)


def row_names(resp) -> list[str]:
    """The organisation names in the list's table, top to bottom."""
    body = resp.get_data(as_text=True)
    tbody = body.split('<tbody class="utrecht-table__body">', 1)[1].split("</tbody>", 1)[0] \
        if "<tbody" in body else ""
    return re.findall(r'href="/organisations/\d+">([^<]+)</a>', tbody)


# ---- list ---------------------------------------------------------------------------------

def test_list_shows_columns_with_dutch_labels(client, login, region, make_org):
    make_org(name="Kleine Werf B.V.", city="Papendrecht", employees=12, kvk_number="55556666")
    big = make_org(name="Grote Werf N.V.", city="Zwijndrecht", employees=1250)
    big.is_critical = True
    db.session.commit()
    login(region.users["viewer"])  # viewers may see the list
    resp = client.get("/organisations/")
    assert resp.status_code == 200
    page = text(resp)
    assert "Kleine Werf B.V." in page and "55556666" in page and "Papendrecht" in page
    assert "Klein (< 50)" in page and "Groot (250+)" in page and "Bedrijf" in page
    assert "1.250" in page  # employees in Dutch format
    grote_row = page.split("Grote Werf N.V.")[1].split("</tr>")[0]
    assert "Kritisch" in grote_row and "Zwijndrecht" in grote_row
    assert "Kritisch</span>" not in page.split("Kleine Werf B.V.")[1].split("</tr>")[0]
    assert_good_markup(resp)


@pytest.mark.parametrize("q, expected", [
    ("scheeps", {"Dordtse Scheepswerf B.V."}),       # part of the name, any case
    ("11112222", {"Dordtse Scheepswerf B.V."}),      # the KvK number
    ("1111 2222", {"Dordtse Scheepswerf B.V."}),     # the KvK number as people type it
    ("sliedrecht", {"Sliedrechtse Baggeraars B.V."}),  # the place
    ("100%", set()),                                 # LIKE wildcards are literal
])
def test_search_by_name_kvk_and_place(client, login, region, q, expected):
    login(region.users["regional_account_manager"])
    resp = client.get("/organisations/", query_string={"q": q})
    assert resp.status_code == 200
    assert set(row_names(resp)) == expected
    assert f'value="{q}"' in resp.get_data(as_text=True)  # the search box keeps the query


def test_filters(client, login, region, make_org):
    micro = make_org(name="Micro Installatie", city="Alblasserdam", employees=3,
                     org_type="company", status="inactive")
    school = make_org(name="Da Vinci College", city="Dordrecht", org_type="education",
                      employees=900)
    school.is_critical = True
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.name == "Energietransitie"))
    db.session.add(OrganisationCluster(organisation_id=micro.id, cluster_id=cluster.id,
                                       is_primary=True))
    db.session.commit()
    login(region.users["business_developer"])

    def names(**args):
        resp = client.get("/organisations/", query_string=args)
        assert resp.status_code == 200
        return set(row_names(resp))

    assert names(municipality="GM0482") == {"Micro Installatie"}
    assert names(municipality="GM0505") == {"Dordtse Scheepswerf B.V.", "Da Vinci College"}
    assert names(cluster=str(cluster.id)) == {"Micro Installatie"}
    assert names(type="education") == {"Da Vinci College"}
    assert names(size="micro") == {"Micro Installatie"}
    assert names(critical="1") == {"Da Vinci College"}
    assert "Da Vinci College" not in names(critical="0")
    assert names(status="inactive") == {"Micro Installatie"}
    assert names(municipality="GM0505", type="company") == {"Dordtse Scheepswerf B.V."}
    # Nonsense filter values find nothing rather than failing.
    assert names(cluster="abc", size="reus") == set()


def test_sorting_by_header_links(client, login, region, make_org):
    make_org(name="Aa Werf", city="Zwijndrecht", employees=5)
    make_org(name="Zz Werf", city="Alblasserdam", employees=500)
    login(region.users["admin"])
    by_name = row_names(client.get("/organisations/"))
    assert by_name == sorted(by_name)
    resp = client.get("/organisations/?sort=name")
    body = resp.get_data(as_text=True)
    # The sorted column says so, and its header link reverses the order.
    assert 'aria-sort="ascending"' in body and 'href="/organisations/?sort=-name"' in body
    assert row_names(client.get("/organisations/?sort=-name")) == list(reversed(by_name))
    assert row_names(client.get("/organisations/?sort=employees"))[0] == "Zz Werf"
    assert row_names(client.get("/organisations/?sort=city"))[0] == "Zz Werf"  # Alblasserdam
    update_organisation(db.session.get(Organisation, region.sliedrecht.id), {"employees": 7},
                        actor=region.users["admin"], partial=True)
    db.session.commit()
    assert row_names(client.get("/organisations/?sort=updated"))[0] == "Sliedrechtse Baggeraars B.V."


def test_pagination_keeps_filters_and_sort(app, client, login, region, make_org, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n in range(4):
        make_org(name=f"Dordtse Firma {n}", city="Dordrecht")
    make_org(name="Papendrechtse Firma", city="Papendrecht")
    login(region.users["admin"])
    args = {"q": "firma", "municipality": "GM0505", "sort": "-name"}
    first = client.get("/organisations/", query_string=args)
    assert row_names(first) == ["Dordtse Firma 3", "Dordtse Firma 2"]
    body = first.get_data(as_text=True)
    next_link = re.search(r'<a [^>]*rel="next" href="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert "q=firma" in next_link and "municipality=GM0505" in next_link
    assert "sort=-name" in next_link and "page=2" in next_link
    assert 'rel="prev"' not in body
    # Header sort links keep the filters too.
    assert re.search(r'href="/organisations/\?[^"]*q=firma[^"]*municipality=GM0505[^"]*sort=city"',
                     body)
    second = client.get(next_link)
    assert row_names(second) == ["Dordtse Firma 1", "Dordtse Firma 0"]
    assert 'rel="prev"' in second.get_data(as_text=True)
    third = client.get(next_link.replace("page=2", "page=3"))
    assert row_names(third) == [] and 'rel="next"' not in third.get_data(as_text=True)
    assert client.get("/organisations/?page=abc").status_code == 200


def test_list_query_count_does_not_grow_with_rows(client, login, make_user, make_org,
                                                  count_queries):
    admin = make_user("admin")
    other = make_user("local_account_manager", municipality="GM0505")
    places = ["Dordrecht", "Sliedrecht", "Papendrecht", "Heerjansdam", "Gorinchem"]

    def add(n):
        for i in range(n):
            org = make_org(actor=admin, name=f"Firma {i:03d}-{n}", city=places[i % 5],
                           employees=i * 7, sbi_codes="3011, 28.22", tags="haven, scale",
                           establishment_number=f"{i:06d}{n:06d}")
            db.session.add(AccountTeamMember(organisation_id=org.id, user_id=other.id,
                                             team_role="local"))
            org.is_critical = i % 3 == 0
        db.session.commit()

    login(other)
    add(5)
    with count_queries() as few:
        resp = client.get("/organisations/?sort=name")
    assert len(row_names(resp)) == 5
    add(35)
    with count_queries() as many:
        resp = client.get("/organisations/?sort=name")
    assert len(row_names(resp)) == 40
    assert few.count == many.count, many.statements
    # The list's total (issue 14 point 2) is counted, but bounded: never a COUNT(*) of the
    # whole table — the rows are counted up to a cap in a LIMIT subquery.
    counts = [s for s in many.statements if "count(" in s.lower()]
    assert counts and all("limit" in s.lower() for s in counts), counts
    assert "40 organisaties" in text(resp)


# ---- detail -------------------------------------------------------------------------------

def test_detail_shows_all_fields_in_dutch_format(client, login, region, make_org, make_contact):
    group = make_org(name="Damen Groep", city="Gorinchem")
    org = make_org(name="Werf Dordrecht B.V.", kvk_number="87654321", legal_form="B.V.",
                   employees=1250, annual_turnover_eur="1250000,50", balance_sheet_total_eur="900000",
                   sbi_codes="3011, 28.22", tags="scale, haven", street="Wijnstraat 1",
                   postcode="3311ab", city="Dordrecht", phone="078-1234567",
                   email="info@werf.nl", website="werf.nl", parent_id=group.id,
                   establishment_number="000012345678", description="Bouwt schepen.")
    make_contact(org, first_name="Anna", last_name="de Vries", function="Directeur")
    login(region.users["regional_account_manager"])
    resp = client.get(f"/organisations/{org.id}")
    assert resp.status_code == 200
    page = text(resp)
    for expected in ("Werf Dordrecht B.V.", "87654321", "1.250", "1.250.000,50", "900.000,00",
                     "3311 AB", "+31781234567", "info@werf.nl", "https://werf.nl", "Bouwt schepen.",
                     "Groot (250+)", "000012345678", "hoofdvestiging", "scale", "haven",
                     "Anna de Vries", "Directeur"):
        assert expected in page, expected
    assert re.search(r"3011\s*<span[^>]*>SBI 2008, hoofdactiviteit", page)
    assert re.search(r"28\.22\s*<span[^>]*>SBI 2025<", page)
    assert f'href="/organisations/{group.id}">Damen Groep' in page
    assert f'href="/contacts/new?organisation_id={org.id}"' in page
    assert_good_markup(resp)
    # The parent lists its subsidiary.
    assert "Werf Dordrecht B.V." in text(client.get(f"/organisations/{group.id}"))


def test_viewer_sees_detail_without_contacts_or_edit_buttons(client, login, region, make_contact):
    make_contact(region.dordrecht, first_name="Piet", last_name="Geheim", email="piet@example.nl")
    login(region.users["viewer"])
    resp = client.get(f"/organisations/{region.dordrecht.id}")
    assert resp.status_code == 200
    page = text(resp)
    assert "Dordtse Scheepswerf B.V." in page
    assert "Geheim" not in page and "piet@example.nl" not in page
    assert "Contactpersonen</h2>" not in page
    assert "/edit" not in page and "/delete" not in page and "Teamlid toevoegen" not in page


def test_detail_lists_recent_changes_newest_first(client, login, region):
    org_id = region.dordrecht.id
    login(region.users["regional_account_manager"])
    for changes in ({"name": "Eerste Naam B.V."}, {"name": "Tweede Naam B.V.", "employees": "40"}):
        data = form_fields(client.get(f"/organisations/{org_id}/edit"), "/edit")
        assert client.post(f"/organisations/{org_id}/edit", data={**data, **changes}).status_code == 302
    page = text(client.get(f"/organisations/{org_id}"))
    changes = page.split("Recente wijzigingen", 1)[1]
    newest = changes.index("Naam: Eerste Naam B.V. → Tweede Naam B.V.")
    older = changes.index("Naam: Dordtse Scheepswerf B.V. → Eerste Naam B.V.")
    created = changes.index("aangemaakt")
    assert newest < older < created
    assert "Werkzame personen: — → 40" in changes
    assert "Grootteklasse: Onbekend → Klein (< 50)" in changes  # codes shown as Dutch labels
    assert region.users["regional_account_manager"].name in changes  # who made the change


def test_missing_and_deleted_organisations_are_404(client, login, region):
    login(region.users["admin"])
    assert client.get("/organisations/999999").status_code == 404
    client.post(f"/organisations/{region.sliedrecht.id}/delete",
                data={"version": str(region.sliedrecht.version)})
    resp = client.get(f"/organisations/{region.sliedrecht.id}")
    assert resp.status_code == 404 and "bestaat niet" in text(resp)


# ---- account team -------------------------------------------------------------------------

def team_of(org_id):
    db.session.expire_all()
    return {(m.user.name, m.team_role) for m in db.session.scalars(
        sa.select(AccountTeamMember).where(AccountTeamMember.organisation_id == org_id))}


def test_account_team_add_replace_and_remove(client, login, region, make_user):
    org_id = region.dordrecht.id
    regional = region.users["regional_account_manager"]
    local = region.users["local_account_manager"]
    second_regional = make_user("regional_account_manager", name="Tweede Regio")
    login(region.users["admin"])
    r = client.post(f"/organisations/{org_id}/team", data={"user_id": regional.id,
                                                           "team_role": "strategic"})
    assert r.status_code == 302
    client.post(f"/organisations/{org_id}/team", data={"user_id": local.id, "team_role": "local"})
    assert team_of(org_id) == {(regional.name, "strategic"), (local.name, "local")}
    page = text(client.get(f"/organisations/{org_id}"))
    team_section = page.split('id="accountteam"', 1)[1].split("</section>", 1)[0]
    assert regional.name in team_section and "Strategisch accountmanager" in team_section
    # A new strategic manager takes over; the previous one stays in the team as a local member.
    client.post(f"/organisations/{org_id}/team", data={"user_id": second_regional.id,
                                                       "team_role": "strategic"})
    assert team_of(org_id) == {("Tweede Regio", "strategic"), (local.name, "local"),
                               (regional.name, "local")}
    member = db.session.scalar(sa.select(AccountTeamMember).where(
        AccountTeamMember.organisation_id == org_id, AccountTeamMember.user_id == local.id))
    r = client.post(f"/organisations/{org_id}/team/{member.id}/remove")
    assert r.status_code == 302
    assert team_of(org_id) == {("Tweede Regio", "strategic"), (regional.name, "local")}
    assert client.post(f"/organisations/{org_id}/team/{member.id}/remove").status_code == 404


@pytest.mark.parametrize("data, field, message", [
    ({"user_id": "", "team_role": "local"}, "user_id", "Kies een accountmanager."),
    ({"user_id": "999999", "team_role": "local"}, "user_id", "Kies een accountmanager."),
    ({"user_id": "LOCAL", "team_role": "strategic"}, "user_id",
     "De strategisch accountmanager is een regionaal accountmanager."),
    ({"user_id": "LOCAL", "team_role": "baas"}, "team_role", "Kies een geldige rol in het accountteam."),
])
def test_account_team_bad_input(client, login, region, data, field, message):
    org_id = region.dordrecht.id
    if data["user_id"] == "LOCAL":
        data = {**data, "user_id": str(region.users["local_account_manager"].id)}
    login(region.users["admin"])  # only admins and the strategic manager change the team
    resp = client.post(f"/organisations/{org_id}/team", data=data)
    assert resp.status_code == 422
    assert field_error(resp, field) == message
    assert team_of(org_id) == set()


def test_local_manager_in_account_team_may_edit_other_municipality(client, login, region):
    local = region.users["local_account_manager"]
    s = region.sliedrecht
    login(local)
    assert client.get(f"/organisations/{s.id}/edit").status_code == 403
    switch_user(client, login, region.users["admin"])
    client.post(f"/organisations/{s.id}/team", data={"user_id": local.id, "team_role": "local"})
    switch_user(client, login, local)
    assert client.get(f"/organisations/{s.id}/edit").status_code == 200
    data = {"name": "Sliedrechtse Baggeraars Groep B.V.", "org_type": "company",
            "city": "Sliedrecht", "kvk_number": "33334444", "status": "active",
            "version": str(s.version)}
    assert client.post(f"/organisations/{s.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, s.id)
    assert org.name == "Sliedrechtse Baggeraars Groep B.V." and org.municipality_code == "GM0610"
