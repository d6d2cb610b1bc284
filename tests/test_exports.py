"""Exports of the lists (issue 6, point 9): every kind × format with the page's filters, the
visibility of confidential contact moments, formula neutralisation, who may export, the job
path for large sets, the audit entry, and no COUNT(*) on the direct path."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from interaction_helpers import EXPECTED_VISIBLE, SUBJECTS, build_world
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.i18n import local_today
from sdd_crm.exports import jobs as export_jobs
from sdd_crm.exports import lists as exports
from sdd_crm.jobs.models import Job, JobFile
from sdd_crm.programmes.models import Programme
from sdd_crm.programmes.services import add_participation, change_participation_status

def today() -> str:
    return local_today().isoformat()


ORG_HEADER = ["Nummer", "Naam", "KvK-nummer", "Rechtsvorm", "Type", "Status", "Grootteklasse",
              "Werkzame personen", "Jaaromzet (EUR)", "Balanstotaal (EUR)", "SBI-codes",
              "Straat en huisnummer", "Postcode", "Plaats", "Gemeente", "CBS-code gemeente",
              "Website", "Telefoon", "E-mailadres", "Kritisch", "Laatste contact"]


def csv_rows(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/csv"
    assert resp.data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline=""), delimiter=";"))


def xlsx_sheet(resp):
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == exports.CONTENT_TYPES["xlsx"]
    return openpyxl.load_workbook(io.BytesIO(resp.data)).active


def xlsx_rows(resp) -> list[list]:
    return [[c.value for c in row] for row in xlsx_sheet(resp).iter_rows()]


def finish(job_id: str) -> Job:
    """The job after it ran: at the commit without Redis; in-process when a real queue holds it."""
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    if job.status != "finished":
        export_jobs.run_job(job_id)
        db.session.expire_all()
        job = db.session.get(Job, job_id)
    return job


@pytest.fixture
def orgs(make_org):
    alfa = make_org(name="Alfa Werf B.V.", city="Dordrecht", kvk_number="01234567",
                    legal_form="Besloten vennootschap", employees=40,
                    annual_turnover_eur="1250000.50", sbi_codes=["3011", "33.15"],
                    street="Baanhoekweg 1", postcode="3313la", phone="078-1234567",
                    email="info@alfa.nl", website="alfa.nl")
    beta = make_org(name="Beta Staal", city="Dordrecht", employees=300, status="inactive")
    make_org(name="Gamma Zwijndrecht", city="Zwijndrecht")
    make_org(name="Alfa Papendrecht", city="Papendrecht")
    make_org(name="Alfa Zwijndrecht", city="Zwijndrecht")
    return alfa, beta


# --- Each kind × format, with the list's filters ------------------------------------------

def test_organisations_csv_has_exactly_the_filtered_rows_in_the_page_order(client, login, make_user, orgs):
    alfa, beta = orgs
    login(make_user("regional_account_manager"))
    resp = client.get("/imports/export/organisations.csv?municipality=GM0505&sort=employees&page=3")
    assert resp.headers["Content-Disposition"].startswith(
        f'attachment; filename="organisaties-{today()}.csv"')
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.data.count(b"\r\n") == 3  # header + 2 rows, Windows line ends
    rows = csv_rows(resp)
    assert rows[0] == ORG_HEADER
    assert [r[1] for r in rows[1:]] == ["Beta Staal", "Alfa Werf B.V."]  # most employees first
    assert rows[2] == [str(alfa.id), "Alfa Werf B.V.", "01234567", "Besloten vennootschap",
                       "Bedrijf", "Actief", "Klein (< 50)", "40", "1250000,50", "",
                       "3011 (2008), 33.15 (2025)", "Baanhoekweg 1", "3313 LA", "Dordrecht",
                       "Dordrecht", "GM0505", "https://alfa.nl", "'+31781234567",
                       "info@alfa.nl", "nee", ""]
    assert rows[1] == [str(beta.id), "Beta Staal", "", "", "Bedrijf", "Inactief", "Groot (250+)",
                       "300", "", "", "", "", "", "Dordrecht", "Dordrecht", "GM0505", "", "", "",
                       "nee", ""]


def test_organisations_xlsx_types_header_and_filters(client, login, make_user, orgs):
    alfa, _beta = orgs
    login(make_user("business_developer"))
    resp = client.get("/imports/export/organisations.xlsx?q=alfa&municipality=GM0505")
    assert f'filename="organisaties-{today()}.xlsx"' in resp.headers["Content-Disposition"]
    sheet = xlsx_sheet(resp)
    assert sheet.title == "Organisaties" and sheet.freeze_panes == "A2"
    assert all(c.font.bold for c in sheet[1])
    assert [c.value for c in sheet[1]] == ORG_HEADER
    assert sheet.max_row == 2  # Alfa Papendrecht is filtered out by the municipality
    row = sheet[2]
    assert row[0].value == alfa.id and row[0].data_type == "n"
    assert row[2].value == "01234567" and row[2].data_type == "s"  # KvK keeps its leading 0
    assert row[7].value == 40 and row[7].data_type == "n"
    assert row[8].value == 1250000.5 and row[8].data_type == "n"
    assert row[8].number_format == "#,##0.00"
    assert row[9].value is None
    assert row[17].value == "'+31781234567"
    assert row[16].value == "https://alfa.nl" and row[16].hyperlink is None  # text, not a link
    assert sheet.auto_filter.ref == "A1:U2"
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width


def test_a_large_xlsx_is_written_row_by_row_with_every_row_and_the_filter_over_all():
    """XlsxWriter's constant-memory mode: rows stream to a temporary file; the workbook still
    has every row, typed, with the header frozen and the filter over the whole list."""
    columns = [exports.Column("Tekst"), exports.Column("Getal", exports.INT),
               exports.Column("Bedrag", exports.NUMBER), exports.Column("Datum", exports.DATE)]
    export = exports.Export("organisations", "x", "Blad", columns, sa.select(sa.literal(1)),
                            lambda batch: batch)
    rows = [(f"Rij {i}", i, decimal.Decimal(i) / 4, dt.date(2026, 1, 1) + dt.timedelta(days=i))
            for i in range(2500)]
    done = []
    data, count = exports.write_xlsx(export, iter(rows), progress=done.append)
    assert count == 2500 and done == [1000, 2000]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.max_row == 2501 and sheet.auto_filter.ref == "A1:D2501"
    assert [c.value for c in sheet[2501]] == ["Rij 2499", 2499, 624.75,
                                             dt.datetime(2032, 11, 4)]
    assert sheet["D2501"].number_format == "mm-dd-yy" and sheet.freeze_panes == "A2"


def test_contacts_both_formats_with_the_search_filter(client, login, make_user, make_org,
                                                      make_contact):
    org = make_org(name="Delta Installatie", city="Sliedrecht")
    jan = make_contact(org, first_name="Jan", last_name="de Vries", function="Directeur",
                       email="jan@delta.nl", phone="0184-123456", lawful_basis="consent",
                       consent_date="2026-03-01", review_due="2027-03-01")
    make_contact(org, first_name="Piet", last_name="van Pietersen")
    login(make_user("local_account_manager"))
    header = ["Nummer", "Voornaam", "Achternaam", "Functie", "Organisatie", "KvK-nummer",
              "E-mailadres", "Telefoon", "Mobiel", "Voorkeurstaal", "Grondslag (AVG)",
              "Datum van toestemming", "Bron van de gegevens", "Bezwaar",
              "Herbeoordelen uiterlijk op"]
    assert csv_rows(client.get("/imports/export/contacts.csv?q=vries")) == [header, [
        str(jan.id), "Jan", "de Vries", "Directeur", "Delta Installatie", "", "jan@delta.nl",
        "'+31184123456", "", "Nederlands", "Toestemming", "2026-03-01", jan.source, "nee",
        "2027-03-01"]]
    rows = xlsx_rows(client.get(f"/imports/export/contacts.xlsx?organisation_id={org.id}"))
    assert rows[0] == header
    assert [r[2] for r in rows[1:]] == ["de Vries", "van Pietersen"]
    assert rows[1][11] == dt.datetime(2026, 3, 1) and rows[1][14] == dt.datetime(2027, 3, 1)


def test_interactions_both_formats_with_filters(client, login, make_user, make_org):
    world = build_world(make_user, make_org)
    login(world.users["author"])
    resp = client.get("/imports/export/interactions.csv?organisation=Dordtse&type=visit")
    rows = csv_rows(resp)
    assert rows[0] == ["Nummer", "Datum", "Soort contact", "Onderwerp", "Organisatie",
                       "KvK-nummer", "Vastgelegd door", "Vertrouwelijk", "Thema's",
                       "Contactpersonen aanwezig", "Verslag"]
    date = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    secret, public = world.interactions["dordrecht_secret"], world.interactions["dordrecht_public"]
    assert rows[1:] == [
        [str(secret.id), date, "Bedrijfsbezoek", SUBJECTS["dordrecht_secret"],
         "Dordtse Scheepswerf B.V.", "11112222", "Auke Auteur", "ja", "Risico", "",
         "Verslag dordrecht_secret"],
        [str(public.id), date, "Bedrijfsbezoek", SUBJECTS["dordrecht_public"],
         "Dordtse Scheepswerf B.V.", "11112222", "Auke Auteur", "nee", "Risico", "",
         "Verslag dordrecht_public"],
    ]
    sheet = xlsx_sheet(client.get("/imports/export/interactions.xlsx?confidential=0"))
    assert sheet.max_row == 3
    assert {sheet.cell(r, 4).value for r in (2, 3)} == {SUBJECTS["dordrecht_public"],
                                                        SUBJECTS["sliedrecht_public"]}
    assert sheet.cell(2, 2).is_date and sheet.cell(2, 2).value.date() == dt.date.fromisoformat(date)
    assert sheet.cell(2, 2).number_format == "mm-dd-yy"  # Excel's own short date of the reader


def test_participations_both_formats_with_the_status_filter(client, login, make_user, make_org):
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    bd = make_user("business_developer", name="Bea Developer")
    werf = make_org(name="Werf Noord", city="Papendrecht", kvk_number="55556666")
    add_participation(scale, werf.id, actor=bd, status="participating", notes="Intake gedaan")
    add_participation(scale, make_org(name="Bouwbedrijf Zuid").id, actor=bd)
    db.session.commit()
    login(bd)
    rows = csv_rows(client.get("/imports/export/participations/SCALE.csv?status=participating"))
    assert rows == [["Programma", "Organisatie", "KvK-nummer", "Plaats", "Gemeente", "Status",
                     "Status sinds", "Eigenaar", "Notities"],
                    ["scale", "Werf Noord", "55556666", "Papendrecht", "Papendrecht",
                     "Neemt deel", today(), "Bea Developer", "Intake gedaan"]]
    resp = client.get("/imports/export/participations/scale.xlsx")
    assert f'filename="deelnames-scale-{today()}.xlsx"' in resp.headers["Content-Disposition"]
    rows = xlsx_rows(resp)
    assert sorted(r[1] for r in rows[1:]) == ["Bouwbedrijf Zuid", "Werf Noord"]
    assert client.get("/imports/export/participations/geen-programma.csv").status_code == 404
    assert client.get("/imports/export/participations.csv").status_code == 404


# --- Visibility: the export sees what the list page sees ----------------------------------

@pytest.mark.parametrize("who", sorted(set(EXPECTED_VISIBLE) - {"viewer"}))
def test_interaction_exports_hold_what_the_user_may_see(client, login, make_user, make_org, who):
    world = build_world(make_user, make_org)
    login(world.users[who])
    rows = csv_rows(client.get("/imports/export/interactions.csv"))
    assert {r[3] for r in rows[1:]} == {SUBJECTS[k] for k in EXPECTED_VISIBLE[who]}


def test_the_job_runs_the_query_as_the_user_who_asked(client, login, make_user, make_org,
                                                      monkeypatch, app):
    world = build_world(make_user, make_org)
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_ROWS", 1)
    for who, expected in (("regional_account_manager", 2), ("author", 4)):
        client.post("/logout")
        login(world.users[who])
        resp = client.get("/imports/export/interactions.csv")
        assert resp.status_code == 302
        job = finish(resp.headers["Location"].rsplit("/", 1)[1])
        assert job.status == "finished" and job.result["rows"] == expected
        data = client.get(f"/jobs/{job.id}/files/output")
        subjects = {r[3] for r in csv_rows(data)[1:]}
        assert (SUBJECTS["sliedrecht_secret"] in subjects) is (who == "author")


# --- Formula neutralisation ---------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x","y")', "+31 78 123", "-1+1", "@SUM(A1)"]


def test_hostile_names_are_neutralised_in_both_formats(client, login, make_user, make_org):
    for name in HOSTILE:
        make_org(name=name, city="Dordrecht", legal_form="=1+1")
    login(make_user("admin"))
    expected = sorted("'" + n for n in HOSTILE)
    rows = csv_rows(client.get("/imports/export/organisations.csv"))
    assert sorted(r[1] for r in rows[1:]) == expected
    assert {r[3] for r in rows[1:]} == {"'=1+1"}
    sheet = xlsx_sheet(client.get("/imports/export/organisations.xlsx"))
    cells = [sheet.cell(r, 2) for r in range(2, sheet.max_row + 1)]
    assert sorted(c.value for c in cells) == expected
    assert {c.data_type for c in cells} == {"s"}  # text, never a formula ("f")


def test_numbers_stay_numbers_and_every_dangerous_start_is_caught():
    columns = [exports.Column("Tekst"), exports.Column("Getal", exports.INT),
               exports.Column("Bedrag", exports.NUMBER), exports.Column("Datum", exports.DATE)]
    export = exports.Export("organisations", "x", "Blad", columns, sa.select(sa.literal(1)),
                            lambda batch: batch)
    rows = [("\tgevaar", -5, decimal.Decimal("-1.50"), dt.date(2026, 11, 28)),
            ("\r=1", 0, decimal.Decimal("2"), None), ("gewoon - tekst", None, None, None),
            ("-", 7, None, None)]
    data, count = exports.write_csv(export, rows)
    assert count == 4
    assert data.decode("utf-8-sig").split("\r\n") == [
        "Tekst;Getal;Bedrag;Datum", "'\tgevaar;-5;-1,50;2026-11-28", "\"'\r=1\";0;2;",
        "gewoon - tekst;;;", "'-;7;;", ""]
    data, count = exports.write_xlsx(export, rows)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[2]] == ["'\tgevaar", -5, -1.5, dt.datetime(2026, 11, 28)]
    assert (sheet["B2"].data_type, sheet["C2"].data_type) == ("n", "n")
    # (XML reads a carriage return back as a line feed; the apostrophe is what matters.)
    assert sheet["A3"].value in ("'\r=1", "'\n=1") and sheet["A5"].value == "'-"


# --- Who may export -----------------------------------------------------------------------

ROLES = ("admin", "regional_account_manager", "local_account_manager", "business_developer",
         "viewer")
URLS = {"organisations": "/imports/export/organisations.{fmt}",
        "contacts": "/imports/export/contacts.{fmt}",
        "interactions": "/imports/export/interactions.{fmt}",
        "participations": "/imports/export/participations/scale.{fmt}"}


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, login, make_user, role):
    login(make_user(role))
    for kind, url in URLS.items():
        for fmt in ("csv", "xlsx"):
            expected = 403 if role == "viewer" else 200
            assert client.get(url.format(fmt=fmt)).status_code == expected, (kind, fmt)
            assert exports.may_export(make_user(role), kind) is (role != "viewer")


def test_anonymous_users_are_sent_to_the_login_and_nonsense_is_404(client, login, make_user):
    resp = client.get("/imports/export/organisations.csv")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login(make_user("admin"))
    for url in ("/imports/export/leads.csv", "/imports/export/organisations.pdf",
                "/imports/export/organisations.csv.xlsx"):
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "export")) == 0


def test_an_inactive_user_is_not_allowed_to_export(make_user):
    user = make_user("admin")
    user.active = False
    assert exports.may_export(user, "organisations") is False


# --- The direct path: audited, no COUNT(*), a fixed number of statements ------------------

def test_a_direct_export_is_audited(client, login, make_user, orgs):
    user = make_user("local_account_manager")
    login(user)
    client.get("/imports/export/organisations.xlsx?municipality=GM0505&q=&page=2")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export"))
    assert (event.user_id, event.entity_type, event.entity_id, event.source) == (
        user.id, "export", "organisations", "web")
    assert event.changes == {"rows": 2, "format": "xlsx", "filters": "municipality=GM0505"}


def _statements(client, count_queries, url):
    with count_queries() as q:
        resp = client.get(url)
    assert resp.status_code == 200
    return q.statements


def test_the_direct_path_never_counts_and_costs_the_same_for_more_rows(
        client, login, make_user, make_org, count_queries):
    login(make_user("admin"))
    for i in range(3):
        make_org(name=f"Klein {i}", sbi_codes=["3011"])
    few = _statements(client, count_queries, "/imports/export/organisations.csv")
    for i in range(30):
        make_org(name=f"Meer {i}", sbi_codes=["3011", "2562"])
    many = _statements(client, count_queries, "/imports/export/organisations.csv")
    assert not [s for s in many if re.search(r"\bcount\s*\(", s, re.I)]
    assert len(few) == len(many) == 4  # the user, the rows (LIMIT n+1), their SBI codes, the audit
    assert "LIMIT" in many[1].upper()


# --- Large sets go through a job ----------------------------------------------------------

def test_a_large_set_becomes_a_job_whose_page_offers_the_download(client, login, make_user, orgs,
                                                                  monkeypatch, app):
    user = make_user("regional_account_manager")
    login(user)
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_ROWS", 2)
    assert client.get("/imports/export/organisations.csv?municipality=GM0505").status_code == 200
    resp = client.get("/imports/export/organisations.csv?q=alfa&page=4")  # 3 rows > 2
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/jobs/")
    job = finish(resp.headers["Location"].rsplit("/", 1)[1])
    assert (job.kind, job.status, job.progress, job.created_by_id) == (
        "export_list", "finished", 100, user.id)
    assert job.params == {"export": "organisations", "format": "csv", "args": {"q": "alfa"},
                          "programme": None}
    assert job.message == f"Klaar: 3 rijen geëxporteerd naar organisaties-{today()}.csv."
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "meer dan 2 rijen" in page  # the flash message tells why
    assert f'href="/jobs/{job.id}/files/output"' in page
    assert "Exportbestand downloaden" in page and f"organisaties-{today()}.csv" in page
    download = client.get(f"/jobs/{job.id}/files/output")
    assert f'filename="organisaties-{today()}.csv"' in download.headers["Content-Disposition"]
    assert [r[1] for r in csv_rows(download)[1:]] == [
        "Alfa Papendrecht", "Alfa Werf B.V.", "Alfa Zwijndrecht"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export",
                                                          AuditEvent.source == "job"))
    assert event.user_id == user.id and event.changes["rows"] == 3
    client.post("/logout")
    login(make_user("regional_account_manager"))
    assert client.get(f"/jobs/{job.id}/files/output").status_code == 404  # not someone else's


def test_a_job_whose_user_lost_the_right_fails_with_a_message(make_user, orgs):
    user = make_user("regional_account_manager")
    job = export_jobs.create_job(actor=user, kind="contacts", fmt="xlsx", args={})
    user.role = "viewer"
    db.session.commit()
    job = finish(job.id)
    assert job.status == "failed"
    assert job.message == "U mag deze lijst niet (meer) exporteren."
    assert db.session.scalar(sa.select(JobFile).where(JobFile.job_id == job.id)) is None
    assert export_jobs.run_job("no-such-job") is None


def test_a_finished_job_is_not_run_twice(make_user, orgs):
    job = export_jobs.create_job(actor=make_user("admin"), kind="organisations", fmt="xlsx",
                                 args={"municipality": "GM0505"})
    db.session.commit()
    job = finish(job.id)
    assert job.result["rows"] == 2
    assert export_jobs.run_job(job.id) == job.result
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export", AuditEvent.source == "job")) == 1


def test_a_job_streams_in_batches_each_with_its_own_sbi_codes(client, login, make_user,
                                                              monkeypatch, app):
    from sdd_crm.organisations.models import Organisation, OrganisationSbi

    monkeypatch.setattr(exports, "BATCH", 100)
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_ROWS", 100)
    db.session.execute(sa.insert(Organisation), [
        {"name": f"Bedrijf {i:03d}", "org_type": "company", "size_class": "unknown",
         "status": "active", "is_critical": False, "version": 1}
        for i in range(1, 251)])
    ids = db.session.scalars(sa.select(Organisation.id).order_by(Organisation.name)).all()
    db.session.execute(sa.insert(OrganisationSbi), [
        {"organisation_id": org_id, "code": f"{1000 + n}", "version": "2008", "is_main": True}
        for n, org_id in enumerate(ids)])
    db.session.commit()
    login(make_user("admin"))
    resp = client.get("/imports/export/organisations.xlsx")
    job = finish(resp.headers["Location"].rsplit("/", 1)[1])
    assert (job.status, job.result["rows"]) == ("finished", 250)
    rows = xlsx_rows(client.get(f"/jobs/{job.id}/files/output"))
    assert [(r[1], r[10]) for r in rows[1:]] == [
        (f"Bedrijf {i:03d}", f"{999 + i} (2008)") for i in range(1, 251)]


def test_more_rows_than_an_excel_sheet_holds_fail_the_job_with_a_message(make_user, orgs,
                                                                          monkeypatch, tmp_path):
    """XlsxWriter drops rows past Excel's last one without a word: the job fails instead,
    saying what to do, and stores no file — nor leaves XlsxWriter's temporary one behind."""
    import tempfile

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    job = export_jobs.create_job(actor=make_user("admin"), kind="organisations", fmt="xlsx",
                                 args={})
    db.session.commit()
    job = finish(job.id)
    assert job.status == "failed" and job.message == (
        "Deze lijst heeft meer dan 2 rijen, meer dan een Excel-blad bevat. Kies CSV, of "
        "verklein de lijst met een filter.")
    assert db.session.scalar(sa.select(JobFile).where(JobFile.job_id == job.id)) is None
    assert list(tmp_path.iterdir()) == []


def test_a_viewer_export_would_hold_no_notes_and_no_rows(make_user, make_org):
    """Belt and braces under the 403: the builder itself leaves notes out for viewers."""
    world = build_world(make_user, make_org)
    export = exports.build_export("interactions", world.users["viewer"], {})
    assert "Verslag" not in [str(c.header) for c in export.columns]
    assert list(export.rows()) == []


def test_a_crashing_job_is_marked_failed_and_stores_nothing(make_user, orgs, monkeypatch):
    job = Job(id="crash-1", kind=export_jobs.JOB_KIND, created_by_id=make_user("admin").id,
              params={"export": "organisations", "format": "csv", "args": {}})
    db.session.add(job)
    db.session.commit()  # a row only: not enqueued, run by hand below
    monkeypatch.setattr(exports, "write_csv", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        export_jobs.run_job(job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and job.message.startswith(
        "Het exporteren is mislukt (ZeroDivisionError).")
    assert db.session.scalar(sa.select(JobFile).where(JobFile.job_id == job.id)) is None
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export")) is None
