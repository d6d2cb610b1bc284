"""The accountability export (issue 5): the workbook read back cell by cell, the job in-process,
the browser and API flows, who may export, and (marked ``redis``) a real RQ worker."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from export_support import EXPORT_CODE, crafted_programme, sheet_rows, worker_app  # noqa: F401
from sdd_crm.extensions import db
from sdd_crm.i18n import local_today
from sdd_crm.jobs.files import load_file
from sdd_crm.jobs.models import Job
from sdd_crm.programmes import export_jobs
from sdd_crm.programmes.export import XLSX_MIMETYPE, build_workbook, safe_text

UTC = dt.UTC
MANAGERS = ("admin", "regional_account_manager", "business_developer")
OTHERS = ("local_account_manager", "viewer")


@pytest.fixture
def crafted(make_org, make_user):
    return crafted_programme(make_org, make_user)


def _export(crafted, *, at=dt.datetime(2026, 6, 15, 10, 0, 5, tzinfo=UTC)):
    data = export_jobs.collect_export_data(
        crafted["programme"], job_id="job-123", generated_at=at,
        generated_by="Bea Developer (bea@sdd.example)")
    return data, load_workbook(io.BytesIO(build_workbook(data)))


def test_the_counted_sheet_lists_every_counted_organisation_with_its_evidence(crafted):
    o, p = crafted["orgs"], crafted["participations"]
    _data, wb = _export(crafted)
    assert wb.sheetnames == ["Samenvatting", "Meegeteld", "Niet meegeteld"]
    rows = sheet_rows(wb["Meegeteld"])
    assert rows[0] == (
        "Organisatie", "KvK-nummer", "Gemeente", "CBS-code", "Werkzame personen",
        "Jaaromzet (EUR)", "Balanstotaal (EUR)", "Mkb-oordeel", "Moedermaatschappij (groep)",
        "KvK-nummer groep", "Status deelname", "Meegeteld sinds", "Eigenaar deelname",
        "CRM-id organisatie", "CRM-id deelname")
    assert rows[1:] == [
        ("'=HYPERLINK(\"http://evil.example\",\"klik\")", None, "Dordrecht", "GM0505", 5, 100000,
         None, "mkb", None, None, "Neemt deel", dt.datetime(2026, 5, 20), None,
         o["formula"].id, p["formula"].id),
        ("Aannemer Dordt B.V.", "01234567", "Dordrecht", "GM0505", 12, 2500000, 1250000.5,
         "mkb", "Dordt Holding B.V.", "76543210", "Afgerond", dt.datetime(2026, 4, 1),
         "Bea Developer", o["sme"].id, p["sme"].id),
        ("Installatiebedrijf Papendrecht", "87654321", "Papendrecht", "GM0590", 8, None, None,
         "mkb, cijfers niet geverifieerd", None, None, "Neemt deel", dt.datetime(2026, 2, 10),
         "Bea Developer", o["unverified"].id, p["unverified"].id),
    ]
    ws = wb["Meegeteld"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:O4"
    assert all(cell.font.b for cell in ws[1])
    assert ws["B3"].number_format == "@" and ws["L3"].number_format == "dd-mm-yyyy"
    assert ws["F3"].data_type == "n" and ws["L3"].is_date
    assert 20 < ws.column_dimensions["A"].width <= 62


def test_every_exclusion_is_listed_with_its_reason_in_rule_order(crafted):
    o, p = crafted["orgs"], crafted["participations"]
    _data, wb = _export(crafted)
    rows = sheet_rows(wb["Niet meegeteld"])
    assert rows[0][:13] == (
        "Organisatie", "KvK-nummer", "Gemeente", "CBS-code", "Soort organisatie",
        "Werkzame personen", "Jaaromzet (EUR)", "Balanstotaal (EUR)", "Status deelname",
        "Redencode", "Reden", "Toelichting", "Geregistreerd op (samengevoegd record)")
    got = [(r[0], r[9], r[11], r[12], r[13], r[14]) for r in rows[1:]]
    assert got == [
        ("'@Home Installaties", "status", "De deelname heeft de status 'Benaderd'; alleen "
         "'Neemt deel' en 'Afgerond' tellen mee.", None, o["status"].id, p["status"].id),
        ("Weg B.V.", "deleted", "De organisatie is verwijderd uit het CRM.", None,
         o["deleted"].id, p["deleted"].id),
        ("Opgeheven B.V.", "dissolved", "De organisatie is opgeheven.", None,
         o["dissolved"].id, p["dissolved"].id),
        ("Gorcumse Bouw B.V.", "outside_region", "Gemeente Gorinchem hoort niet bij de regio van "
         "het programma.", None, o["outside"].id, p["outside"].id),
        ("Onbekend Adres B.V.", "outside_region", "De gemeente van de organisatie is onbekend, "
         "dus niet aantoonbaar in de regio.", None, o["nowhere"].id, p["nowhere"].id),
        ("Da Vinci College", "not_company", "De organisatie is geen bedrijf maar 'Onderwijs'; "
         "de mkb-definitie geldt alleen voor bedrijven.", None, o["school"].id, p["school"].id),
        ("Zonder Personeel B.V.", "employees_unknown", "Het aantal werkzame personen is onbekend, "
         "dus de mkb-toets kan niet worden gedaan.", None, o["unknown"].id, p["unknown"].id),
        ("Groot Bedrijf N.V.", "not_sme", "300 werkzame personen; een mkb-bedrijf heeft er minder "
         "dan 250.", None, o["big"].id, p["big"].id),
        ("Rijk Bedrijf B.V.", "not_sme", "De jaaromzet is hoger dan EUR 50 miljoen en het "
         "balanstotaal hoger dan EUR 43 miljoen (of het enige bekende cijfer ligt boven zijn "
         "grens).", None, o["rich"].id, p["rich"].id),
        ("Dochter B.V.", "group_not_sme", "De organisatie hoort bij de groep van Concern N.V. "
         "(KvK 11223344), die geen mkb (of geen bedrijf) is; dan is de organisatie zelf ook geen "
         "mkb.", None, o["daughter"].id, p["daughter"].id),
        ("Aannemer Dordt B.V.", "duplicate", "De deelname staat op Aannemer Dordt (dubbel) "
         "(KvK 01234568), samengevoegd met deze organisatie, die al meetelt via een andere "
         "deelname; elke organisatie telt één keer.", "Aannemer Dordt (dubbel) (KvK 01234568)",
         o["sme"].id, p["duplicate"].id),
    ]
    big = rows[8]
    assert big[1:11] == ("30000002", "Dordrecht", "GM0505", "Bedrijf", 300, None, None,
                         "Neemt deel", "not_sme", "Geen mkb")
    assert rows[6][4] == "Onderwijs" and rows[9][6:8] == (60000000, 50000000)


def test_the_summary_sheet_explains_the_count(crafted):
    _data, wb = _export(crafted)
    ws = wb["Samenvatting"]
    facts = {r[0]: r[1] for r in sheet_rows(ws) if r[0]}
    assert ws["A1"].value == "Verantwoording mkb-telling" and ws["A1"].font.b
    assert facts["Programma"] == "Verantwoordingstest" and facts["Programmacode"] == EXPORT_CODE
    assert facts["Financier"] == "Nationaal Groeifonds"
    assert (facts["Startdatum"], facts["Einddatum"]) == (dt.datetime(2024, 1, 1),
                                                          "(niet vastgelegd)")
    assert facts["Regio van het programma"] == "Dordrecht (GM0505), Papendrecht (GM0590)"
    assert facts["Doel (aantal mkb-bedrijven)"] == 4
    assert facts["Meegeteld (unieke organisaties)"] == 3
    assert facts["waarvan mkb met niet-geverifieerde cijfers"] == 1
    assert facts["Voortgang ten opzichte van het doel"] == 0.75
    assert facts["Niet meegetelde deelnames"] == 11 and facts["Deelnames in totaal"] == 14
    assert facts["Stand per (Nederlandse tijd)"] == dt.datetime(2026, 6, 15, 12, 0, 5)  # CEST
    assert facts["Gegenereerd door"] == "Bea Developer (bea@sdd.example)"
    assert facts["Kenmerk van deze export"] == "job-123"
    rule = " ".join(str(r[1]) for r in sheet_rows(ws) if r[0] is None and r[1])
    for words in ("'Neemt deel' of 'Afgerond'", "minder dan 250 werkzame personen",
                  "ten hoogste EUR 50 miljoen", "ten hoogste EUR 43 miljoen",
                  "2003/361/EG", "regio van het programma", "niet opgeheven",
                  "samengevoegd, tellen als één organisatie", "'mkb, cijfers niet geverifieerd'"):
        assert words in rule
    reasons = {r[2]: r[3] for r in sheet_rows(ws) if r[2] in (
        "status", "deleted", "dissolved", "outside_region", "not_company", "employees_unknown",
        "not_sme", "group_not_sme", "duplicate")}
    assert reasons == {"status": 1, "deleted": 1, "dissolved": 1, "outside_region": 2,
                       "not_company": 1, "employees_unknown": 1, "not_sme": 2,
                       "group_not_sme": 1, "duplicate": 1}
    per_municipality = {r[1]: r[2] for r in sheet_rows(ws) if r[1] in ("GM0505", "GM0590")}
    assert per_municipality == {"GM0505": 2, "GM0590": 1}


def test_formula_like_text_is_neutralised_everywhere():
    assert [safe_text(s) for s in ("=1+1", "+31 78", "-5", "@SUM(A1)", "\tx", "\rx", "A=B",
                                   "nul\x00byte")] == [
        "'=1+1", "'+31 78", "'-5", "'@SUM(A1)", "'\tx", "'\rx", "A=B", "nulbyte"]


def test_the_same_data_gives_the_same_bytes(crafted):
    data, _wb = _export(crafted)
    first, again = build_workbook(data), build_workbook(data)
    assert first == again
    from dataclasses import replace

    later = replace(data, generated_at=data.generated_at + dt.timedelta(seconds=1))
    assert build_workbook(later) != first


def test_collecting_the_data_takes_a_fixed_number_of_queries(crafted, count_queries, make_org):
    from export_support import _participate

    def queries() -> int:
        db.session.expire_all()
        with count_queries() as q:
            _export(crafted)
        return q.count

    first = queries()
    for i in range(6):
        _participate(crafted["programme"], make_org(name=f"Extra {i}", employees=3),
                     "participating", [("participating", dt.datetime(2026, 4, 1, tzinfo=UTC))],
                     owner=crafted["users"]["admin"])
    db.session.commit()
    assert queries() == first <= 14  # no query per participation, organisation or owner


# --- the job, in-process -----------------------------------------------------------------------

def test_the_job_builds_and_stores_the_workbook_once(crafted):
    bea = crafted["users"]["bea"]
    job = export_jobs.create_export_job(crafted["programme"], bea, enqueue=False)
    assert (job.kind, job.status, job.params["programme_code"]) == (
        "programme_export", "queued", EXPORT_CODE)
    db.session.commit()
    result = export_jobs.run_export_job(job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.progress, job.created_by_id) == ("finished", 100, bea.id)
    assert job.message == "Klaar: 3 organisaties meegeteld, 11 deelnames niet meegeteld."
    assert result == job.result
    assert {k: result[k] for k in ("counted", "unverified", "excluded_total", "rows", "target")} \
        == {"counted": 3, "unverified": 1, "excluded_total": 11, "rows": 14, "target": 4}
    assert result["excluded"]["outside_region"] == 2 and sum(result["excluded"].values()) == 11
    stored = load_file(job.id, "output")
    filename = f"{EXPORT_CODE}-verantwoording-{local_today().isoformat()}.xlsx"
    assert (stored.filename, stored.content_type) == (filename, XLSX_MIMETYPE)
    assert result["filename"] == filename and result["size"] == stored.size == len(stored.data)
    import hashlib

    assert result["sha256"] == hashlib.sha256(stored.data).hexdigest()
    wb = load_workbook(io.BytesIO(stored.data))
    assert wb["Samenvatting"]["B4"].value == "Verantwoordingstest"
    assert len(sheet_rows(wb["Meegeteld"])) == 4

    data_before = stored.data
    assert export_jobs.run_export_job(job.id) == result  # finished: not rebuilt
    assert load_file(job.id, "output").data == data_before
    assert export_jobs.run_export_job("no-such-job") is None


def test_a_failure_marks_the_job_failed_in_dutch_and_stores_nothing(crafted, monkeypatch):
    def broken(data):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_jobs, "build_workbook", broken)
    job = export_jobs.create_export_job(crafted["programme"], crafted["users"]["bea"],
                                        enqueue=False)
    db.session.commit()
    with pytest.raises(RuntimeError):
        export_jobs.run_export_job(job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and job.finished_at is not None
    assert job.message.startswith("De export is mislukt (RuntimeError).")
    assert load_file(job.id, "output") is None

    monkeypatch.undo()  # a retry after the failure builds the file
    assert export_jobs.run_export_job(job.id)["counted"] == 3
    assert db.session.get(Job, job.id).status == "finished"


def test_progress_is_reported_per_phase_and_a_crashed_run_is_rebuilt(crafted, monkeypatch):
    calls = []

    class Recorder:
        def __init__(self, job_id):
            self.job_id = job_id

        def __call__(self, percent, message=None):
            calls.append((self.job_id, percent, message))

    from sdd_crm.jobs import lifecycle

    monkeypatch.setattr(lifecycle, "ProgressReporter", lambda job_id, echo=None: Recorder(job_id))
    job = export_jobs.create_export_job(crafted["programme"], crafted["users"]["bea"],
                                        enqueue=False)
    job.status, job.progress = "running", 40  # a worker died here: nothing was stored
    db.session.commit()
    assert export_jobs.run_export_job(job.id)["rows"] == 14
    assert calls == [(job.id, 10, "Telling uitvoeren"), (job.id, 40, "Organisatiegegevens ophalen"),
                     (job.id, 70, "Werkmap opbouwen"), (job.id, 90, "Bestand opslaan"),
                     (job.id, 100, "Klaar: 3 organisaties meegeteld, 11 deelnames niet meegeteld.")]
    assert db.session.get(Job, job.id).status == "finished"


def test_a_deleted_programme_fails_with_a_clear_message(crafted):
    from sdd_crm.db import utcnow

    job = export_jobs.create_export_job(crafted["programme"], crafted["users"]["bea"],
                                        enqueue=False)
    crafted["programme"].deleted_at = utcnow()
    db.session.commit()
    assert export_jobs.run_export_job(job.id) is None
    job = db.session.get(Job, job.id)
    assert (job.status, job.message) == (
        "failed", "Het programma bestaat niet meer; er is geen export gemaakt.")


# --- browser and API -----------------------------------------------------------------------------

def test_export_from_the_browser_redirects_to_the_job_page_and_downloads(crafted, client, login):
    login(crafted["users"]["bea"])
    resp = client.post(f"/programmes/{EXPORT_CODE}/export")
    assert resp.status_code == 302
    job = db.session.scalars(sa.select(Job).where(Job.kind == "programme_export")).one()
    assert resp.headers["Location"] == f"/jobs/{job.id}"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Verantwoordingsexport van een programma" in page
    assert "De export is gestart" in page and "Klaar" in page
    assert "Verantwoording (Excel-werkmap)" in page and f"/jobs/{job.id}/files/output" in page
    assert "Uitkomst van de telling" in page and "buiten de regio van het programma" in page
    download = client.get(f"/jobs/{job.id}/files/output")
    assert download.status_code == 200 and download.mimetype == XLSX_MIMETYPE
    assert "verantwoording" in download.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(download.data))
    assert [r[0] for r in sheet_rows(wb["Meegeteld"])[1:]] == [
        "'=HYPERLINK(\"http://evil.example\",\"klik\")", "Aannemer Dordt B.V.",
        "Installatiebedrijf Papendrecht"]


@pytest.mark.parametrize("role", MANAGERS + OTHERS)
def test_who_may_export_in_the_browser(crafted, client, login, make_user, role):
    login(make_user(role))
    resp = client.post(f"/programmes/{EXPORT_CODE}/export")
    assert resp.status_code == (302 if role in MANAGERS else 403)
    jobs = db.session.scalars(sa.select(Job).where(Job.kind == "programme_export")).all()
    assert len(jobs) == (1 if role in MANAGERS else 0)


def test_the_export_button_shows_for_managers_only(crafted, app, make_user):
    from flask import render_template
    from flask_login import login_user

    def render(user):
        with app.test_request_context("/"):
            login_user(user)
            return render_template("programmes/_export_button.html",
                                   programme=crafted["programme"])

    html = render(crafted["users"]["bea"])
    assert f'action="/programmes/{EXPORT_CODE}/export"' in html and 'name="csrf_token"' in html
    assert "Verantwoording exporteren (Excel)" in html
    assert render(make_user("viewer")).strip() == ""
    assert render(make_user("local_account_manager")).strip() == ""


def test_unknown_programme_and_anonymous(client, login, make_user):
    assert client.post(f"/programmes/{EXPORT_CODE}/export").status_code == 302  # to /login
    login(make_user("admin"))
    assert client.post("/programmes/bestaat-niet/export").status_code == 404
    assert client.get(f"/programmes/{EXPORT_CODE}/export").status_code == 405


def test_the_api_starts_the_export_and_serves_the_file(crafted, client, api_headers, make_user):
    headers = api_headers(crafted["users"]["bea"])
    resp = client.post(f"/api/v1/programmes/{EXPORT_CODE}/export", headers=headers)
    assert resp.status_code == 202
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/v1/jobs/{body['id']}"
    assert (body["kind"], body["status"], body["result"]) == ("programme_export", "queued", None)
    done = client.get(resp.headers["Location"], headers=headers).get_json()  # tests: inline
    assert (done["status"], done["result"]["counted"]) == ("finished", 3)
    file = client.get(f"/api/v1/jobs/{body['id']}/files/output", headers=headers)
    assert file.status_code == 200 and file.mimetype == XLSX_MIMETYPE
    assert file.headers["Content-Disposition"].startswith('attachment; filename="')
    assert load_workbook(io.BytesIO(file.data)).sheetnames[0] == "Samenvatting"

    other = api_headers(make_user("business_developer"))
    admin = api_headers(make_user("admin"))
    assert client.get(f"/api/v1/jobs/{body['id']}/files/output", headers=other).status_code == 404
    assert client.get(f"/api/v1/jobs/{body['id']}/files/output", headers=admin).status_code == 200
    assert client.get(f"/api/v1/jobs/{body['id']}/files/report", headers=admin).status_code == 404
    assert client.get(f"/api/v1/jobs/{'x' * 40}/files/output", headers=admin).status_code == 404
    assert client.get(f"/api/v1/jobs/{body['id']}/files/output").status_code == 401


@pytest.mark.parametrize("role", MANAGERS + OTHERS)
def test_who_may_export_in_the_api(crafted, client, api_headers, make_user, role):
    resp = client.post(f"/api/v1/programmes/{EXPORT_CODE}/export",
                       headers=api_headers(make_user(role)))
    assert resp.status_code == (202 if role in MANAGERS else 403)
    if role not in MANAGERS:
        assert resp.get_json()["error"]["code"] == "forbidden"


def test_the_api_answers_404_for_an_unknown_programme(client, api_headers, make_user):
    resp = client.post("/api/v1/programmes/bestaat-niet/export",
                       headers=api_headers(make_user("admin")))
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


# --- a real Redis and a real RQ worker ---------------------------------------------------------
# A worker's work-horse is another process (``flask rq work-horse``): it cannot see data in this
# test's rolled-back transaction. So this test gets a second app on a database of its own
# (a PostgreSQL database next to TEST_DATABASE_URL's, or a SQLite file), committed for real and
# dropped afterwards, and a queue of its own on Redis database 13 (the export's RQ job is pointed
# at it, and the work-horse learns it from SDD_CRM_RQ_QUEUES), so that it neither touches queues
# in real use nor shares one with another test, or another run, going on at the same time.

@pytest.mark.redis
def test_the_export_runs_on_a_real_redis_worker(worker_app):
    from conftest import PASSWORD
    from sdd_crm.auth.services import create_token, create_user
    from sdd_crm.extensions import rq
    from sdd_crm.organisations.services import create_organisation
    from sdd_crm.programmes.models import Programme
    from sdd_crm.programmes.services import add_participation

    other, queue = worker_app
    bea = create_user(email="bea@sdd.example", name="Bea Developer", role="business_developer",
                      password=PASSWORD)
    db.session.flush()
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    for name, city in (("Warmtepomp Dordt B.V.", "Dordrecht"), ("Gorcumse Bouw B.V.", "Gorinchem")):
        org = create_organisation({"name": name, "org_type": "company", "city": city,
                                   "employees": 9}, actor=bea)
        add_participation(scale, org.id, actor=bea, status="participating")
    token = create_token(bea, "worker test")
    db.session.commit()

    client = other.test_client()
    assert client.post("/login", data={"email": bea.email, "password": PASSWORD}).status_code == 302
    resp = client.post("/programmes/scale/export")
    assert resp.status_code == 302
    job_id = resp.headers["Location"].rsplit("/", 1)[1]
    [rq_job] = queue.get_jobs()  # enqueued after the commit, for the worker to pick up
    assert (rq_job.id, rq_job.func_name, rq_job.timeout) == (
        job_id, "sdd_crm.programmes.export_jobs.export_programme", export_jobs.DEFAULT_TIMEOUT)
    assert "In de wachtrij" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert client.get(f"/jobs/{job_id}/status").get_json()["done"] is False

    # The client's requests share this test's app context, hence its session: end its read
    # transaction, as the end of a real request would.
    db.session.remove()
    rq.make_worker([queue.name]).work(burst=True)  # forks `flask rq work-horse`, as in production
    rq_job.refresh()
    assert rq_job.get_status() == "finished", rq_job.latest_result()
    assert rq_job.return_value()["counted"] == 1
    assert rq_job.meta["progress"] >= 10
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert (status["status"], status["progress"], status["done"]) == ("finished", 100, True)
    download = client.get(status["files"]["output"])
    assert download.status_code == 200 and download.mimetype == XLSX_MIMETYPE
    wb = load_workbook(io.BytesIO(download.data))
    assert [r[0] for r in sheet_rows(wb["Meegeteld"])[1:]] == ["Warmtepomp Dordt B.V."]
    assert [(r[0], r[9]) for r in sheet_rows(wb["Niet meegeteld"])[1:]] == [
        ("Gorcumse Bouw B.V.", "outside_region")]

    headers = {"Authorization": f"Bearer {token}"}
    job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert (job["status"], job["result"]["counted"], job["result"]["excluded_total"]) == (
        "finished", 1, 1)
    api_file = client.get(f"/api/v1/jobs/{job_id}/files/output", headers=headers)
    assert api_file.data == download.data
