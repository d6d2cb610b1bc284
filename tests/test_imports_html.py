"""Imports in the browser (issue 6): upload → column mapping → preview (dry run) → import,
with the summary and the rejected rows on the job page, saved mappings, bad uploads and who
may do it. Jobs run in-process (RQ on fakeredis) right after the commit, as in embedded mode.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, form_fields, text
from import_support import sample, xlsx_bytes
from sdd_crm.contacts.models import Contact
from sdd_crm.extensions import db
from sdd_crm.imports.models import ImportMapping
from sdd_crm.jobs.models import Job, JobFile
from sdd_crm.organisations.models import Organisation

KVK_SAMPLE = sample("kvk_export_nl.csv")
EN_SAMPLE = sample("organisations_en.csv")
CONTACTS_SAMPLE = sample("contacts_outlook.csv")
KVK_MAPPING = {"col_0": "name", "col_1": "kvk_number", "col_2": "establishment_number",
               "col_3": "street", "col_4": "postcode", "col_5": "city", "col_6": "sbi_main",
               "col_7": "employees", "col_8": "annual_turnover_eur"}
IMPORTERS = ("admin", "regional_account_manager", "business_developer")
ROLES = (*IMPORTERS, "local_account_manager", "viewer")


# --- helpers shared with test_import_review_html.py ----------------------------------------------

def upload(client, data: bytes, filename: str, kind: str = "organisations"):
    return client.post("/imports/", data={"kind": kind, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def preview(client, data: bytes, filename: str, kind: str = "organisations", changes=None):
    """Upload and post the mapping as the browser shows it: the preview job's page URL."""
    resp = upload(client, data, filename, kind)
    assert resp.status_code == 302, text(resp)[:2000]
    mapping_url = resp.headers["Location"]
    fields = {**form_fields(client.get(mapping_url), "/mapping"), **(changes or {})}
    resp = client.post(mapping_url, data=fields)
    assert resp.status_code == 302, text(resp)[:3000]
    return resp.headers["Location"]


def run_preview(client, job_url: str) -> str:
    resp = client.post(job_url.replace("/jobs/", "/imports/") + "/run")
    assert resp.status_code == 302, text(resp)[:2000]
    return resp.headers["Location"]


def import_file(client, data: bytes, filename: str, kind: str = "organisations") -> str:
    return run_preview(client, preview(client, data, filename, kind))


def summary(resp) -> dict[str, int]:
    """The six figures of the job page, as shown."""
    body = resp.get_data(as_text=True)
    return {key: int(value.replace(".", "")) for key, value in
            re.findall(r'data-summary="(\w+)">([\d.]+)</dd>', body)}


def error_rows(resp) -> list[tuple[str, str, str]]:
    body = text(resp)
    if "Meldingen per rij" not in body and "De eerste 200" not in body:
        return []
    table = body.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
    return [tuple(cells[i:i + 3]) for i in range(0, len(cells), 3)]


def job_of(url: str) -> Job:
    db.session.expire_all()
    return db.session.get(Job, url.rstrip("/").rsplit("/", 1)[1])


def jobs_of_kind(kind: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.kind == kind))


def org_by_name(name: str) -> Organisation | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def org_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


@pytest.fixture
def users(make_user):
    return {role: make_user(role) for role in ROLES}


# --- the whole flow ------------------------------------------------------------------------------

