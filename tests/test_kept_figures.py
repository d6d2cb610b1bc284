"""Issue 14, point 1: every kept figure is right whatever wrote the rows.

Two figures are kept rather than computed per page: an organisation's date of last contact
(``last_contact_on``, the date of its latest live contact moment) and its criticality (the
stored assessments, ``is_critical`` and ``criticality_score``). One test per writer — import,
merge, the API, delete, restore (the bin, the API and ``flask backup restore``); the demo seed's
is in tests/test_seed.py — each failing when that writer leaves a figure wrong.

"Right" is checked against the data, not against a number written in the test:
:func:`assert_last_contact_right` recomputes every organisation's date from its contact moments,
and :func:`assert_criticality_current` runs the recompute once more (rolled back) and requires
that it would change nothing, and that the pages would call the figures current.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from criticality_support import flags, link, make_chain, recompute
from import_support import KVK_HEADERS, csv_bytes, kvk_row, org_by_kvk, run_import

from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction
from sdd_crm.interactions.services import create_interaction, delete_interaction
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import delete_organisation, restore_organisation
from sdd_crm.valuechains.criticality_store import run_assessment
from sdd_crm.valuechains.models import SupplyLink
from sdd_crm.valuechains.network_services import delete_supply_link
from sdd_crm.valuechains.recompute import figures_state

API = "/api/v1"
MARCH, APRIL, MAY = dt.date(2026, 3, 2), dt.date(2026, 4, 14), dt.date(2026, 5, 20)


# --- what "right" means -----------------------------------------------------------------------

def assert_last_contact_right() -> None:
    """Every organisation's kept date is its latest live contact moment's (None without one)."""
    db.session.expire_all()
    latest = dict(db.session.execute(
        sa.select(Interaction.organisation_id, sa.func.max(Interaction.date))
        .where(Interaction.deleted_at.is_(None)).group_by(Interaction.organisation_id)).all())
    kept = dict(db.session.execute(sa.select(Organisation.id, Organisation.last_contact_on)).all())
    wrong = {org_id: (day, latest.get(org_id)) for org_id, day in kept.items()
             if day != latest.get(org_id)}
    assert not wrong, f"kept last contact differs from the contact moments: {wrong}"


def assert_criticality_current() -> None:
    """A recompute of the data as they are now would change nothing, and the pages say so."""
    db.session.expire_all()
    state = figures_state()
    assert state.current, state
    savepoint = db.session.begin_nested()
    try:
        summary = run_assessment()
    finally:
        savepoint.rollback()
    db.session.expire_all()
    assert (summary["new_assessments"], summary["updated_organisations"]) == (0, 0), summary


# --- a small network of our own (KvK 71xxxxxx) --------------------------------------------------

@dataclass
class Net:
    admin: object
    chain: object
    supplier: Organisation
    customers: list[Organisation]


@pytest.fixture
def net(make_user, make_org):
    admin = make_user("admin")
    chain = make_chain("Signaalketen Kept")
    supplier = make_org(admin, name="Kept Leverancier A", kvk_number="71000001", employees=20)
    customers = [make_org(admin, name=f"Kept Afnemer A{i}", kvk_number=f"7100001{i}",
                          employees=20) for i in range(3)]
    for customer in customers:
        link(supplier, customer, chain)  # not sole source: nobody is critical yet
    db.session.commit()
    recompute()
    assert flags(supplier) == [(False, flags(supplier)[0][1])] and not flags(supplier)[0][0]
    return Net(admin, chain, supplier, customers)


def log(org, day: dt.date, actor) -> Interaction:
    interaction = create_interaction({"organisation_id": org.id, "type": "visit",
                                      "date": day.isoformat(), "subject": "Bedrijfsbezoek"},
                                     actor=actor)
    db.session.commit()
    return interaction


def live(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


# --- the writers --------------------------------------------------------------------------------

def test_an_import_keeps_the_last_contact_and_recomputes_criticality(net):
    log(net.supplier, APRIL, net.admin)
    rows = [kvk_row("Kept Leverancier A", "71000001", employees="6000"),  # a dominant employer
            kvk_row("Kept Nieuwkomer A", "71000099", employees="40")]
    summary = run_import(csv_bytes(KVK_HEADERS, rows, delimiter=";"), "kept.csv", actor=net.admin)
    assert (summary["created"], summary["updated"]) == (1, 1), summary
    assert org_by_kvk("71000001").last_contact_on == APRIL  # the import's UPDATE left it alone
    assert org_by_kvk("71000099").last_contact_on is None
    assert_last_contact_right()
    assert flags(net.supplier)[0][0] is True  # recomputed after the import's commit, by itself
    assert_criticality_current()


def test_a_merge_gives_the_survivor_the_latest_contact_and_the_merged_links(net, make_org):
    survivor = net.customers[0]
    log(survivor, MARCH, net.admin)
    duplicate = make_org(net.admin, name="Kept Afnemer A0 (dubbel)", employees=20)
    log(duplicate, MAY, net.admin)
    extra = [make_org(net.admin, name=f"Kept Afnemer B{i}", employees=20) for i in range(2)]
    for customer in [*net.customers[1:], *extra]:  # the only supplier of four customers
        link(duplicate, customer, net.chain, sole=True)
    db.session.commit()
    recompute()
    assert flags(duplicate)[0][0] is True and flags(survivor)[0][0] is False

    merge_organisations(live(Organisation, survivor.id), live(Organisation, duplicate.id),
                        actor=net.admin)
    db.session.commit()
    assert live(Organisation, survivor.id).last_contact_on == MAY  # the latest of both
    assert live(Organisation, duplicate.id).last_contact_on is None  # it has none left
    assert_last_contact_right()
    # The survivor is now the sole supplier the duplicate was: recomputed after the merge.
    assert flags(survivor)[0][0] is True and flags(duplicate)[0][0] is False
    assert_criticality_current()


def test_the_api_keeps_both_figures(net, client, api_headers):
    headers = api_headers(net.admin)
    org = net.customers[1]

    def post(day):
        resp = client.post(f"{API}/interactions", headers=headers, json={
            "organisation_id": org.id, "type": "call", "date": day.isoformat(),
            "subject": "Telefoongesprek"})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    first, second = post(MARCH), post(MAY)
    assert live(Organisation, org.id).last_contact_on == MAY
    resp = client.patch(f"{API}/interactions/{second['id']}", headers=headers,
                        json={"version": second["version"], "date": "2026-01-15"})
    assert resp.status_code == 200, resp.get_json()
    assert live(Organisation, org.id).last_contact_on == MARCH  # the edit moved it back
    resp = client.delete(f"{API}/interactions/{first['id']}?version={first['version']}",
                         headers=headers)
    assert resp.status_code == 204
    assert live(Organisation, org.id).last_contact_on == dt.date(2026, 1, 15)
    assert_last_contact_right()

    # Sole-source links over the API make the supplier critical, without anyone recomputing.
    for customer in net.customers:
        existing = db.session.scalar(sa.select(SupplyLink).where(
            SupplyLink.supplier_id == net.supplier.id, SupplyLink.customer_id == customer.id))
        resp = client.patch(f"{API}/supply-links/{existing.id}", headers=headers,
                            json={"version": existing.version, "sole_source": True})
        assert resp.status_code == 200, resp.get_json()
    assert flags(net.supplier)[0][0] is True
    assert_criticality_current()
    # And an employment figure over the API.
    big = live(Organisation, net.customers[2].id)
    resp = client.patch(f"{API}/organisations/{big.id}", headers=headers,
                        json={"version": big.version, "employees": 9000})
    assert resp.status_code == 200, resp.get_json()
    assert flags(big)[0][0] is True
    assert_criticality_current()


def test_deleting_recomputes_both_figures_from_what_is_left(net):
    org = net.customers[2]
    older, newer = log(org, MARCH, net.admin), log(org, MAY, net.admin)
    delete_interaction(live(Interaction, newer.id), actor=net.admin)
    db.session.commit()
    assert live(Organisation, org.id).last_contact_on == MARCH
    delete_interaction(live(Interaction, older.id), actor=net.admin)
    db.session.commit()
    assert live(Organisation, org.id).last_contact_on is None  # no contact moment left
    assert_last_contact_right()

    for row in db.session.scalars(sa.select(SupplyLink).where(
            SupplyLink.supplier_id == net.supplier.id)):
        row.sole_source = True
    db.session.commit()
    recompute()
    assert flags(net.supplier)[0][0] is True
    delete_organisation(live(Organisation, net.supplier.id), actor=net.admin)
    db.session.commit()
    assert flags(net.supplier) == [(False, None)]  # outside the network once deleted
    assert_criticality_current()
    restore_organisation(live(Organisation, net.supplier.id), actor=net.admin)
    db.session.commit()
    assert flags(net.supplier)[0][0] is True
    assert_criticality_current()


def test_restoring_from_the_bin_brings_both_figures_back(net, client, login, api_headers):
    org = net.customers[0]
    log(org, MARCH, net.admin)
    newer = log(org, MAY, net.admin)
    delete_interaction(live(Interaction, newer.id), actor=net.admin)
    db.session.commit()
    assert live(Organisation, org.id).last_contact_on == MARCH
    login(net.admin)
    resp = client.post(f"/admin/deleted/interactions/{newer.id}/restore")
    assert resp.status_code == 302
    assert live(Organisation, org.id).last_contact_on == MAY
    assert_last_contact_right()

    links = list(db.session.scalars(sa.select(SupplyLink).where(
        SupplyLink.supplier_id == net.supplier.id).order_by(SupplyLink.id)))
    for row in links:
        row.sole_source = True
    db.session.commit()
    recompute()
    assert flags(net.supplier)[0][0] is True
    for row in links:
        delete_supply_link(live(SupplyLink, row.id), actor=net.admin)
    db.session.commit()
    assert flags(net.supplier)[0][0] is False
    headers = api_headers(net.admin)
    for row in links:
        resp = client.post(f"{API}/supply-links/{row.id}/restore", headers=headers)
        assert resp.status_code in (200, 204), resp.get_data(as_text=True)
    assert flags(net.supplier)[0][0] is True
    assert_criticality_current()


# --- flask backup restore -------------------------------------------------------------------

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_backup_restore_keeps_both_figures(kind, app, tmp_path):
    """``backup restore`` copies the database whole: the kept figures, and the record of how
    current the criticality is, come back as they were — and still agree with the data."""
    from flask_migrate import upgrade
    from test_backup import app_on, database, invoke

    from sdd_crm.auth.services import create_user
    from sdd_crm.organisations.services import create_organisation
    from sdd_crm.reference.services import seed_reference
    from sdd_crm.valuechains.jobs import create_job, run_job

    def figures():
        return sorted(db.session.execute(sa.select(
            Organisation.kvk_number, Organisation.last_contact_on, Organisation.is_critical,
            Organisation.criticality_score).where(Organisation.kvk_number.like("7100%"))).all())

    file = tmp_path / "kept.backup"
    with database(kind, tmp_path, "kept_src") as source_url, app_on(source_url) as source:
        upgrade()
        seed_reference()
        admin = create_user(email="kept-backup@example.nl", name="Kept Beheer", role="admin",
                            password="correct horse battery staple")
        db.session.flush()
        chain = make_chain("Signaalketen Backup")
        supplier = create_organisation({"name": "Kept Backup Leverancier", "org_type": "company",
                                        "kvk_number": "71000501", "city": "Dordrecht",
                                        "employees": 30}, actor=admin)
        for i in range(3):
            customer = create_organisation({"name": f"Kept Backup Afnemer {i}",
                                            "org_type": "company", "kvk_number": f"7100051{i}",
                                            "city": "Zwijndrecht", "employees": 25}, actor=admin)
            link(supplier, customer, chain, sole=True)
            create_interaction({"organisation_id": customer.id, "type": "visit",
                                "date": (MARCH + dt.timedelta(days=i)).isoformat(),
                                "subject": "Bezoek"}, actor=admin)
        db.session.commit()
        job_id = create_job(trigger="cli").id
        db.session.commit()
        run_job(job_id)
        before = figures()
        assert_last_contact_right()
        assert figures_state().current
        db.session.remove()
        assert invoke(source, "create", file).exit_code == 0
    assert any(critical for _kvk, _day, critical, _score in before)

    with database(kind, tmp_path, "kept_dst") as target_url, app_on(target_url) as target:
        result = invoke(target, "restore", file)
        assert result.exit_code == 0, result.output
        assert figures() == before
        assert_last_contact_right()
        assert_criticality_current()
