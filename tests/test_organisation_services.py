"""The organisation rules themselves, independent of HTML or API."""

import decimal

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import (
    create_organisation,
    delete_organisation,
    restore_organisation,
    set_account_team_member,
    size_class,
    update_organisation,
)
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.exceptions import ConflictError, ValidationError


@pytest.mark.parametrize(
    "employees, turnover, balance, expected",
    [
        (None, None, None, "unknown"),
        (0, None, None, "micro"),
        (9, 2_000_000, None, "micro"),
        (9, 2_000_001, 2_000_001, "small"),
        (9, 2_000_001, 2_000_000, "micro"),  # turnover OR balance sheet
        (10, None, None, "small"),
        (49, 10_000_000, None, "small"),
        (50, None, None, "medium"),
        (249, 50_000_000, None, "medium"),
        (249, 50_000_001, 43_000_000, "medium"),
        (249, 50_000_001, 43_000_001, "large"),
        (250, 1, 1, "large"),
    ],
)
def test_eu_size_class_thresholds(employees, turnover, balance, expected):
    assert size_class(employees, turnover, balance) == expected


def test_create_normalises_identifiers(make_user):
    rm = make_user("regional_account_manager")
    org = create_organisation(
        {"name": "  Scheepswerf De Merwede B.V. ", "kvk_number": "5346 4097",
         "establishment_number": "5346-4097-0000", "postcode": "3312cd", "city": "Dordrecht",
         "phone": "078-1234567", "website": "www.merwede.nl", "employees": "203",
         "annual_turnover_eur": "1.250.000,00", "sbi_codes": "3011, 30.11A"},
        actor=rm,
    )
    db.session.commit()
    assert org.name == "Scheepswerf De Merwede B.V."
    assert org.kvk_number == "53464097"
    assert org.postcode == "3312 CD"
    assert org.phone == "+31781234567"
    assert org.website == "https://www.merwede.nl"
    assert org.municipality_code == "GM0505"
    assert org.annual_turnover_eur == decimal.Decimal("1250000.00")
    assert org.size_class == "medium"
    assert [(s.code, s.version, s.is_main) for s in org.sbi_codes] == [
        ("3011", "2008", True), ("30.11A", "2025", False)]
    assert org.establishments[0].establishment_number == "534640970000"
    assert org.establishments[0].municipality_code == "GM0505"


def test_municipality_follows_from_place(make_user):
    rm = make_user()
    org = create_organisation({"name": "Bakkerij Heerjansdam", "city": "Heerjansdam"}, actor=rm)
    assert org.municipality_code == "GM0642"  # Heerjansdam lies in Zwijndrecht
    outside = create_organisation({"name": "Rotterdamse Firma", "city": "Rotterdam"}, actor=rm)
    assert outside.municipality_code is None
    explicit = create_organisation({"name": "X", "city": "Rotterdam", "municipality": "gm0610"}, actor=rm)
    assert explicit.municipality_code == "GM0610"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "", "Vul de naam van de organisatie in."),
        ("name", "x" * 5000, "Hoogstens 200 tekens."),
        ("kvk_number", "1234", "Een KvK-nummer bestaat uit 8 cijfers."),
        ("establishment_number", "12345", "Een vestigingsnummer bestaat uit 12 cijfers."),
        ("postcode", "33123", "Vul een geldige Nederlandse postcode in, zoals 3311 AB."),
        ("phone", "12", "Vul een geldig telefoonnummer in, zoals 078-1234567."),
        ("email", "geen-adres", "Vul een geldig e-mailadres in."),
        ("employees", "veel", "Vul een heel getal in."),
        ("employees", -3, "Vul een getal tussen 0 en 10000000 in."),
        ("annual_turnover_eur", "veel geld", "Vul een bedrag in euro in, zoals 1250000 of 1.250.000,00."),
        ("municipality", "GM9999", "Onbekende gemeente; gebruik de CBS-code, zoals GM0505."),
        ("org_type", "bakery", "Kies een geldig type organisatie."),
        ("sbi_codes", "abc", "Ongeldige SBI-code: abc."),
        ("parent_id", 999999, "Kies een bestaande organisatie."),
    ],
)
def test_bad_input_is_refused_with_a_dutch_message(make_user, field, value, message):
    rm = make_user()
    data = {"name": "Geldige Naam", field: value}
    with pytest.raises(ValidationError) as exc:
        create_organisation(data, actor=rm)
    assert exc.value.errors[field] == message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 0