def test_kvk_sample_upload_mapping_preview_and_import(client, login, users):
    login(users["regional_account_manager"])
    before = org_count()
    resp = upload(client, KVK_SAMPLE, "kvk_export_nl.csv")
    assert resp.status_code == 302
    mapping_url = resp.headers["Location"]
    draft = job_of(mapping_url.removesuffix("/mapping"))
    assert (draft.kind, draft.status, draft.created_by_id) == (
        "import_upload", "finished", users["regional_account_manager"].id)
    stored = db.session.scalar(sa.select(JobFile.data).where(JobFile.job_id == draft.id))
    assert stored == KVK_SAMPLE

    page = client.get(mapping_url)
    body = text(page)
    assert page.status_code == 200
    assert_good_markup(page)
    assert "Gegevensrijen</dt><dd>33</dd>" in body
    assert "scheidingsteken ‘;’" in body
    # the file's columns with three sample values each, and the recognised fields selected
    assert "<li>Scheepsbouw Dordrecht 0</li><li>Jachtservice Papendrecht 1</li>" \
           "<li>Staalconstructies Sliedrecht 2</li>" in body
    assert "<li>5346 4097</li>" in body and "<li>3312 cd</li><li>3352AB</li>" in body
    assert 'for="col_1">Veld voor kolom ‘KVK nummer’</label>' in body
    fields = form_fields(page, "/mapping")
    assert {k: v for k, v in fields.items() if k.startswith("col_")} == KVK_MAPPING

    resp = client.post(mapping_url, data=fields)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/jobs/")
    preview_url = resp.headers["Location"]
    assert jobs_of_kind("import_upload") == 0  # the draft's bytes moved into the preview
    assert org_count() == before  # a preview saves nothing

    page = client.get(preview_url)
    assert page.status_code == 200
    assert_good_markup(page)
    body = text(page)
    assert summary(page) == {"created": 31, "updated": 0, "unchanged": 0, "held_for_review": 0,
                             "rejected": 2, "errors": 2}
    assert "Dit is een voorbeeld (proefrun)." in body
    assert "Meldingen per rij (rijnummers van het spreadsheet; de kopregel is rij 1)" in body
    assert error_rows(page) == [("32", "Naam", "De naam ontbreekt."),
                                ("33", "KVK nummer", "Een KvK-nummer bestaat uit 8 cijfers.")]
    assert "Nu importeren" in body and "Kolomindeling aanpassen" in body

    job = job_of(preview_url)
    report = client.get(f"/jobs/{job.id}/files/report")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert report.data.decode("utf-8").startswith(
        "\ufeffRij (spreadsheet);Kolom;Melding\r\n32;Naam;De naam ontbreekt.\r\n"
        "33;KVK nummer;Een KvK-nummer bestaat uit 8 cijfers.\r\n")
    # …then the warnings (issue 14): the Breda rows are imported without a municipality.
    assert report.data.decode("utf-8").count("Breda ligt buiten de regio Drechtsteden") == 3
    assert f'href="/jobs/{job.id}/files/report"' in body

    run_url = run_preview(client, preview_url)
    assert run_url != preview_url
    page = client.get(run_url)
    body = text(page)
    assert summary(page) == {"created": 31, "updated": 0, "unchanged": 0, "held_for_review": 0,
                             "rejected": 2, "errors": 2}
    assert "Resultaat van de import" in body and "proefrun" not in body
    assert "Nu importeren" not in body
    assert org_count() == before + 31
    werf = org_by_name("Scheepsbouw Dordrecht 0")
    assert (werf.kvk_number, werf.postcode, werf.municipality_code, werf.employees) == (
        "53464097", "3312 CD", "GM0505", 203)
    assert org_by_name("Lasbedrijf Heerjansdam 7").municipality_code == "GM0642"  # Zwijndrecht
    assert org_by_name("Jachtservice Papendrecht 1").annual_turnover_eur == 69196000
    schroefas = org_by_name("Schroefas & Zn.")
    assert (schroefas.kvk_number, schroefas.postcode, schroefas.municipality_code) == (
        None, "3361 XY", "GM0610")
    assert org_by_name("Ongeldig KvK BV") is None

    # The preview now points at its import; a second click runs nothing again.
    body = text(client.get(preview_url))
    assert "Dit voorbeeld is al geïmporteerd." in body and "Nu importeren" not in body
    again = client.post(preview_url.replace("/jobs/", "/imports/") + "/run")
    assert again.status_code == 302 and again.headers["Location"] == run_url
    assert jobs_of_kind("import_organisations") == 2 and org_count() == before + 31


def test_importing_the_same_file_again_changes_nothing(client, login, users):
    login(users["business_developer"])
    import_file(client, KVK_SAMPLE, "kvk_export_nl.csv")
    count = org_count()
    page = client.get(import_file(client, KVK_SAMPLE, "kvk_export_nl.csv"))
    assert summary(page) == {"created": 0, "updated": 0, "unchanged": 31, "held_for_review": 0,
                             "rejected": 2, "errors": 2}
    assert org_count() == count


