"""Upsert rules, dry run, establishments, review and audit of the organisations import
(issue 6 points 3 and 4), with the shared samples and files of our own."""

from __future__ import annotations

import decimal

import pytest
import sqlalchemy as sa

from import_support import (KVK_HEADERS, count, counts, csv_bytes, kvk_row, org_by_kvk,
                            run_import, sample)
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.imports.models import ImportReview
from sdd_crm.imports.review import create_from_review, merge_review, pending_reviews
from sdd_crm.jobs.models import Job
from sdd_crm.organisations.models import Establishment, Organisation
from sdd_crm.exceptions import ValidationError


def test_the_dutch_kvk_sample_exactly():
    summary = run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    assert counts(summary) == (31, 0, 0, 0, 2)
    assert summary["errors"] == [
        {"row": 32, "column": "Naam", "message": "De naam ontbreekt."},
        {"row": 33, "column": "KVK nummer", "message": "Een KvK-nummer bestaat uit 8 cijfers."}]
    assert (summary["rows"], summary["establishments"], summary["dry_run"]) == (33, 30, False)
    werf = org_by_kvk("53464097")  # "5346 4097", "3312 cd"
    assert (werf.name, werf.postcode, werf.city, werf.municipality_code, werf.employees) == (
        "Scheepsbouw Dordrecht 0", "3312 CD", "Dordrecht", "GM0505", 203)
    assert werf.annual_turnover_eur is None and werf.size_class == "medium"
    assert [(e.establishment_number, e.is_main, e.street) for e in werf.establishments] == [
        ("534640970000", True, "Havenweg 1")]
    assert [(s.code, s.version, s.is_main) for s in werf.sbi_codes] == [("3315", "2008", True)]
    jacht = org_by_kvk("97366946")
    assert jacht.annual_turnover_eur == decimal.Decimal("69196000.00")
    assert jacht.size_class == "large"  # 38 people, but 69 M turnover and no balance total
    assert org_by_kvk("88590039").municipality_code == "GM0642"  # Heerjansdam → Zwijndrecht
    assert org_by_kvk("84714297").municipality_code == "GM0512"  # Gorinchem
    assert org_by_kvk("66255890").municipality_code is None  # Breda: outside the table
    loose = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Schroefas & Zn."))
    assert (loose.kvk_number, loose.postcode, loose.municipality_code) == (None, "3361 XY", "GM0610")
    assert loose.source == f"import:{summary['job_id']} kvk_export_nl.csv"


def test_importing_the_same_file_again_changes_nothing():
    first = run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    events = count(AuditEvent)
    again = run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    assert counts(again) == (0, 0, 31, 0, 2) and again["establishments"] == 0
    assert count(Organisation) == first["created"] and count(Establishment) == 30
    assert count(AuditEvent) == events + 1  # only the second import's own "import" event


def test_the_english_sample_updates_what_the_dutch_one_created():
    run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    summary = run_import(sample("organisations_en.csv"), "organisations_en.csv")
    assert counts(summary) == (0, 20, 0, 0, 0)  # each gets its phone number
    werf = org_by_kvk("53464097")
    assert (werf.phone, werf.street, werf.annual_turnover_eur) == ("+31785009134", "Havenweg 1", None)
    assert counts(run_import(sample("organisations_en.csv"), "x.csv")) == (0, 0, 20, 0, 0)
    # and the other way round: the Dutch file adds turnover and establishments, erases nothing
    again = run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    assert counts(again) == (0, 0, 31, 0, 2)
    assert org_by_kvk("53464097").phone == "+31785009134"


def test_empty_cells_never_erase_stored_values(make_org):
    org = make_org(name="Werf B.V.", kvk_number="12345678", employees=40, phone="078-1234567",
                   website="werf.nl", city="Dordrecht", postcode="3311 AB", street="Kade 1")
    summary = run_import(csv_bytes(["Naam", "KvK-nummer", "Telefoon", "Werkzame personen",
                                    "Website", "Plaats", "Postcode"],
                                   [["Werf B.V.", "12345678", "", "", "", "", ""]]))
    assert counts(summary) == (0, 0, 1, 0, 0)
    db.session.refresh(org)
    assert (org.phone, org.employees, org.website, org.city, org.municipality_code) == (
        "+31781234567", 40, "https://werf.nl", "Dordrecht", "GM0505")


