"""The export links on the list pages: the current filters without the page number, only for
users allowed to export, and a link a user can follow to the file they expect."""

from __future__ import annotations

import csv
import html
import io
import re

import sqlalchemy as sa
from flask import render_template
from flask_login import login_user

from html_helpers import assert_good_markup
from interaction_helpers import SUBJECTS, build_world
from sdd_crm.extensions import db
from sdd_crm.programmes.models import Programme


def export_links(resp) -> dict[str, str]:
    """Link text → address of the export links on a page."""
    body = resp.get_data(as_text=True)
    return {html.unescape(text): html.unescape(href) for href, text in re.findall(
        r'<a class="utrecht-link" href="([^"]*/imports/export/[^"]*)"[^>]*>([^<]*)</a>', body)}


def test_organisation_list_links_carry_the_filters_but_not_the_page(client, login, make_user,
                                                                    make_org):
    make_org(name="Alfa Werf", city="Dordrecht")
    make_org(name="Alfa Staal", city="Sliedrecht")
    make_org(name="Beta Werf", city="Dordrecht")
    login(make_user("local_account_manager"))
    resp = client.get("/organisations/?q=alfa&municipality=GM0505&type=&page=2")
    assert resp.status_code == 200
    assert export_links(resp) == {
        "Exporteren naar CSV": "/imports/export/organisations.csv?q=alfa&municipality=GM0505",
        "Exporteren naar Excel": "/imports/export/organisations.xlsx?q=alfa&municipality=GM0505",
    }
    body = html.unescape(resp.get_data(as_text=True))
    assert 'aria-describedby="export-hint-organisations"' in body
    assert ('id="export-hint-organisations">Met de huidige filters. Bij meer dan 5.000 rijen '
            'wordt het bestand op de achtergrond gemaakt.') in body
    assert_good_markup(resp)
    # Following the link gives the rows the page shows.
    data = client.get(export_links(resp)["Exporteren naar CSV"]).data.decode("utf-8-sig")
    assert [r[1] for r in csv.reader(io.StringIO(data), delimiter=";")] == ["Naam", "Alfa Werf"]


def test_viewers_see_the_organisation_list_without_export_links(client, login, make_user, make_org):
    make_org(name="Alfa Werf")
    login(make_user("viewer"))
    resp = client.get("/organisations/?q=alfa")
    assert resp.status_code == 200 and "Alfa Werf" in resp.get_data(as_text=True)
    assert export_links(resp) == {}
    assert "Exporteren naar" not in resp.get_data(as_text=True)


def test_contact_list_links_carry_the_search(client, login, make_user, make_org, make_contact):
    org = make_org(name="Delta")
    make_contact(org, last_name="de Vries")
    login(make_user("business_developer"))
    resp = client.get(f"/contacts/?q=vries&organisation_id={org.id}&page=1")
    links = export_links(resp)
    assert links["Exporteren naar Excel"] == (
        f"/imports/export/contacts.xlsx?q=vries&organisation_id={org.id}")
    assert links["Exporteren naar CSV"] == (
        f"/imports/export/contacts.csv?q=vries&organisation_id={org.id}")


def test_interaction_list_links_export_what_the_page_lists(client, login, make_user, make_org):
    world = build_world(make_user, make_org)
    login(world.users["team_member"])
    resp = client.get("/interactions/?organisation=Dordtse&date_from=2000-01-01&page=1")
    page = resp.get_data(as_text=True)
    url = export_links(resp)["Exporteren naar CSV"]
    assert url == "/imports/export/interactions.csv?organisation=Dordtse&date_from=2000-01-01"
    data = client.get(url).data.decode("utf-8-sig")
    exported = {r[3] for r in list(csv.reader(io.StringIO(data), delimiter=";"))[1:]}
    assert exported == {SUBJECTS["dordrecht_public"], SUBJECTS["dordrecht_secret"]}
    assert all(html.escape(s, quote=False) in page for s in exported)  # the same rows as the page


def test_the_participation_links_name_the_programme(app, make_user):
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    for role, expected in (("business_developer", True), ("viewer", False)):
        user = make_user(role)
        with app.test_request_context("/programmes/scale?status=participating&page=3"):
            login_user(user)
            out = render_template("imports/_export_links.html", export_kind="participations",
                                  programme=scale)
        hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', out)]
        assert hrefs == ([
            "/imports/export/participations/scale.csv?status=participating",
            "/imports/export/participations/scale.xlsx?status=participating"] if expected else [])


def test_the_partial_renders_nothing_without_a_kind_or_programme(app, make_user):
    user = make_user("admin")
    with app.test_request_context("/programmes/scale"):
        login_user(user)
        assert render_template("imports/_export_links.html", export_kind="participations").strip() == ""
        assert render_template("imports/_export_links.html", export_kind="leads").strip() == ""


def test_the_audit_log_shows_who_exported_what(client, login, make_user, make_org):
    make_org(name="Alfa Werf")
    admin = make_user("admin", name="Anna Beheer")
    login(admin)
    client.get("/imports/export/organisations.csv?q=alfa")
    page = html.unescape(client.get("/admin/audit").get_data(as_text=True))
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Anna Beheer(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "organisations" in row and "q=alfa" in row
    assert re.search(r"<strong>Aantal rijen</strong>:\s*1\b", row)


def test_the_pipeline_page_links_export_its_filtered_participations(client, login, make_user,
                                                                    make_org):
    from sdd_crm.programmes.services import add_participation

    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    bd = make_user("business_developer")
    add_participation(scale, make_org(name="Werf Noord").id, actor=bd, status="participating")
    add_participation(scale, make_org(name="Bouwbedrijf Zuid").id, actor=bd)
    db.session.commit()
    login(bd)
    resp = client.get("/programmes/scale?status=participating&page=1")
    assert resp.status_code == 200
    links = export_links(resp)
    assert links["Exporteren naar Excel"] == (
        "/imports/export/participations/scale.xlsx?status=participating")
    data = client.get(links["Exporteren naar CSV"]).data.decode("utf-8-sig")
    assert [r[1] for r in csv.reader(io.StringIO(data), delimiter=";")] == [
        "Organisatie", "Werf Noord"]


def test_the_csv_content_type_names_its_charset_once(client, login, make_user, make_org):
    admin = make_user("admin")
    make_org(name="Werf Kop", actor=admin)
    login(admin)
    resp = client.get("/imports/export/organisations.csv")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