def test_import_audit_events_hold_the_address_and_the_version_written(client, login, users):
    """Issue 11: the import's bulk audit rows carry the client address of the request that
    started the run (kept in the job: the worker has no request) and the record's version."""
    from sdd_crm.audit.models import AuditEvent

    def events():
        db.session.expire_all()
        return db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.source == "import").order_by(AuditEvent.id)).all()

    def sign_in_from(address):  # a session is bound to its address (Flask-Login "strong")
        client.environ_base["REMOTE_ADDR"] = address
        login(users["admin"])

    sign_in_from("198.51.100.7")
    job_url = preview(client, KVK_SAMPLE, "kvk_export_nl.csv")
    sign_in_from("203.0.113.9")
    run = job_of(run_preview(client, job_url))
    assert run.params["origin"] == "203.0.113.9"
    created = events()
    assert {(e.entity_type, e.action) for e in created} == {
        ("organisation", "create"), ("establishment", "create"), ("job", "import")}
    assert {e.origin for e in created} == {"203.0.113.9"}
    assert {e.record_version for e in created if e.entity_type != "job"} == {1}
    werf = org_by_name("Scheepsbouw Dordrecht 0")

    sign_in_from("192.0.2.44")
    import_file(client, EN_SAMPLE, "organisations_en.csv")
    updated = [e for e in events() if e.id > created[-1].id and e.entity_type == "organisation"]
    assert len(updated) == 20 and {e.origin for e in updated} == {"192.0.2.44"}
    (werf_event,) = [e for e in updated if e.entity_id == str(werf.id)]
    assert (werf_event.action, werf_event.record_version) == ("update", 2)
    assert org_by_name("Scheepsbouw Dordrecht 0").version == 2

    import_file(client, CONTACTS_SAMPLE, "contacts_outlook.csv", kind="contacts")
    contacts = [e for e in events() if e.entity_type == "contact"]
    assert len(contacts) == 11
    assert {(e.action, e.origin, e.record_version) for e in contacts} == {
        ("create", "192.0.2.44", 1)}


def test_the_english_file_updates_what_the_kvk_file_created(client, login, users):
    login(users["admin"])
    import_file(client, KVK_SAMPLE, "kvk_export_nl.csv")
    resp = upload(client, EN_SAMPLE, "organisations_en.csv")
    page = client.get(resp.headers["Location"])
    assert "tekenset utf-8-sig, scheidingsteken ‘,’" in text(page)
    assert {k: v for k, v in form_fields(page, "/mapping").items() if k.startswith("col_")} == {
        "col_0": "name", "col_1": "kvk_number", "col_2": "street", "col_3": "postcode",
        "col_4": "city", "col_5": "employees", "col_6": "website", "col_7": "phone"}
    preview_url = resp.headers["Location"]
    resp = client.post(preview_url, data=form_fields(page, "/mapping"))
    job_url = resp.headers["Location"]
    assert summary(client.get(job_url)) == {"created": 0, "updated": 20, "unchanged": 0,
                                            "held_for_review": 0, "rejected": 0, "errors": 0}
    assert error_rows(client.get(job_url)) == []
    run = client.get(run_preview(client, job_url))
    assert summary(run)["updated"] == 20
    assert org_by_name("Scheepsbouw Dordrecht 0").phone == "+31785009134"