def test_a_changed_value_updates_with_version_and_audit(make_org, make_user):
    admin = make_user("admin")
    org = make_org(name="Werf B.V.", kvk_number="12345678", employees=40, city="Dordrecht")
    version = org.version
    summary = run_import(csv_bytes(["Naam", "KvK-nummer", "Werkzame personen", "Plaats"],
                                   [["Werf B.V.", "12345678", "300", "Heerjansdam"]]), actor=admin)
    assert counts(summary) == (0, 1, 0, 0, 0)
    db.session.refresh(org)
    assert (org.employees, org.city, org.municipality_code, org.size_class) == (
        300, "Heerjansdam", "GM0642", "large")
    assert org.version == version + 1
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org.id),
        AuditEvent.action == "update"))
    assert event.changes == {"employees": [40, 300], "city": ["Dordrecht", "Heerjansdam"],
                             "municipality_code": ["GM0505", "GM0642"],
                             "size_class": ["small", "large"]}
    assert (event.user_id, event.source) == (admin.id, "import")
    # The version the import wrote; no client address outside a request (CLI, these tests).
    assert (event.record_version, event.origin) == (org.version, None)
    job_event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "job"))
    assert (job_event.entity_id, job_event.action) == (summary["job_id"], "import")
    assert job_event.changes["updated"] == 1 and job_event.changes["file"] == "bestand.csv"


def test_every_created_organisation_and_establishment_is_audited_once():
    summary = run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    created = db.session.execute(sa.select(AuditEvent.entity_type, sa.func.count())
                                 .where(AuditEvent.action == "create", AuditEvent.source == "import")
                                 .group_by(AuditEvent.entity_type)).all()
    assert dict(created) == {"organisation": 31, "establishment": 30}
    org = org_by_kvk("97366946")
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org.id)))
    assert event.changes["annual_turnover_eur"] == [None, "69196000.00"]
    assert event.changes["sbi_codes"] == [[], ["3011 (2008)"]]
    assert event.changes["kvk_number"] == [None, "97366946"] and event.source == "import"
    assert summary["created"] == 31
    versions = db.session.execute(sa.select(AuditEvent.entity_type, AuditEvent.record_version)
                                  .where(AuditEvent.action == "create",
                                         AuditEvent.source == "import").distinct()).all()
    assert sorted(versions) == [("establishment", 1), ("organisation", 1)]


def test_a_kvk_number_twice_in_one_file_is_one_organisation_counted_once():
    data = csv_bytes(KVK_HEADERS, [
        kvk_row("Werf", "12345678", employees="", city="Dordrecht"),
        kvk_row("Werf B.V.", "1234.5678", employees="25", turnover="1.000.000,00"),
        kvk_row("Kade", "23456789"),
    ])
    summary = run_import(data)
    assert counts(summary) == (2, 0, 0, 0, 0) and summary["duplicates_in_file"] == 1
    org = org_by_kvk("12345678")
    assert (org.name, org.employees, org.annual_turnover_eur) == (
        "Werf", 25, decimal.Decimal("1000000.00"))  # first non-empty cell wins


