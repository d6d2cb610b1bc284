"""Imports a user can trust (issue 14 point 7): rows outside the region or with an unknown place
are reported, the preview says what *would* happen, the result links to the organisations, and
an admin can undo an import within a period — conflicts shown, nothing overwritten silently."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from flask import g

from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.imports.models import ImportChange, ImportUndo
from sdd_crm.imports.undo import undo_import
from sdd_crm.jobs.files import load_file
from sdd_crm.jobs.models import Job
from sdd_crm.organisations.models import Establishment, Organisation
from sdd_crm.organisations.services import restore_organisation, update_organisation

from import_support import csv_bytes, org_by_kvk, run_import, xlsx_bytes

HEADERS = ["Naam", "KvK-nummer", "Vestigingsnummer", "Plaats", "Gemeente", "SBI-code",
           "Werkzame personen"]
REGION_ROWS = [
    ["Werf Breda", "76000001", "", "Breda", "", "3315", "10"],            # outside, by place
    ["Haven Rotterdam", "76000002", "", "", "Rotterdam", "3315", "10"],   # outside, by column
    ["Kade Bolnes", "76000003", "", "Bolnes", "", "3315", "10"],          # a place outside
    ["Dok Nergenshuizen", "76000004", "", "Nergenshuizen", "", "3315", "10"],  # unknown place
    ["Sluis Gorinchem", "76000005", "", "Gorinchem", "", "3315", "10"],   # a neighbour
    ["Werf Dordrecht", "76000006", "", "Dordrecht", "", "3315", "10"],    # in the region
    ["Dok Atlantis", "76000007", "", "", "Atlantis", "3315", "10"],       # rejected
]
EXPECTED_WARNINGS = [
    (2, "Plaats", "Breda ligt buiten de regio Drechtsteden; de gemeente is leeg gelaten."),
    (3, "Gemeente", "Rotterdam ligt buiten de regio Drechtsteden; de gemeente is leeg gelaten."),
    (4, "Plaats", "Bolnes ligt in Ridderkerk, buiten de regio Drechtsteden; de gemeente is leeg "
                  "gelaten."),
    (5, "Plaats", "Onbekende gemeente/plaats: Nergenshuizen; de gemeente is leeg gelaten."),
    (6, "Plaats", "Gorinchem ligt buiten de regio Drechtsteden (buurgemeente); de gemeente is "
                  "ingevuld."),
]


def text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def warnings(summary):
    return [(w["row"], w["column"], w["message"]) for w in summary["warnings"]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_outside_the_region_or_unknown_are_reported_not_silently_emptied(
        fmt, client, login, make_user):
    admin = make_user("admin")
    data = csv_bytes(HEADERS, REGION_ROWS) if fmt == "csv" else xlsx_bytes(HEADERS, REGION_ROWS)
    summary = run_import(data, f"regio.{fmt}", actor=admin)
    assert warnings(summary) == EXPECTED_WARNINGS
    assert [(e["row"], e["column"]) for e in summary["errors"]] == [(8, "Gemeente")]
    assert "Onbekende gemeente: Atlantis" in summary["errors"][0]["message"]
    # Imported, with an empty municipality where it lies outside the seven (a supplier in a
    # value chain may well lie outside the region); the neighbour keeps its code.
    assert [org_by_kvk(f"7600000{i}").municipality_code for i in range(1, 7)] == [
        None, None, None, None, "GM0512", "GM0505"]
    assert org_by_kvk("76000007") is None
    # The result page and the report list every warning; the report marks them as such.
    login(admin)
    page = text(client.get(f"/jobs/{summary['job_id']}"))
    for _row, _column, message in EXPECTED_WARNINGS:
        assert message in page
    report = load_file(summary["job_id"], "report").data.decode("utf-8-sig").splitlines()
    assert report[0] == "Rij (spreadsheet);Kolom;Melding"
    assert report[1].startswith("8;Gemeente;Onbekende gemeente: Atlantis")
    assert next(csv.reader(report[2:3], delimiter=";")) == [
        "2", "Plaats", "Waarschuwing (de rij is wel geïmporteerd): Breda ligt buiten de regio "
                       "Drechtsteden; de gemeente is leeg gelaten."]
    assert len(report) == 2 + len(EXPECTED_WARNINGS)


def test_a_file_with_only_warnings_has_a_warnings_report(app):
    summary = run_import(csv_bytes(HEADERS, [REGION_ROWS[0]]), "breda.csv")
    stored = load_file(summary["job_id"], "report")
    assert stored.filename == "breda-waarschuwingen.csv"
    assert summary["errors"] == [] and len(summary["warnings"]) == 1


def test_the_cli_prints_the_warnings(runner, tmp_path):
    path = tmp_path / "regio.csv"
    path.write_bytes(csv_bytes(HEADERS, REGION_ROWS[:1]))
    result = runner.invoke(args=["import", "organisations", str(path)])
    assert result.exit_code == 0, result.output
    assert ("rij 2, kolom Plaats: Breda ligt buiten de regio Drechtsteden; de gemeente is leeg "
            "gelaten.") in result.output
    result = runner.invoke(args=["import", "organisations", str(path), "--dry-run", "--json"])
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["warnings"][0]["message"].startswith("Breda ligt buiten de regio")


def test_the_preview_says_what_would_happen(client, login, make_user, runner, tmp_path):
    admin = make_user("admin")
    summary = run_import(csv_bytes(HEADERS, REGION_ROWS[5:6]), dry_run=True, actor=admin)
    job = db.session.get(Job, summary["job_id"])
    assert job.message == ("Proefimport, er is nog niets opgeslagen. Zou worden aangemaakt: 1; "
                           "bijgewerkt: 0; ongewijzigd blijven: 0; vastgehouden ter beoordeling: "
                           "0; afgewezen: 0.")
    login(admin)
    page = text(client.get(f"/jobs/{job.id}"))
    for label in ("Zou worden aangemaakt 1", "Zou worden bijgewerkt 0", "Zou ongewijzigd blijven 0",
                  "Zou worden vastgehouden ter beoordeling 0", "Zou worden afgewezen 0"):
        assert label in page
    assert "Nieuw aangemaakt" not in page and "Aangemaakte organisaties" not in page
    path = tmp_path / "een.csv"
    path.write_bytes(csv_bytes(HEADERS, REGION_ROWS[5:6]))
    result = runner.invoke(args=["import", "organisations", str(path), "--dry-run"])
    assert "Zou worden aangemaakt: 1" in result.output


def test_the_result_links_to_the_organisations_it_created_and_updated(
        client, login, make_user, count_queries):
    admin = make_user("regional_account_manager")
    run_import(csv_bytes(HEADERS, REGION_ROWS[5:6]), actor=admin)
    rows = [["Werf Dordrecht", "76000006", "", "Dordrecht", "", "3315", "25"],
            ["Kade Zwijndrecht", "76000008", "", "Zwijndrecht", "", "3315", "10"]]
    summary = run_import(csv_bytes(HEADERS, rows), actor=admin)
    login(admin)
    body = client.get(f"/jobs/{summary['job_id']}").get_data(as_text=True)
    created, updated = org_by_kvk("76000008"), org_by_kvk("76000006")
    assert re.search(rf'data-import-links="created">\s*<li><a class="utrecht-link" '
                     rf'href="/organisations/{created.id}">Kade Zwijndrecht</a>', body)
    assert re.search(rf'data-import-links="updated">\s*<li><a class="utrecht-link" '
                     rf'href="/organisations/{updated.id}">Werf Dordrecht</a>', body)
    assert "Deze import ongedaan maken" not in body  # not an admin
    # The page costs the same number of statements for 2 or 40 organisations.
    with count_queries() as small:
        client.get(f"/jobs/{summary['job_id']}")
    many = [[f"Bedrijf {i}", f"7601{i:04d}", "", "Dordrecht", "", "3315", "5"] for i in range(40)]
    big = run_import(csv_bytes(HEADERS, many), actor=admin)
    with count_queries() as large:
        page = client.get(f"/jobs/{big['job_id']}").get_data(as_text=True)
    assert large.count <= small.count
    assert page.count('href="/organisations/') >= 40


# --- undo ----------------------------------------------------------------------------------------

def _seed_for_undo(make_user, make_org):
    admin = make_user("admin")
    kept = make_org(name="Bestaand Dordrecht", kvk_number="76000020", employees=5,
                    website="https://bestaand.example.nl", city="Dordrecht")
    kept_version = kept.version
    rows = [["Bestaand Dordrecht", "76000020", "", "Dordrecht", "", "3011", "50"],
            ["Nieuw Sliedrecht", "76000021", "760000210001", "Sliedrecht", "", "3315", "10"]]
    data = csv_bytes(HEADERS, rows)
    summary = run_import(data, "undo.csv", actor=admin)
    assert (summary["created"], summary["updated"]) == (1, 1)
    return admin, kept.id, kept_version, data, summary["job_id"]


def test_undo_deletes_what_it_created_and_restores_what_it_changed(
        client, login, make_user, make_org):
    admin, kept_id, kept_version, data, job_id = _seed_for_undo(make_user, make_org)
    created = org_by_kvk("76000021")
    kept = db.session.get(Organisation, kept_id)
    assert kept.employees == 50 and {s.code for s in kept.sbi_codes} == {"3011"} | {
        s.code for s in kept.sbi_codes}
    changes = db.session.scalars(sa.select(ImportChange).where(ImportChange.job_id == job_id)).all()
    # (The new organisation's establishment is not listed: it goes and comes with it.)
    assert {(c.entity_type, c.action) for c in changes} == {
        ("organisation", "create"), ("organisation", "update")}

    login(admin)
    page = text(client.get(f"/imports/{job_id}/undo"))
    assert "1 organisatie die deze import aanmaakte wordt verwijderd" in page
    resp = client.post(f"/imports/{job_id}/undo")
    assert resp.status_code == 302
    page = text(client.get(resp.headers["Location"]))
    assert "De import is ongedaan gemaakt." in page and "Import ongedaan gemaakt" in page
    db.session.expire_all()
    created = db.session.get(Organisation, created.id)
    kept = db.session.get(Organisation, kept_id)
    assert created.deleted_at is not None and created.deleted_by_id == admin.id
    est = db.session.scalar(sa.select(Establishment).where(
        Establishment.establishment_number == "760000210001"))
    assert est.deleted_at is None  # hidden with its organisation, back with it
    assert kept.deleted_at is None and kept.employees == 5
    assert [s.code for s in kept.sbi_codes] == []  # the code the import added is gone
    assert kept.version > kept_version
    # Audited: the undo on the job, and each record's change.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "import_undo", AuditEvent.entity_id == job_id)) == 1
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(kept_id),
        AuditEvent.action == "update").order_by(AuditEvent.id)).all()
    assert any(e.changes.get("employees") == [50, 5] and e.user_id == admin.id for e in events), [
        e.changes for e in events]
    # The deleted organisation can be restored by an admin from the bin.
    restore_organisation(created, actor=admin)
    db.session.commit()
    assert org_by_kvk("76000021").deleted_at is None


def test_undo_twice_is_refused_and_the_same_file_imports_again(
        client, login, make_user, make_org):
    admin, kept_id, _v, data, job_id = _seed_for_undo(make_user, make_org)
    job = db.session.get(Job, job_id)
    undo_import(job, actor=admin)
    db.session.commit()
    with pytest.raises(Exception) as refused:
        undo_import(job, actor=admin)
    assert "al ongedaan gemaakt" in str(refused.value.errors)
    db.session.rollback()
    login(admin)
    resp = client.post(f"/imports/{job_id}/undo", follow_redirects=True)
    assert "Deze import is al ongedaan gemaakt." in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportUndo)) == 1
    # The same file again: the organisation the undo deleted comes back, updated.
    again = run_import(data, "undo.csv", actor=admin)
    assert again["errors"] == [] and (again["created"], again["updated"]) == (0, 2)
    created = org_by_kvk("76000021")
    assert created.deleted_at is None and created.deleted_by_id is None
    est = db.session.scalar(sa.select(Establishment).where(
        Establishment.establishment_number == "760000210001"))
    assert est.deleted_at is None
    assert db.session.get(Organisation, kept_id).employees == 50
    # …and that import can be undone as well: deleted again.
    undo_import(db.session.get(Job, again["job_id"]), actor=admin)
    db.session.commit()
    assert org_by_kvk("76000021").deleted_at is not None
    assert db.session.get(Organisation, kept_id).employees == 5


def test_a_field_changed_since_is_a_conflict_and_kept(client, login, make_user, make_org):
    admin, kept_id, _v, _data, job_id = _seed_for_undo(make_user, make_org)
    editor = make_user("regional_account_manager", name="Eva Editor")
    kept = db.session.get(Organisation, kept_id)
    g.audit_user_id = editor.id  # as a request by the editor would record it
    update_organisation(kept, {"employees": 60}, actor=editor, partial=True)
    g.pop("audit_user_id")
    db.session.commit()
    login(admin)
    client.post(f"/imports/{job_id}/undo")
    db.session.expire_all()
    kept = db.session.get(Organisation, kept_id)
    assert kept.employees == 60  # not overwritten
    assert [s.code for s in kept.sbi_codes] == []  # the untouched SBI code is restored
    undo = db.session.get(ImportUndo, job_id)
    [conflict] = undo.result["conflicts"]
    assert (conflict["field"], conflict["before"], conflict["after"], conflict["current"],
            conflict["changed_by"]) == ("employees", 5, 50, 60, "Eva Editor")
    page = text(client.get(f"/imports/{job_id}/undo"))
    assert "Niet teruggezet: na de import gewijzigd" in page
    assert re.search(r"Bestaand Dordrecht Werkzame personen 5 50 60 Eva Editor", page), page


def test_a_created_organisation_worked_on_since_is_kept(make_user, make_org):
    admin, _kept_id, _v, _data, job_id = _seed_for_undo(make_user, make_org)
    created = org_by_kvk("76000021")
    update_organisation(created, {"website": "https://nieuw.example.nl"},
                        actor=make_user("business_developer"), partial=True)
    db.session.commit()
    result = undo_import(db.session.get(Job, job_id), actor=admin)
    db.session.commit()
    assert org_by_kvk("76000021").deleted_at is None
    assert result["deleted"] == 0 and result["conflicts"][0]["organisation"] == "Nieuw Sliedrecht"


def test_a_created_organisation_with_a_contact_moment_since_is_kept(make_user, make_org):
    """A contact moment (or a contact, lead, task, …) logged at an organisation the import
    created means people use it: the undo keeps it and says why, rather than hide their work
    in the bin (DESIGN 6, nothing lost)."""
    from sdd_crm.interactions.services import create_interaction

    admin, _kept_id, _v, _data, job_id = _seed_for_undo(make_user, make_org)
    created = org_by_kvk("76000021")
    local = make_user("local_account_manager", municipality="GM0610")
    create_interaction({"organisation_id": created.id, "type": "visit", "subject": "Kennismaking",
                        "date": dt.date.today().isoformat(), "confidential": True}, actor=local)
    db.session.commit()
    result = undo_import(db.session.get(Job, job_id), actor=admin)
    db.session.commit()
    assert org_by_kvk("76000021").deleted_at is None
    assert result["deleted"] == 0
    conflict = next(c for c in result["conflicts"] if c["organisation"] == "Nieuw Sliedrecht")
    assert "in gebruik genomen" in conflict["reason"] and "ontactmoment" in conflict["reason"]


def test_undo_after_the_period_is_refused(app, make_user, make_org, client, login):
    admin, _kept_id, _v, _data, job_id = _seed_for_undo(make_user, make_org)
    job = db.session.get(Job, job_id)
    job.finished_at = job.finished_at - dt.timedelta(days=31)
    db.session.commit()
    login(admin)
    page = text(client.get(f"/imports/{job_id}/undo"))
    assert "tot 30 dagen na het importeren" in page and "Weet u het zeker?" not in page
    client.post(f"/imports/{job_id}/undo")
    assert db.session.get(ImportUndo, job_id) is None
    assert org_by_kvk("76000021").deleted_at is None
    app.config["IMPORT_UNDO_DAYS"] = 40
    try:
        assert "Weet u het zeker?" in text(client.get(f"/imports/{job_id}/undo"))
    finally:
        app.config["IMPORT_UNDO_DAYS"] = 30


@pytest.mark.parametrize("role,status", [
    ("regional_account_manager", 403), ("business_developer", 403),
    ("local_account_manager", 403), ("viewer", 403), (None, 302),
])
def test_only_admins_undo(role, status, client, login, make_user, make_org):
    _admin, _kept_id, _v, _data, job_id = _seed_for_undo(make_user, make_org)
    if role:
        login(make_user(role))
    assert client.get(f"/imports/{job_id}/undo").status_code == status
    assert client.post(f"/imports/{job_id}/undo").status_code == status
    assert db.session.get(ImportUndo, job_id) is None
    assert org_by_kvk("76000021").deleted_at is None


def test_a_preview_cannot_be_undone(client, login, make_user):
    admin = make_user("admin")
    preview = run_import(csv_bytes(HEADERS, REGION_ROWS[5:6]), dry_run=True, actor=admin)
    login(admin)
    assert client.get(f"/imports/{preview['job_id']}/undo").status_code == 404
    assert client.post(f"/imports/{preview['job_id']}/undo").status_code == 404


def test_a_large_undo_runs_as_a_background_job(client, login, make_user, make_org, monkeypatch):
    from sdd_crm.imports import undo as undoing

    admin, kept_id, _v, _data, job_id = _seed_for_undo(make_user, make_org)
    monkeypatch.setattr(undoing, "INLINE_MAX", 1)  # this import changed 3 records
    login(admin)
    resp = client.post(f"/imports/{job_id}/undo")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/jobs/")
    background = db.session.get(Job, resp.headers["Location"].rsplit("/", 1)[1])
    if background.status != "finished":  # queued: run it as a worker would
        undoing.run_undo_job(background.id)
    db.session.expire_all()
    background = db.session.get(Job, background.id)
    assert background.status == "finished", background.message
    assert background.message == ("Klaar: 1 organisaties verwijderd, 2 velden teruggezet, 0 niet "
                                  "teruggezet.")
    assert org_by_kvk("76000021").deleted_at is not None
    assert db.session.get(Organisation, kept_id).employees == 5
    undo_event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "import_undo", AuditEvent.entity_id == job_id))
    assert undo_event.user_id == admin.id
    page = text(client.get(f"/jobs/{background.id}"))
    assert "Bekijk wat is teruggedraaid" in page
    assert "Import ongedaan gemaakt" in text(client.get(f"/imports/{job_id}/undo"))


def test_an_establishment_added_to_an_existing_organisation_is_removed_by_the_undo(
        make_user, make_org):
    admin = make_user("admin")
    make_org(name="Vestigingen Dordrecht", kvk_number="76000030", city="Dordrecht")
    summary = run_import(csv_bytes(HEADERS, [
        ["Vestigingen Dordrecht", "76000030", "760000300001", "Dordrecht", "", "", ""]]),
        actor=admin)
    assert (summary["updated"], summary["establishments"]) == (1, 1)
    result = undo_import(db.session.get(Job, summary["job_id"]), actor=admin)
    db.session.commit()
    est = db.session.scalar(sa.select(Establishment).where(
        Establishment.establishment_number == "760000300001"))
    assert est.deleted_at is not None and result["establishments_deleted"] == 1
    assert org_by_kvk("76000030").deleted_at is None
