"""Importing contact persons from Outlook and Google exports (issue 6 point 8)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from import_support import count, counts, csv_bytes, org_by_kvk, run_import, sample
from sdd_crm.audit.models import AuditEvent
from sdd_crm.contacts.models import Contact
from sdd_crm.extensions import db
from sdd_crm.i18n import local_today


def _contacts(org):
    return db.session.scalars(sa.select(Contact).where(Contact.organisation_id == org.id)
                              .order_by(Contact.id)).all()


def test_the_outlook_sample_after_the_kvk_sample(make_user):
    admin = make_user("admin")
    run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    summary = run_import(sample("contacts_outlook.csv"), "contacts_outlook.csv", "contacts",
                         actor=admin)
    assert counts(summary) == (11, 0, 0, 0, 1)
    assert summary["errors"] == [{"row": 7, "column": "E-mail Address",
                                  "message": "Vul een geldig e-mailadres in."}]
    sanne = db.session.scalar(sa.select(Contact).where(Contact.email == "sanne.vandijk@example.nl"))
    assert (sanne.first_name, sanne.last_name, sanne.function, sanne.phone, sanne.mobile) == (
        "Sanne", "van Dijk", "CTO", "+31782737064", "+31674628898")
    assert sanne.organisation_id == org_by_kvk("15032582").id  # Elektro Zwijndrecht 3
    assert (sanne.lawful_basis, sanne.objection, sanne.preferred_language) == (
        "public_task", False, "nl")
    assert sanne.source == f"import:{summary['job_id']} contacts_outlook.csv"
    assert sanne.review_due == local_today() + dt.timedelta(days=730)
    # Jan Jansen works at two companies: two contacts, one per organisation.
    assert count(Contact, Contact.email == "jan.jansen@example.nl") == 2
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "contact", AuditEvent.source == "import")).all()
    assert len(events) == 11 and {e.user_id for e in events} == {admin.id}
    assert counts(run_import(sample("contacts_outlook.csv"), "contacts_outlook.csv",
                             "contacts")) == (0, 0, 11, 0, 1)


def test_contacts_are_linked_by_kvk_number_or_company_name(make_org):
    werf = make_org(name="Werf B.V.", kvk_number="12345678")
    make_org(name="Dubbel BV", city="Dordrecht")
    make_org(name="dubbel b.v.", city="Sliedrecht")
    data = csv_bytes(["Voornaam", "Achternaam", "Organisatie", "KvK-nummer", "E-mailadres"], [
        ["Piet", "Bakker", "", "12345678", "piet@werf.nl"],
        ["Kees", "Smit", "WERF bv", "", "kees@werf.nl"],
        ["Els", "Vos", "Dubbel", "", "els@dubbel.nl"],
        ["Ria", "Kok", "Onbekend B.V.", "", "ria@x.nl"],
        ["Bas", "Boer", "", "87654321", "bas@x.nl"],
        ["Tom", "Veen", "", "", "tom@x.nl"],
        ["", "", "Werf", "", "naamloos@werf.nl"],
    ])
    summary = run_import(data, kind="contacts")
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (4, "Organisatie", "Meer dan één organisatie heet zo; vul het KvK-nummer in."),
        (5, "Organisatie", 'Geen organisatie gevonden met de naam "Onbekend B.V.".'),
        (6, "KvK-nummer", "Geen organisatie met KvK-nummer 87654321."),
        (7, "Organisatie", "Vul de organisatie of haar KvK-nummer in."),
        (8, "Achternaam", "De achternaam ontbreekt."),
    ]
    assert counts(summary) == (2, 0, 0, 0, 5)
    assert [c.last_name for c in _contacts(werf)] == ["Bakker", "Smit"]


def test_google_contacts_layout_and_updates_that_never_erase(make_org):
    werf = make_org(name="Werf B.V.", kvk_number="12345678")
    headers = ["Name", "Given Name", "Family Name", "Organization 1 - Name",
               "Organization 1 - Title", "E-mail 1 - Value", "Phone 1 - Value", "Notes"]
    first = run_import(csv_bytes(headers, [
        ["Jan van der Berg", "", "", "Werf BV", "Inkoper", "JAN@Werf.nl ::: jan@prive.nl",
         "078 123 4567", "Via beurs"],
        ["Anna Smit", "Anna", "Smit", "Werf BV", "", "", "", ""],
    ], delimiter=",", encoding="utf-8"), "google.csv", "contacts")
    assert counts(first) == (2, 0, 0, 0, 0)
    jan, anna = _contacts(werf)
    assert (jan.first_name, jan.last_name, jan.email, jan.phone, jan.notes) == (
        "Jan", "van der Berg", "JAN@werf.nl", "+31781234567", "Via beurs")
    second = run_import(csv_bytes(headers, [
        ["Jan van der Berg", "", "", "Werf BV", "Directeur", "jan@werf.nl", "", ""],
        ["Anna Smit", "Anna", "Smit", "Werf BV", "", "anna@werf.nl", "", ""],  # now with e-mail
        ["Anna Smit", "Anna", "Smit", "Werf BV", "HR", "anna@werf.nl", "", ""],  # twice
    ], delimiter=",", encoding="utf-8"), "google.csv", "contacts")
    assert counts(second) == (0, 2, 0, 0, 0) and second["duplicates_in_file"] == 1
    db.session.refresh(jan)
    db.session.refresh(anna)
    assert (jan.function, jan.phone, jan.notes) == ("Directeur", "+31781234567", "Via beurs")
    assert (anna.email, anna.function, count(Contact)) == ("anna@werf.nl", "HR", 2)
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "contact", AuditEvent.entity_id == str(jan.id),
        AuditEvent.action == "update"))
    assert event.changes == {"function": ["Inkoper", "Directeur"]}
    assert (jan.version, event.record_version) == (2, 2)  # the version the update wrote
    created = db.session.scalars(sa.select(AuditEvent.record_version).where(
        AuditEvent.entity_type == "contact", AuditEvent.action == "create")).all()
    assert created == [1, 1]


def test_a_deleted_contact_is_not_brought_back(make_org, make_contact, make_user):
    from sdd_crm.contacts.services import delete_contact

    admin = make_user("admin")
    werf = make_org(name="Werf", kvk_number="12345678")
    contact = make_contact(werf, first_name="Ex", last_name="Klant", email="ex@werf.nl")
    delete_contact(contact, actor=admin)
    db.session.commit()
    summary = run_import(csv_bytes(["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres"],
                                   [["Ex", "Klant", "12345678", "ex@werf.nl"]]), kind="contacts")
    assert summary["errors"] == [{"row": 2, "column": "E-mailadres", "message":
                                  "Dit contact is verwijderd; een beheerder kan het herstellen."}]
    assert count(Contact) == 1


def test_contact_values_are_checked_per_row(make_org):
    make_org(name="Werf", kvk_number="12345678")
    data = csv_bytes(["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres", "Mobiel", "Taal"], [
        ["A", "B" * 151, "12345678", "", "", ""],
        ["C", "D", "12345678", "c@", "", ""],
        ["E", "F", "12345678", "", "12", ""],
        ["G", "H", "12345678", "", "", "Klingon"],
        ["I", "J", "12345678", "", "", "Engels"],
    ])
    summary = run_import(data, kind="contacts")
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (2, "Achternaam", "Hoogstens 150 tekens."),
        (3, "E-mailadres", "Vul een geldig e-mailadres in."),
        (4, "Mobiel", "Vul een geldig telefoonnummer in, zoals 078-1234567."),
        (5, "Taal", "Kies een taal: nl, en, de of fr."),
    ]
    assert db.session.scalar(sa.select(Contact.preferred_language)) == "en"


def test_a_contacts_dry_run_writes_nothing(make_org):
    make_org(name="Werf", kvk_number="12345678")
    data = csv_bytes(["Voornaam", "Achternaam", "KvK-nummer"], [["A", "B", "12345678"]])
    preview = run_import(data, kind="contacts", dry_run=True)
    assert counts(preview) == (1, 0, 0, 0, 0) and preview["dry_run"] is True
    assert count(Contact) == 0


def test_a_contact_with_a_merged_records_kvk_number_joins_the_survivor(make_org, make_user):
    from sdd_crm.organisations.merge import merge_organisations

    admin = make_user("admin")
    survivor = make_org(name="Werf Oost", kvk_number="11112222", actor=admin)
    merged = make_org(name="Werf Oost Holding", kvk_number="33334444", actor=admin)
    merge_organisations(survivor, merged, actor=admin)
    data = csv_bytes(["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres"],
                     [["Anna", "Berg", "33334444", "anna@werf.nl"]])
    summary = run_import(data, kind="contacts")
    assert counts(summary) == (1, 0, 0, 0, 0)
    assert [c.last_name for c in _contacts(survivor)] == ["Berg"]