def test_rows_with_one_kvk_and_several_establishment_numbers_are_establishments():
    data = csv_bytes(KVK_HEADERS + ["Hoofdvestiging"], [
        kvk_row("Werf Sliedrecht", "12345678", "000012345678", number="5", postcode="3361 AA",
                city="Sliedrecht") + ["Nevenvestiging"],
        kvk_row("Werf Dordrecht", "12345678", "000012345679", number="1", postcode="3311 AB",
                city="Dordrecht") + ["Hoofdvestiging"],
        kvk_row("Werf Heerjansdam", "12345678", "000012345680", number="9", postcode="2996 AB",
                city="Heerjansdam") + [""],
    ])
    summary = run_import(data)
    assert counts(summary) == (1, 0, 0, 0, 0) and summary["establishments"] == 3
    org = org_by_kvk("12345678")
    assert (org.name, org.city, org.postcode, org.municipality_code) == (
        "Werf Dordrecht", "Dordrecht", "3311 AB", "GM0505")  # the main establishment's
    assert [(e.establishment_number, e.is_main, e.municipality_code, e.name)
            for e in org.establishments] == [
        ("000012345678", False, "GM0610", "Werf Sliedrecht"),
        ("000012345679", True, "GM0505", "Werf Dordrecht"),
        ("000012345680", False, "GM0642", "Werf Heerjansdam")]
    # A new establishment later: added; the main one stays main; nothing else changes.
    more = run_import(csv_bytes(KVK_HEADERS, [
        kvk_row("Werf Papendrecht", "12345678", "000012345681", postcode="3351 AA",
                city="Papendrecht")]))
    assert counts(more) == (0, 1, 0, 0, 0) and more["establishments"] == 1
    db.session.refresh(org)
    assert (org.city, len(org.establishments)) == ("Dordrecht", 4)
    assert [e.is_main for e in org.establishments] == [False, True, False, False]


def test_an_establishment_number_of_another_organisation_is_refused():
    run_import(csv_bytes(KVK_HEADERS, [kvk_row("Werf", "12345678", "123456780001")]))
    summary = run_import(csv_bytes(KVK_HEADERS, [
        kvk_row("Kade", "23456789", "123456780001"),
        kvk_row("Dok", "34567890", "345678900001"),
        kvk_row("Sluis", "45678901", "345678900001")]))
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (2, "Vestigingsnummer", "Dit vestigingsnummer hoort bij een andere organisatie."),
        (4, "Vestigingsnummer", "Dit vestigingsnummer staat in dit bestand al bij een andere "
                                "organisatie.")]
    assert counts(summary) == (1, 0, 0, 0, 2)


def test_the_kvk_number_of_a_deleted_organisation_is_refused(make_org, make_user):
    from sdd_crm.organisations.services import delete_organisation

    admin = make_user("admin")
    org = make_org(name="Weg B.V.", kvk_number="12345678")
    delete_organisation(org, actor=admin)
    db.session.commit()
    summary = run_import(csv_bytes(["Naam", "KvK-nummer"], [["Weg", "12345678"]]))
    assert summary["errors"] == [{"row": 2, "column": "KvK-nummer", "message":
                                  "Dit KvK-nummer hoort bij een verwijderde organisatie "
                                  "(Weg B.V.); een beheerder kan die herstellen."}]
    assert count(Organisation) == 1


def test_a_row_without_kvk_that_looks_like_a_known_organisation_is_held(make_org, make_user):
    admin = make_user("admin")
    org = make_org(name="Jansen Techniek B.V.", postcode="3311 AB", employees=12)
    # (A matching row that adds nothing is held too: see the test after the next ones.)
    data = csv_bytes(["Naam", "Postcode", "Werkzame personen", "Plaats"], [
        ["JANSEN-TECHNIEK BV", "3311ab", "15", "Dordrecht"],   # held: it would change employees
        ["Jansen Techniek", "3312 AB", "12", ""],              # another postcode: created
        ["Nieuw B.V.", "", "", ""], ["nieuw bv", "", "", ""],  # created once
    ])
    summary = run_import(data, "lijst.csv", actor=admin)
    assert counts(summary) == (2, 0, 0, 1, 0) and summary["duplicates_in_file"] == 1
    [review] = db.session.scalars(pending_reviews()).all()
    assert (review.candidate_id, review.row_number, review.source, review.job_id) == (
        org.id, 2, "lijst.csv", summary["job_id"])
    assert review.data == {"name": "JANSEN-TECHNIEK BV", "postcode": "3311 AB", "employees": 15,
                           "city": "Dordrecht", "municipality": "GM0505"}
    assert db.session.get(type(org), org.id).employees == 12  # held, not applied
    again = run_import(data, "lijst.csv", actor=admin)
    assert counts(again) == (0, 0, 2, 1, 0)  # still held, not held twice
    assert count(ImportReview) == 1

    merged = merge_review(review, actor=admin)
    db.session.commit()
    assert (merged.id, merged.employees, merged.name) == (org.id, 15, "Jansen Techniek B.V.")
    assert (review.status, review.resolved_by_id, review.resolved_organisation_id) == (
        "merged", admin.id, org.id)
    with pytest.raises(ValidationError) as exc:
        merge_review(review, actor=admin)
    assert exc.value.errors == {"_": "Deze rij is al afgehandeld."}
    assert counts(run_import(data, "lijst.csv", actor=admin)) == (0, 0, 3, 0, 0)


