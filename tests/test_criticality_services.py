"""Criticality with the database: what a recompute stores, history, manual flag, settings."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from criticality_support import flags, history, link, make_chain, recompute
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.jobs.models import Job
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import delete_organisation
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.exceptions import ConflictError, ValidationError
from sdd_crm.valuechains import criticality_services as services
from sdd_crm.valuechains.models import CriticalityAssessment


@pytest.fixture
def hub_network(make_org):
    """Hub is the sole-source supplier of four customers in one chain (score 1.06)."""
    chain = make_chain("Scheepsbouw")
    hub = make_org(name="Werf Hub B.V.")
    customers = [make_org(name=f"Afnemer {i}") for i in range(4)]
    for c in customers:
        link(hub, c, chain, sole=True)
    db.session.commit()
    return chain, hub, customers


def test_a_recompute_stores_the_factors_and_sets_the_flags(hub_network, client, make_user, api_headers):
    _chain, hub, customers = hub_network
    summary = recompute()
    assert flags(hub, *customers) == [(True, 1.06)] + [(False, None)] * 4
    [row] = history(hub)
    assert (row.score, row.threshold, row.critical) == (1.06, 0.8, True)
    assert row.job_id is not None and db.session.get(Job, row.job_id).status == "finished"
    assert [(f["name"], f["value"], f["weight"], f["contribution"]) for f in row.factors] == [
        ("employment", 0.0, 1.0, 0.0), ("sole_source", 4, 1.0, 1.0),
        ("bridging", 6.0, 1.0, 0.06), ("breadth", 1, 0.5, 0.0)]
    assert history(customers[0]) == []  # nothing plays: no assessment to explain
    assert summary["critical"] == 1 and summary["new_assessments"] == 1
    assert set(summary["seconds"]) == {"loading", "graph", "factors", "storing"}

    body = client.get(f"/api/v1/organisations/{hub.id}", headers=api_headers(make_user("viewer"))).get_json()
    assert body["critical"] is True
    assert body["criticality"]["score"] == 1.06
    assert body["criticality"]["flag_source"] == "computed"
    assert body["criticality"]["factors"][1] == {"name": "sole_source", "value": 4, "weight": 1.0,
                                                 "contribution": 1.0}


def test_history_grows_when_a_result_changes_and_not_otherwise(hub_network, make_org):
    chain, hub, _customers = hub_network
    recompute()
    again = recompute()
    assert again["new_assessments"] == 0 and again["updated_organisations"] == 0
    assert len(history(hub)) == 1

    link(hub, make_org(name="Afnemer 5"), chain, sole=True)
    db.session.commit()
    third = recompute()
    rows = history(hub)
    assert len(rows) == 2 and third["new_assessments"] == 1
    assert rows[-1].factors[1]["value"] == 5 and rows[-1].score == 1.1  # bridging: 10 pairs
    assert rows[0].computed_at < rows[1].computed_at
    assert flags(hub) == [(True, 1.1)]


def test_a_recompute_never_bumps_the_version_or_touches_updated_at(hub_network):
    _chain, hub, _customers = hub_network
    before = db.session.execute(sa.select(Organisation.version, Organisation.updated_at)
                                .where(Organisation.id == hub.id)).one()
    recompute()
    after = db.session.execute(sa.select(Organisation.version, Organisation.updated_at,
                                         Organisation.is_critical)
                               .where(Organisation.id == hub.id)).one()
    assert (after.version, after.updated_at) == tuple(before) and after.is_critical
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(hub.id),
        AuditEvent.action == "update")) == 0


def test_a_deleted_or_dissolved_organisation_drops_out_of_the_network(hub_network, make_user):
    _chain, hub, customers = hub_network
    recompute()
    delete_organisation(db.session.get(Organisation, hub.id), actor=make_user("admin"))
    db.session.commit()
    recompute()
    assert flags(hub) == [(False, None)]
    customers[0].status = "dissolved"
    db.session.commit()
    assert recompute()["organisations"] == 3  # the three live customers


def test_a_dominant_employer_counts_only_regional_company_jobs(make_org):
    big = make_org(name="Grote Werf", employees=3000, city="Dordrecht")
    other = make_org(name="Andere Werf", employees=7000, city="Zwijndrecht")
    make_org(name="Buurman Gorinchem", employees=5000, city="Gorinchem")
    make_org(name="ROC", employees=5000, city="Dordrecht", org_type="education")
    small = make_org(name="Klein", employees=5, city="Sliedrecht")
    recompute()
    [row] = history(big)
    assert row.factors[0] == {"name": "employment", "value": 0.299850, "level": 1.0,
                              "weight": 1.0, "contribution": 1.0, "regional": True}
    assert flags(big, other) == [(True, 1.0), (True, 1.0)]
    assert flags(small) == [(False, 0.025)]  # 5 of 10,005 jobs: share 0.05 %, level 0.025


def test_a_manual_flag_overrides_the_computed_one_both_ways_and_both_stay_visible(
        hub_network, make_user, client, api_headers):
    _chain, hub, customers = hub_network
    recompute()
    manager = make_user("regional_account_manager")
    services.set_manual_flag(db.session.get(Organisation, hub.id), False,
                             "Levert via een buitenlandse dochter; geen regionaal risico.", actor=manager)
    services.set_manual_flag(db.session.get(Organisation, customers[0].id), True,
                             "Enige werf met een droogdok in de regio.", actor=manager)
    db.session.commit()
    assert flags(hub, customers[0]) == [(False, 1.06), (True, None)]
    recompute()  # the manual flags survive a recompute
    assert flags(hub, customers[0]) == [(False, 1.06), (True, None)]

    body = client.get(f"/api/v1/organisations/{hub.id}", headers=api_headers(manager)).get_json()
    assert body["critical"] is False
    assert {k: body["criticality"][k] for k in ("flag_source", "manual", "manual_reason", "computed")} == {
        "flag_source": "manual", "manual": False, "computed": True,
        "manual_reason": "Levert via een buitenlandse dochter; geen regionaal risico."}

    services.set_manual_flag(db.session.get(Organisation, hub.id), None, None, actor=manager)
    db.session.commit()
    hub_now = db.session.get(Organisation, hub.id)
    assert (hub_now.is_critical, hub_now.manual_critical, hub_now.manual_critical_reason) == (True, None, None)


def test_the_manual_flag_needs_a_reason_the_right_role_and_the_current_version(hub_network, make_user):
    _chain, hub, _customers = hub_network
    org = db.session.get(Organisation, hub.id)
    manager = make_user("regional_account_manager")
    with pytest.raises(ValidationError) as e:
        services.set_manual_flag(org, True, "  ", actor=manager)
    assert e.value.errors == {"reason": "Geef een reden voor de handmatige markering."}
    with pytest.raises(ValidationError) as e:
        services.set_manual_flag(org, True, "x" * 1001, actor=manager)
    assert e.value.errors == {"reason": "Hoogstens 1000 tekens."}
    with pytest.raises(ValidationError):
        services.set_manual_flag(org, "ja", "reden", actor=manager)
    for role in ("local_account_manager", "business_developer", "viewer"):
        with pytest.raises(PermissionDenied):
            services.set_manual_flag(org, True, "reden", actor=make_user(role))
    with pytest.raises(ConflictError):
        services.set_manual_flag(org, True, "reden", actor=manager, expected_version=org.version - 1)
    db.session.rollback()
    services.set_manual_flag(db.session.get(Organisation, hub.id), True, "reden", actor=make_user("admin"))
    db.session.commit()
    assert db.session.get(Organisation, hub.id).manual_critical is True


def test_settings_are_validated_in_dutch_and_only_admins_change_them(make_user):
    admin = make_user("admin")
    assert services.get_settings().weights == {"employment": 1.0, "sole_source": 1.0,
                                               "bridging": 1.0, "breadth": 0.5}
    with pytest.raises(ValidationError) as e:
        services.save_settings({"employment": "6", "sole_source": "abc", "bridging": "",
                                "breadth": float("nan"), "threshold": "0,01"}, actor=admin)
    assert e.value.errors == {
        "employment": "Vul een gewicht tussen 0 en 5 in.",
        "sole_source": "Vul een gewicht tussen 0 en 5 in.",
        "bridging": "Dit veld is verplicht.",
        "breadth": "Vul een gewicht tussen 0 en 5 in.",
        "threshold": "Vul een drempel tussen 0,05 en 10 in.",
    }
    with pytest.raises(PermissionDenied):
        services.save_settings({"weights": {}, "threshold": 1}, actor=make_user("regional_account_manager"))
    row = services.save_settings({"employment": "0,5", "sole_source": 2, "bridging": "1",
                                  "breadth": "0", "threshold": "1,5"}, actor=admin)
    db.session.commit()
    assert services.get_settings().weights == {"employment": 0.5, "sole_source": 2.0,
                                               "bridging": 1.0, "breadth": 0.0}
    assert services.get_settings().threshold == 1.5
    with pytest.raises(ConflictError):
        services.save_settings({"weights": dict.fromkeys(("employment", "sole_source", "bridging",
                                                          "breadth"), 1), "threshold": 1},
                               actor=admin, expected_version=row.version - 1)
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "setting", AuditEvent.entity_id == "criticality")) == "create"


def test_changed_weights_change_the_outcome_and_start_a_new_assessment(hub_network, make_user):
    _chain, hub, _customers = hub_network
    recompute()
    services.save_settings({"weights": {"employment": 1, "sole_source": 0.5, "bridging": 1,
                                        "breadth": 0.5}, "threshold": 0.8}, actor=make_user("admin"))
    db.session.commit()  # without Redis the automatic recompute runs right after this commit
    rows = history(hub)
    assert [(r.score, r.critical) for r in rows] == [(1.06, True), (0.56, False)]
    assert rows[-1].factors[1]["weight"] == 0.5
    assert flags(hub) == [(False, 0.56)]


def test_an_old_assessment_without_levels_is_replaced_not_misread(hub_network):
    _chain, hub, _customers = hub_network
    db.session.add(CriticalityAssessment(organisation_id=hub.id, score=0.7, threshold=0.5,
                                         critical=True, factors=[{"name": "x", "value": 1}]))
    db.session.commit()
    recompute()
    assert [r.score for r in history(hub)] == [0.7, 1.06]


def test_a_quoted_figure_that_changes_starts_a_new_assessment_even_at_full_level(make_org):
    big = make_org(name="Grote Werf", employees=3000, city="Dordrecht")
    make_org(name="Rest", employees=7000, city="Dordrecht")
    recompute()
    make_org(name="Nieuwkomer", employees=10000, city="Sliedrecht")
    recompute()
    make_org(name="Eenmanszaak", employees=1, city="Sliedrecht")
    recompute()  # 3,000 of 20,001: the share moves by less than 0.1 point
    rows = history(big)
    assert [(r.factors[0]["value"], r.factors[0]["level"], r.score) for r in rows] == [
        (0.3, 1.0, 1.0), (0.15, 1.0, 1.0)]  # still level 1, but "30 %" would now be untrue