def test_kvk_number_is_unique_when_known(make_user, make_org):
    rm = make_user()
    first = make_org(kvk_number="12345678", actor=rm)
    with pytest.raises(ValidationError) as exc:
        create_organisation({"name": "Kopie", "kvk_number": "1234.5678"}, actor=rm)
    assert first.name in exc.value.errors["kvk_number"]
    # Unknown KvK numbers may repeat.
    make_org(actor=rm)
    make_org(actor=rm)


def test_stale_version_is_refused(make_user, make_org):
    rm = make_user()
    org = make_org(actor=rm)
    update_organisation(org, {"employees": 12}, actor=rm, expected_version=1, partial=True)
    db.session.commit()
    assert org.version == 2
    with pytest.raises(ConflictError):
        update_organisation(org, {"employees": 99}, actor=rm, expected_version=1, partial=True)
    db.session.rollback()
    assert db.session.get(Organisation, org.id).employees == 12


def test_partial_update_keeps_other_fields(make_user, make_org):
    rm = make_user()
    org = make_org(actor=rm, kvk_number="87654321", city="Sliedrecht")
    update_organisation(org, {"employees": 3}, actor=rm, partial=True)
    assert (org.kvk_number, org.municipality_code, org.employees, org.size_class) == (
        "87654321", "GM0610", 3, "micro")


def test_local_account_manager_edits_own_municipality_and_account_team(make_user, make_org):
    admin = make_user("admin")
    local = make_user("local_account_manager", municipality="GM0505")
    own = make_org(actor=admin, city="Dordrecht")
    other = make_org(actor=admin, city="Sliedrecht")
    update_organisation(own, {"employees": 5}, actor=local, partial=True)
    with pytest.raises(PermissionDenied):
        update_organisation(other, {"employees": 5}, actor=local, partial=True)
    set_account_team_member(other, local, "local", actor=admin)
    update_organisation(other, {"employees": 5}, actor=local, partial=True)
    assert other.employees == 5


def test_local_account_manager_creates_only_in_own_municipality(make_user):
    local = make_user("local_account_manager", municipality="GM0505")
    create_organisation({"name": "Dordts Bedrijf", "city": "Dordrecht"}, actor=local)
    with pytest.raises(ValidationError) as exc:
        create_organisation({"name": "Sliedrechts Bedrijf", "city": "Sliedrecht"}, actor=local)
    assert "eigen gemeente" in exc.value.errors["municipality"]


def test_viewer_cannot_create(make_user):
    with pytest.raises(PermissionDenied):
        create_organisation({"name": "X"}, actor=make_user("viewer"))


def test_one_strategic_account_manager(make_user, make_org):
    admin = make_user("admin")
    rm1, rm2 = make_user("regional_account_manager"), make_user("regional_account_manager")
    org = make_org(actor=admin)
    set_account_team_member(org, rm1, "strategic", actor=admin)
    set_account_team_member(org, rm2, "strategic", actor=admin)
    db.session.commit()
    # A hand-over: the previous strategic manager stays in the team as a local member.
    assert sorted((m.user_id, m.team_role) for m in org.team) == sorted(
        [(rm1.id, "local"), (rm2.id, "strategic")])
    with pytest.raises(ValidationError):
        set_account_team_member(org, make_user("viewer"), "strategic", actor=admin)