def test_a_held_row_can_be_created_as_a_new_organisation(make_org, make_user):
    admin = make_user("admin")
    make_org(name="De Smid V.O.F.", postcode="3311 AB")
    run_import(csv_bytes(["Naam", "Postcode", "SBI-code"], [["de smid", "3311 AB", "2511"]]))
    review = db.session.scalars(pending_reviews()).one()
    org = create_from_review(review, actor=admin)
    db.session.commit()
    assert (org.name, org.postcode, [s.code for s in org.sbi_codes]) == ("de smid", "3311 AB", ["2511"])
    assert review.status == "created" and review.resolved_organisation_id == org.id
    assert db.session.scalars(pending_reviews()).all() == []


def test_a_row_without_kvk_matching_an_organisation_created_by_the_same_file_is_held():
    data = csv_bytes(["Naam", "KvK-nummer", "Postcode", "Werkzame personen"], [
        ["Dok B.V.", "12345678", "3311 AB", "5"], ["Dok", "", "3311AB", "6"]])
    summary = run_import(data)
    assert counts(summary) == (1, 0, 0, 1, 0)
    review = db.session.scalars(pending_reviews()).one()
    assert review.candidate_id == org_by_kvk("12345678").id
    assert counts(run_import(data)) == (0, 0, 1, 1, 0)


def test_a_dry_run_reports_exactly_what_the_run_does_and_writes_nothing():
    data = sample("kvk_export_nl.csv")
    preview = run_import(data, "kvk_export_nl.csv", dry_run=True)
    assert count(Organisation) == 0 and count(Establishment) == 0
    assert count(AuditEvent, AuditEvent.source == "import") == 0
    real = run_import(data, "kvk_export_nl.csv")
    strip = lambda s: {k: v for k, v in s.items() if k not in ("job_id", "dry_run")}  # noqa: E731
    assert strip(preview) == strip(real) and preview["dry_run"] is True
    job = db.session.get(Job, preview["job_id"])
    assert job.message == ("Proefimport, er is nog niets opgeslagen. Zou worden aangemaakt: 31; "
                           "bijgewerkt: 0; ongewijzigd blijven: 0; vastgehouden ter beoordeling: "
                           "0; afgewezen: 2.")


def test_parent_organisations_by_kvk_number(make_org):
    group = make_org(name="Groep", kvk_number="99999999")
    data = csv_bytes(["Naam", "KvK-nummer", "KvK-nummer moederbedrijf"], [
        ["Dochter A", "11111111", "99999999"], ["Dochter B", "22222222", "33333333"],
        ["Nieuwe moeder", "33333333", ""], ["Wees", "44444444", "55555555"],
        ["Zelf", "66666666", "66666666"]])
    summary = run_import(data)
    assert counts(summary) == (5, 0, 0, 0, 0) and summary["parents_not_found"] == 1
    assert org_by_kvk("11111111").parent_id == group.id
    assert org_by_kvk("22222222").parent_id == org_by_kvk("33333333").id
    assert org_by_kvk("44444444").parent_id is None and org_by_kvk("66666666").parent_id is None
    circle = run_import(csv_bytes(["Naam", "KvK-nummer", "KvK-nummer moederbedrijf"],
                                  [["Groep", "99999999", "11111111"]]))
    assert (counts(circle), circle["parents_not_found"]) == ((0, 0, 1, 0, 0), 1)