def test_contacts_from_an_outlook_export(client, login, users):
    login(users["regional_account_manager"])
    import_file(client, KVK_SAMPLE, "kvk_export_nl.csv")
    resp = upload(client, CONTACTS_SAMPLE, "contacts_outlook.csv", kind="contacts")
    page = client.get(resp.headers["Location"])
    body = text(page)
    assert "Soort import</dt><dd>Contactpersonen</dd>" in body
    assert "Verplicht te koppelen: Achternaam of Volledige naam; Organisatie of KvK-nummer " \
           "organisatie." in body
    assert {k: v for k, v in form_fields(page, "/mapping").items() if k.startswith("col_")} == {
        "col_0": "first_name", "col_1": "middle_name", "col_2": "last_name",
        "col_3": "organisation_name", "col_4": "function", "col_5": "email", "col_6": "phone",
        "col_7": "mobile", "col_8": ""}
    resp = client.post(resp.headers["Location"], data=form_fields(page, "/mapping"))
    job_url = resp.headers["Location"]
    page = client.get(job_url)
    assert job_of(job_url).kind == "import_contacts"
    assert summary(page) == {"created": 11, "updated": 0, "unchanged": 0, "held_for_review": 0,
                             "rejected": 1, "errors": 1}
    assert error_rows(page) == [("7", "E-mail Address", "Vul een geldig e-mailadres in.")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0
    assert summary(client.get(run_preview(client, job_url)))["created"] == 11
    db.session.expire_all()
    jan = db.session.scalar(
        sa.select(Contact).where(Contact.email == "jan.jansen@example.nl")
        .join(Organisation).where(Organisation.name == "Scheepsbouw Dordrecht 0"))
    assert (jan.first_name, jan.last_name, jan.function, jan.phone, jan.mobile) == (
        "Jan", "Jansen", "Directeur", "+31788661210", "+31685064182")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 11


def test_an_xlsx_file_goes_through_the_same_screens(client, login, users):
    data = xlsx_bytes(["Bedrijfsnaam", "KvK-nummer", "Postcode", "Plaats", "Werkzame personen"],
                      [["Café De Werf", "12345670", "3311AB", "Dordrecht", 12]])
    login(users["admin"])
    resp = upload(client, data, "lijst.xlsx")
    page = client.get(resp.headers["Location"])
    assert "Gelezen als</dt><dd>Excel-werkmap (.xlsx)</dd>" in text(page)
    resp = client.post(resp.headers["Location"], data=form_fields(page, "/mapping"))
    run = client.get(run_preview(client, resp.headers["Location"]))
    assert summary(run)["created"] == 1
    cafe = org_by_name("Café De Werf")
    assert (cafe.kvk_number, cafe.postcode, cafe.employees) == ("12345670", "3311 AB", 12)


# --- the mapping screen --------------------------------------------------------------------------

def test_a_corrected_mapping_is_saved_and_filled_in_next_time(client, login, users):
    login(users["regional_account_manager"])
    resp = upload(client, EN_SAMPLE, "organisations_en.csv")
    fields = form_fields(client.get(resp.headers["Location"]), "/mapping")
    assert fields.get("save_mapping") is None  # not ticked unless the user wants it
    fields.update({"col_5": "", "col_7": "", "save_mapping": "y"})  # no employees, no phone
    job_url = client.post(resp.headers["Location"], data=fields).headers["Location"]
    page = text(client.get(job_url))
    assert "De kolomindeling is bewaard voor bestanden met deze kolommen." in page
    assert job_of(job_url).params["mapping"]["Employees"] == ""
    saved = db.session.scalars(sa.select(ImportMapping)).all()
    assert [(m.kind, m.mapping["Phone"], m.mapping["City"]) for m in saved] == [
        ("organisations", "", "city")]

    # Another importer, the same headers: the saved choice is filled in and said to be so.
    client.post("/logout")
    login(users["business_developer"])
    page = client.get(upload(client, EN_SAMPLE, "andere-naam.csv").headers["Location"])
    assert "Voor bestanden met deze kolommen is een kolomindeling bewaard" in text(page)
    again = form_fields(page, "/mapping")
    assert (again["col_4"], again["col_5"], again["col_7"]) == ("city", "", "")
    # Other headers (the KvK layout) are not affected.
    page = client.get(upload(client, KVK_SAMPLE, "kvk.csv").headers["Location"])
    assert "kolomindeling is bewaard" not in text(page)
    assert form_fields(page, "/mapping")["col_7"] == "employees"
    # Contacts with the same headers do not take an organisations mapping.
    page = client.get(upload(client, EN_SAMPLE, "en.csv", kind="contacts").headers["Location"])
    assert "kolomindeling is bewaard" not in text(page)


def test_mapping_mistakes_are_shown_on_the_columns_and_nothing_starts(client, login, users):
    login(users["admin"])
    mapping_url = upload(client, KVK_SAMPLE, "kvk.csv").headers["Location"]
    fields = form_fields(client.get(mapping_url), "/mapping")

    resp = client.post(mapping_url, data={**fields, "col_3": "name", "save_mapping": "y"})
    assert resp.status_code == 422
    body = text(resp)
    assert "Het voorbeeld is niet gestart." in body
    assert '<a class="utrecht-link" href="#col_3">Kolom ‘Adres’: Naam is al gekoppeld aan de ' \
           'kolom Naam.</a>' in body
    assert 'aria-describedby="col_3-error"' in body and 'aria-invalid="true"' in body
    assert_good_markup(resp)
    assert form_fields(resp, "/mapping")["col_3"] == "name"  # the user's choice is kept

    resp = client.post(mapping_url, data={**fields, "col_0": ""})
    assert resp.status_code == 422 and "Koppel een kolom aan: Naam." in text(resp)

    resp = client.post(mapping_url, data={**fields, "col_2": "iets_anders"})
    assert resp.status_code == 422 and "col_2-error" in text(resp)

    assert jobs_of_kind("import_organisations") == 0
    assert db.session.scalars(sa.select(ImportMapping)).all() == []
    assert jobs_of_kind("import_upload") == 1  # the upload waits for a good mapping
    assert client.post(mapping_url, data=fields).status_code == 302


def test_the_mapping_can_be_corrected_after_a_preview(client, login, users):
    login(users["regional_account_manager"])
    first_url = preview(client, KVK_SAMPLE, "kvk.csv", changes={"col_8": ""})
    first = job_of(first_url)
    page = client.get(f"/imports/{first.id}/mapping")
    assert page.status_code == 200
    assert "Hieronder staat de kolomindeling van het vorige voorbeeld." in text(page)
    fields = form_fields(page, "/mapping")
    assert (fields["col_7"], fields["col_8"]) == ("employees", "")
    resp = client.post(f"/imports/{first.id}/mapping",
                       data={**fields, "col_8": "annual_turnover_eur"})
    second = job_of(resp.headers["Location"])
    assert second.id != first.id and second.params["mapping"]["Omzet"] == "annual_turnover_eur"
    assert job_of(first_url).params["mapping"]["Omzet"] == ""  # the first preview stays as it was
    assert summary(client.get(resp.headers["Location"]))["created"] == 31


def test_an_unfinished_upload_can_be_picked_up_again(client, login, users):
    login(users["business_developer"])
    mapping_url = upload(client, EN_SAMPLE, "halverwege.csv").headers["Location"]
    draft_id = mapping_url.split("/")[2]
    page = client.get("/imports/")
    body = text(page)
    assert f'href="{mapping_url}">halverwege.csv</a>' in body
    assert "Geüpload, kolommen nog niet gekoppeld" in body
    assert_good_markup(page)
    body = text(client.get(f"/jobs/{draft_id}"))
    assert "Het bestand halverwege.csv is ontvangen maar nog niet geïmporteerd." in body
    assert f'href="{mapping_url}"' in body


# --- bad uploads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("filename, data, message", [
    ("leeg.csv", b"", "Het bestand is leeg."),
    ("alleen-kop.csv", b"Naam;Postcode\r\n",
     "Het bestand bevat alleen een kopregel en geen gegevens."),
    ("programma.exe", b"MZ\x90\x00\x03\x00\x00\x00",
     "Dit type bestand kan niet worden geïmporteerd. Kies een CSV-bestand (.csv) of een "
     "Excel-bestand (.xlsx)."),
    ("vermomd.csv", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
     "Dit is geen CSV- of Excel-bestand (.xlsx), of de tekenset is niet te herkennen."),
    ("kapot.xlsx", b"PK\x03\x04 geen echte werkmap",
     "Het Excel-bestand is beschadigd of geen .xlsx-bestand."),
    ("oud.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
     "Dit type bestand kan niet worden geïmporteerd."),
])
def test_a_bad_file_gets_a_dutch_message_and_no_job(client, login, users, filename, data, message):
    login(users["regional_account_manager"])
    resp = upload(client, data, filename, kind="contacts")
    assert resp.status_code == 422
    body = text(resp)
    assert "Het bestand is niet geüpload." in body and message in body
    assert 'aria-describedby="file-hint file-error"' in body
    assert re.search(r'<input checked[^>]* id="kind-1"', body)  # the choice is kept
    assert_good_markup(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_no_file_chosen(client, login, users):
    login(users["admin"])
    resp = client.post("/imports/", data={"kind": "organisations"},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "Kies een bestand om te uploaden." in text(resp)


def test_a_file_over_the_import_limit(app, client, login, users, monkeypatch):
    # (small sizes: the test client spools bodies over 500 kB to a file it never closes)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100 * 1024 + 1)
    login(users["admin"])
    big = b"Naam;Plaats\r\n" + b"Werf;Dordrecht\r\n" * 7_000  # 112 kB
    resp = upload(client, big, "groot.csv")
    assert resp.status_code == 422
    assert "Het bestand is te groot. Een importbestand mag hoogstens 0,1 MB zijn" in text(resp)
    assert "Hoogstens 0,1 MB." in text(client.get("/imports/"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_request_over_the_server_limit_shows_the_form_again(app, client, login, users,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 8_000)
    login(users["admin"])
    resp = upload(client, b"Naam\r\n" + b"x" * 20_000, "groot.csv")
    assert resp.status_code == 413
    body = text(resp)
    assert "Het bestand is te groot. Een importbestand mag hoogstens 0,01 MB zijn" in body
    assert 'enctype="multipart/form-data"' in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