def test_soft_delete_restore_and_audit_trail(make_user, make_org):
    admin = make_user("admin")
    rm = make_user()
    org = make_org(actor=rm, kvk_number="11223344")
    update_organisation(org, {"name": "Nieuwe Naam"}, actor=rm, partial=True)
    delete_organisation(org, actor=rm)
    db.session.commit()
    assert org.deleted_at is not None and org.deleted_by_id == rm.id
    with pytest.raises(PermissionDenied):
        restore_organisation(org, actor=rm)
    restore_organisation(org, actor=admin)
    db.session.commit()
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "organisation",
                                    AuditEvent.entity_id == str(org.id)).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["create", "update", "delete", "restore"]
    assert events[1].changes["name"][1] == "Nieuwe Naam"
    assert events[0].changes["kvk_number"] == [None, "11223344"]


def test_deleted_kvk_blocks_new_record_with_helpful_message(make_user, make_org):
    rm = make_user()
    org = make_org(actor=rm, kvk_number="99887766")
    delete_organisation(org, actor=rm)
    with pytest.raises(ValidationError) as exc:
        create_organisation({"name": "Opnieuw", "kvk_number": "99887766"}, actor=rm)
    assert "verwijderde organisatie" in exc.value.errors["kvk_number"]


def test_parent_cycle_is_refused(make_user, make_org):
    rm = make_user()
    group = make_org(actor=rm)
    child = make_org(actor=rm, parent_id=group.id)
    with pytest.raises(ValidationError) as exc:
        update_organisation(group, {"parent_id": child.id}, actor=rm, partial=True)
    assert "onder zichzelf" in exc.value.errors["parent_id"]


def _events(org):
    return db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "organisation",
                                    AuditEvent.entity_id == str(org.id)).order_by(AuditEvent.id)
    ).all()


def test_create_with_collections_is_one_version_and_one_audit_event(make_user):
    rm = make_user()
    org = create_organisation({"name": "Tagged", "tags": "maritiem, scale", "employees": 12,
                               "sbi_codes": ["3011"]}, actor=rm)
    db.session.commit()
    assert org.version == 1
    assert [e.action for e in _events(org)] == ["create"]
    # Two organisations sharing a new tag in one transaction do not create it twice.
    a = create_organisation({"name": "A", "tags": ["nieuw-label"]}, actor=rm)
    b = create_organisation({"name": "B", "tags": ["Nieuw-label"]}, actor=rm)
    db.session.commit()
    assert a.tags[0].id == b.tags[0].id


def test_changing_only_tags_or_sbi_codes_bumps_version_and_is_audited(make_user, make_org):
    rm = make_user()
    org = make_org(actor=rm, tags=["a"], sbi_codes=["3011"])
    update_organisation(org, {"tags": ["a", "b"]}, actor=rm, expected_version=1, partial=True)
    db.session.commit()
    assert org.version == 2
    update_organisation(org, {"sbi_codes": ["3315"]}, actor=rm, expected_version=2, partial=True)
    db.session.commit()
    assert org.version == 3
    changes = [e.changes for e in _events(org)][1:]
    assert changes[0]["tags"] == [["a"], ["a", "b"]]
    assert changes[1]["sbi_codes"] == [["3011 (2008)"], ["3315 (2008)"]]
    # Re-sending the same values changes nothing.
    update_organisation(org, {"tags": ["b", "a"], "sbi_codes": ["3315"]}, actor=rm, partial=True)
    db.session.commit()
    assert org.version == 3


def test_audit_keeps_the_old_value_after_a_commit_in_the_same_session(make_user, make_org):
    rm = make_user()
    org = make_org(actor=rm, name="Oude Naam", employees=4)
    db.session.commit()  # expires every attribute
    update_organisation(org, {"name": "Nieuwe Naam", "employees": 60}, actor=rm, partial=True)
    db.session.commit()
    events = _events(org)
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].changes["name"] == ["Oude Naam", "Nieuwe Naam"]
    assert events[1].changes["employees"] == [4, 60]
    assert events[1].changes["size_class"] == ["micro", "medium"]