def test_sbi_codes_are_added_never_removed_and_the_main_code_follows_the_file():
    run_import(csv_bytes(["Naam", "KvK-nummer", "SBI-code", "Nevenactiviteiten"],
                         [["Werf", "12345678", "3315", "3011"]]))
    summary = run_import(csv_bytes(["Naam", "KvK-nummer", "SBI-code"],
                                   [["Werf", "12345678", "3011"]]))
    assert counts(summary) == (0, 1, 0, 0, 0)
    assert [(s.code, s.is_main) for s in org_by_kvk("12345678").sbi_codes] == [
        ("3011", True), ("3315", False)]
    assert counts(run_import(csv_bytes(["Naam", "KvK-nummer", "SBI-code"],
                                       [["Werf", "12345678", "33.15A"]]))) == (0, 1, 0, 0, 0)
    assert [(s.code, s.version, s.is_main) for s in org_by_kvk("12345678").sbi_codes] == [
        ("3011", "2008", True), ("33.15A", "2025", True), ("3315", "2008", False)]  # main per version


def test_the_run_stops_rather_than_overwrite_a_concurrent_edit(make_org, monkeypatch):
    from sdd_crm.imports import apply as apply_module

    org = make_org(name="Werf", kvk_number="12345678", employees=5)
    real_apply = apply_module.apply_plan

    def edit_first(plan, **kwargs):  # someone saves the organisation after planning
        db.session.execute(sa.update(Organisation).where(Organisation.id == org.id)
                           .values(version=Organisation.version + 1, employees=7))
        return real_apply(plan, **kwargs)

    monkeypatch.setattr(apply_module, "apply_plan", edit_first)
    with pytest.raises(apply_module.ImportConflict):
        run_import(csv_bytes(["Naam", "KvK-nummer", "Werkzame personen"],
                             [["Werf", "12345678", "9"], ["Nieuw", "23456789", "1"]]))
    db.session.expire_all()
    assert org_by_kvk("23456789") is None  # rolled back, nothing half-applied
    job = db.session.scalars(sa.select(Job).order_by(Job.created_at.desc())).first()
    assert job.status == "failed"
    assert job.message == ("Organisaties zijn tijdens de import door iemand anders gewijzigd; er "
                           "is niets opgeslagen. Start de import opnieuw.")


# --- the jobs around it -----------------------------------------------------------------------

def test_a_preview_then_its_run_with_the_same_file_and_mapping(make_user):
    from sdd_crm.imports.jobs import create_run_from_preview, enqueue_import
    from sdd_crm.jobs.files import load_file

    admin = make_user("admin")
    preview = run_import(sample("kvk_export_nl.csv"), "kvk_export_nl.csv", dry_run=True,
                         actor=admin)
    preview_job = db.session.get(Job, preview["job_id"])
    assert preview_job.result["created"] == 31 and count(Organisation) == 0
    run = create_run_from_preview(preview_job, actor=admin)
    assert run.params == dict(preview_job.params, dry_run=False, preview_job_id=preview_job.id)
    assert load_file(run.id, "input").data == sample("kvk_export_nl.csv")
    enqueue_import(run)  # before the commit: goes out with it (in-process without Redis)
    assert db.session.get(Job, run.id).status == "queued"
    db.session.commit()
    db.session.expire_all()
    run = db.session.get(Job, run.id)
    assert (run.status, run.progress, run.created_by_id) == ("finished", 100, admin.id)
    assert {k: run.result[k] for k in ("created", "rejected", "dry_run", "errors_total")} == {
        "created": 31, "rejected": 2, "dry_run": False, "errors_total": 2}
    assert run.message == ("Klaar: 31 nieuw, 0 bijgewerkt, 0 ongewijzigd, 0 ter beoordeling, "
                           "2 afgewezen.")
    assert count(Organisation) == 31
    with pytest.raises(ValidationError) as exc:
        create_run_from_preview(run, actor=admin)
    assert exc.value.errors == {"_": "Dit is geen proefimport."}


def test_enqueued_right_after_the_commit_runs_too(make_user):
    from sdd_crm.imports.jobs import create_import_job, enqueue_import
    from sdd_crm.imports.mapping import auto_map
    from sdd_crm.imports.reading import read_table

    data = sample("organisations_en.csv")
    mapping = auto_map(read_table(data, "en.csv").headers, "organisations")
    job = create_import_job(data, "en.csv", "organisations", mapping, dry_run=False,
                            actor=make_user("admin"))
    db.session.commit()
    enqueue_import(job)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "finished" and count(Organisation) == 20


