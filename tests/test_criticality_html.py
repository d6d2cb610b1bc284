"""Browser screens: the criticality settings (admins), an organisation's criticality with its
history and the manual flag, and the recompute button."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from criticality_support import flags, link, make_chain, recompute
from html_helpers import text
from sdd_crm.settings import Setting
from sdd_crm.extensions import db
from sdd_crm.jobs.models import Job
from sdd_crm.organisations.models import Organisation


@pytest.fixture
def hub(make_org):
    a, b = make_chain("Scheepsbouw"), make_chain("Offshore")
    hub = make_org(name="Dordtse Werf B.V.")
    for i in range(3):
        link(hub, make_org(name=f"Klant {i}"), a, sole=True)
    link(hub, make_org(name="Klant B"), b)
    db.session.commit()
    return hub


def test_only_admins_reach_the_settings_page(client, login, make_user):
    assert client.get("/chains/criticality/settings").status_code == 302  # to the login page
    for role in ("regional_account_manager", "local_account_manager", "viewer"):
        client.post("/logout")
        login(make_user(role))
        assert client.get("/chains/criticality/settings").status_code == 403
        assert client.post("/chains/criticality/settings", data={"threshold": "1"}).status_code == 403
    client.post("/logout")
    login(make_user("admin"))
    page = text(client.get("/chains/criticality/settings"))
    values = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page))
    assert {k: values[k] for k in ("employment", "sole_source", "bridging", "breadth", "threshold")} == {
        "employment": "1", "sole_source": "1", "bridging": "1", "breadth": "0,5", "threshold": "0,8"}
    assert re.search(r'<input[^>]*aria-required="true"[^>]*name="threshold"', page)
    assert "2% of meer van de werkgelegenheid" in page
    assert "Er is nog geen herberekening geweest." in page


def test_saving_settings_keeps_bad_input_with_dutch_messages_and_saves_good_input(client, login, make_user, hub):
    login(make_user("admin"))
    bad = {"employment": "7", "sole_source": "1", "bridging": "veel", "breadth": "0,5",
           "threshold": "0,8"}
    resp = client.post("/chains/criticality/settings", data=bad)
    assert resp.status_code == 422
    page = text(resp)
    assert "Het formulier is niet opgeslagen." in page
    # Next to each of the two fields and, linked to them, in the error summary at the top.
    assert page.count("Vul een gewicht tussen 0 en 5 in.") == 4
    assert page.count("Vul een gewicht tussen 0 en 5 in.</a>") == 2
    assert 'value="veel"' in page and 'value="7"' in page  # the form keeps what was typed
    assert db.session.get(Setting, "criticality") is None

    good = {"employment": "1", "sole_source": "0,5", "bridging": "1", "breadth": "0,5",
            "threshold": "0,9", "version": ""}
    resp = client.post("/chains/criticality/settings", data=good)
    assert resp.status_code == 302
    assert db.session.get(Setting, "criticality").value["weights"]["sole_source"] == 0.5
    page = text(client.get(resp.headers["Location"]))
    assert "De instellingen zijn opgeslagen" in page
    assert 'value="0,5"' in page and "klaar" in page  # the recompute ran after saving
    # 3 sole-source customers at half weight 0.5, 2 chains 0.25, bridging 0.06: under 0.9
    assert flags(hub) == [(False, 0.81)]


def test_a_stale_settings_form_is_refused_with_a_conflict(client, login, make_user):
    admin = make_user("admin")
    login(admin)
    data = {"employment": "1", "sole_source": "1", "bridging": "1", "breadth": "0,5", "threshold": "0,8"}
    assert client.post("/chains/criticality/settings", data={**data, "version": ""}).status_code == 302
    version = db.session.get(Setting, "criticality").version
    assert client.post("/chains/criticality/settings",
                       data={**data, "threshold": "0,9", "version": version}).status_code == 302
    resp = client.post("/chains/criticality/settings", data={**data, "threshold": "2", "version": version})
    assert resp.status_code == 409
    assert "Iemand anders heeft de instellingen intussen gewijzigd." in text(resp)
    db.session.expire_all()
    assert db.session.get(Setting, "criticality").value["threshold"] == 0.9
    # A form loaded before anyone saved settings is stale too once someone has.
    resp = client.post("/chains/criticality/settings", data={**data, "version": ""})
    assert resp.status_code == 409


def test_the_organisation_page_says_why_and_keeps_the_history(client, login, make_user, hub):
    recompute()
    login(make_user("viewer"))
    page = text(client.get(f"/chains/criticality/{hub.id}"))
    assert "Kritikaliteit van Dordtse Werf B.V." in page
    assert "Enige leverancier van 3 afnemers" in page
    assert "Actief in 2 waardeketens" in page
    assert "Ligt op de kortste verbinding tussen ongeveer 6 paren organisaties" in page
    assert re.search(r"kritisch: score 1,31, drempel 0,8", page)
    assert "Handmatig markeren" not in page  # viewers read, they do not flag
    assert client.post(f"/chains/criticality/{hub.id}/flag",
                       data={"critical": "1", "reason": "x"}).status_code == 403
    assert client.get("/chains/criticality/999999").status_code == 404
    history_rows = re.findall(r"<tr class=\"utrecht-table__row\">\s*<td", page)
    assert len(history_rows) == 1


def test_a_regional_manager_flags_by_hand_and_both_results_show(client, login, make_user, hub):
    recompute()
    login(make_user("regional_account_manager"))
    url = f"/chains/criticality/{hub.id}/flag"
    version = db.session.get(Organisation, hub.id).version
    resp = client.post(url, data={"critical": "0", "reason": "", "version": version})
    assert resp.status_code == 422
    assert "Geef een reden voor de handmatige markering." in text(resp)
    assert db.session.get(Organisation, hub.id).manual_critical is None

    resp = client.post(url, data={"critical": "0", "reason": "Verhuist naar Rotterdam.", "version": version})
    assert resp.status_code == 302
    page = text(client.get(resp.headers["Location"]))
    assert "De handmatige markering is opgeslagen." in page
    assert "niet kritisch — reden:" in page and "Verhuist naar Rotterdam." in page
    assert "kritisch: score 1,31, drempel 0,8" in page  # the computed result stays visible
    assert flags(hub) == [(False, 1.31)]

    stale = client.post(url, data={"critical": "1", "reason": "Toch wel", "version": version})
    assert stale.status_code == 409
    assert "Toch wel" in text(stale)
    new_version = db.session.get(Organisation, hub.id).version
    resp = client.post(url, data={"critical": "", "reason": "", "version": new_version})
    assert resp.status_code == 302
    assert "de berekening telt weer" in text(client.get(resp.headers["Location"]))
    assert flags(hub) == [(True, 1.31)]


def test_the_recompute_button_for_admins_and_regional_managers(client, login, make_user, hub):
    login(make_user("local_account_manager"))
    assert client.post("/chains/criticality/recompute").status_code == 403
    client.post("/logout")
    manager = make_user("regional_account_manager")
    login(manager)
    resp = client.post("/chains/criticality/recompute", data={"next": f"/chains/criticality/{hub.id}"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/chains/criticality/{hub.id}")
    job = db.session.scalar(sa.select(Job).order_by(Job.created_at.desc()).limit(1))
    assert (job.status, job.created_by_id, job.params["trigger"]) == ("finished", manager.id, "web")
    assert flags(hub) == [(True, 1.31)]
    resp = client.post("/chains/criticality/recompute", data={"next": "https://elders.example/"})
    assert not resp.headers["Location"].startswith("https://elders")


def test_each_factor_is_explained_in_plain_dutch():
    from sdd_crm.valuechains.admin_views import describe

    chains = {7: "Scheepsbouw", 8: "Offshore"}
    assert [describe(f, chains) for f in [
        {"name": "employment", "value": 0.0312, "regional": True},
        {"name": "employment", "value": 0.0, "regional": False},
        {"name": "sole_source", "value": 1}, {"name": "sole_source", "value": 4},
        {"name": "sole_source", "value": 0},
        {"name": "bridging", "value": 12.5, "separates_chains": [7, 8]},
        {"name": "bridging", "value": 1234.4, "separates_chains": None},
        {"name": "bridging", "value": 0.0},
        {"name": "breadth", "value": 1}, {"name": "breadth", "value": 0},
    ]] == [
        "3,12% van de regionale werkgelegenheid in de vastgelegde bedrijven",
        "Telt niet mee: geen bedrijf in een van de Drechtstedengemeenten",
        "Enige leverancier van 1 afnemer", "Enige leverancier van 4 afnemers",
        "Geen afnemer heeft alleen deze organisatie als leverancier",
        "De enige verbinding tussen de ketens Scheepsbouw en Offshore",
        "Ligt op de kortste verbinding tussen ongeveer 1.234 paren organisaties",
        "Ligt niet tussen andere organisaties in het leveringsnetwerk",
        "Actief in 1 waardeketen", "Heeft geen rol of levering in een waardeketen",
    ]