def test_a_bad_mapping_is_refused_when_the_job_is_created(make_user):
    from sdd_crm.imports.jobs import create_import_job

    with pytest.raises(ValidationError) as exc:
        create_import_job(b"x", "x.csv", "organisations", {"Plaats": "city"}, dry_run=False,
                          actor=make_user("admin"))
    assert exc.value.errors == {"_": "Koppel een kolom aan: Naam."}
    assert count(Job) == 0


def test_an_xlsx_file_with_numbers_and_formulas(make_org):
    from import_support import xlsx_bytes

    make_org(name="Werf", kvk_number="12345678", employees=40)
    data = xlsx_bytes(["Handelsnaam", "KvK-nummer", "Werkzame personen", "Omzet", "Postcode"], [
        ["Werf", 12345678, None, 1250000.5, "3311ab"],
        ["Kade", 23456789, 12, 2000000, "3312 AB"],
    ], formulas={"C2": "=C3*2"})  # never calculated: no value, so it does not erase the 40
    summary = run_import(data, "lijst.xlsx")
    assert counts(summary) == (1, 1, 0, 0, 0)
    werf, kade = org_by_kvk("12345678"), org_by_kvk("23456789")
    assert (werf.employees, werf.annual_turnover_eur, werf.postcode) == (
        40, decimal.Decimal("1250000.50"), "3311 AB")
    assert (kade.employees, kade.annual_turnover_eur) == (12, decimal.Decimal("2000000.00"))


def test_a_merged_records_kvk_number_updates_the_survivor(make_org, make_user):
    """After a merge in which the survivor kept its own KvK number, a file with the merged
    record's number updates the survivor; the merged record stays as it was; nothing is created."""
    from sdd_crm.organisations.merge import merge_organisations

    admin = make_user("admin")
    survivor = make_org(name="Werf Noord", kvk_number="11111111", actor=admin)
    merged = make_org(name="Werf Noord (oud)", kvk_number="22222222", actor=admin)
    merge_organisations(survivor, merged, actor=admin)
    db.session.flush()
    assert merged.kvk_number == "22222222"  # the survivor had its own number
    summary = run_import(csv_bytes(KVK_HEADERS, [kvk_row("Werf Noord", "22222222", employees="77")]))
    assert counts(summary)[:2] == (0, 1)
    db.session.expire_all()
    assert db.session.get(Organisation, survivor.id).employees == 77
    assert db.session.get(Organisation, merged.id).employees != 77


def test_a_bare_row_matching_an_existing_organisation_is_held_even_when_it_adds_nothing(make_org, make_user):
    """Issue 6 point 3: a row without a KvK number whose name (legal form, case and punctuation
    ignored) and postcode match an existing organisation is held for review — only a person can
    tell whether it is the same company — also when the row carries nothing new."""
    admin = make_user("admin")
    make_org(name="Jansen Techniek B.V.", kvk_number="11223344", postcode="3311 AB",
             city="Dordrecht", actor=admin)
    before = count(Organisation)
    summary = run_import(csv_bytes(["Naam", "KvK-nummer", "Postcode", "Plaats"],
                                   [["JANSEN TECHNIEK BV", "", "3311AB", "Dordrecht"]]))
    assert counts(summary) == (0, 0, 0, 1, 0)
    assert count(Organisation) == before
    again = run_import(csv_bytes(["Naam", "KvK-nummer", "Postcode", "Plaats"],
                                 [["JANSEN TECHNIEK BV", "", "3311AB", "Dordrecht"]]))
    assert counts(again) == (0, 0, 0, 1, 0)
    assert count(ImportReview) == 1  # held again, but queued once


def test_a_bare_row_matching_a_kvk_row_of_the_same_file_is_held_on_both_runs():
    data = csv_bytes(["Naam", "KvK-nummer", "Postcode"], [
        ["Alfa B.V.", "72000001", "3311 AA"], ["alfa", "", "3311 AA"]])
    first = run_import(data)
    second = run_import(data)
    assert counts(first) == (1, 0, 0, 1, 0)
    assert counts(second) == (0, 0, 1, 1, 0)
    assert count(ImportReview) == 1
