"""GDPR duties (issue 11 point 7): lawful basis with its date, a source set by the system, an
objection that stops further processing, access to everything held (art. 15), erasure everywhere
(art. 17) proven by searching a dump of the whole database and the kept files, retention with an
admin's confirmation, and the processing register (art. 30)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import pytest
import sqlalchemy as sa
from html_helpers import assert_good_markup, form_fields, text
from import_support import csv_bytes, run_import

from sdd_crm.audit.models import AuditEvent
from sdd_crm.contacts.models import Contact
from sdd_crm.exports import jobs as export_jobs
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction, interaction_contact
from sdd_crm.interactions.services import create_interaction, create_task
from sdd_crm.jobs.models import Job, JobFile
from sdd_crm.leads.services import add_comment, share_lead
from sdd_crm.notifications.models import Notification
from sdd_crm.privacy.erasure import erase_contact

FIRST, LAST = "Anneloes", "Zwartkruis"
EMAIL = "a.zwartkruis@dekaapwerf.nl"
MOBILE, MOBILE_E164 = "06-1234 5678", "+31612345678"
PHONE, PHONE_E164 = "078-6543219", "+31786543219"
NON_ADMINS = ["regional_account_manager", "local_account_manager", "business_developer", "viewer"]


@pytest.fixture
def people(make_user):
    users = {role: make_user(role) for role in ["admin", *NON_ADMINS]}
    users["author"] = make_user("local_account_manager", municipality="GM0505")
    return users


@pytest.fixture
def werf(make_org):
    return make_org(name="Werf De Kaap B.V.", city="Dordrecht", kvk_number="24681357",
                    postcode="3311 AB", phone="078-1111111", email="info@dekaapwerf.nl")


@pytest.fixture
def anneloes(werf, people, make_contact):
    return make_contact(werf, actor=people["regional_account_manager"], first_name=FIRST,
                        last_name=LAST, email=EMAIL, mobile=MOBILE, phone=PHONE,
                        function="Hoofd inkoop", notes=f"Spreek {FIRST} aan op de beurs.")


def fresh(contact_id: int) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


# --- lawful basis, source -----------------------------------------------------------------------

def test_consent_needs_its_date_in_every_path(client, api_headers, people, anneloes):
    headers = api_headers(people["regional_account_manager"])
    url = f"/api/v1/contacts/{anneloes.id}"
    # A PATCH that sends only the basis: the stored contact has no consent date, so it is refused.
    resp = client.patch(url, headers=headers, json={"version": 1, "lawful_basis": "consent"})
    assert resp.status_code == 422
    assert "consent_date" in resp.get_json()["error"]["fields"]
    assert fresh(anneloes.id).lawful_basis == "public_task"
    ok = client.patch(url, headers=headers, json={"version": 1, "lawful_basis": "consent",
                                                  "consent_date": "2026-01-15"})
    assert ok.status_code == 200
    assert (ok.get_json()["lawful_basis"], ok.get_json()["consent_date"]) == ("consent", "2026-01-15")
    # Clearing the date while consent stays the basis: refused as well.
    resp = client.patch(url, headers=headers, json={"version": 2, "consent_date": None})
    assert resp.status_code == 422 and fresh(anneloes.id).consent_date == dt.date(2026, 1, 15)


def test_the_source_is_recorded_by_the_system_and_cannot_be_edited(
        client, login, api_headers, people, werf):
    ram = people["regional_account_manager"]
    headers = api_headers(ram)
    refused = client.post("/api/v1/contacts", headers=headers, json={
        "organisation_id": werf.id, "last_name": "Bron", "source": "ikzelf"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"]["source"] == "Dit veld kan niet worden gewijzigd."
    created = client.post("/api/v1/contacts", headers=headers, json={
        "organisation_id": werf.id, "last_name": "Bron"})
    body = created.get_json()
    assert (body["source_kind"], body["created_by_id"], body["source_job_id"]) == (
        "user", ram.id, None)
    url = f"/api/v1/contacts/{body['id']}"
    for field, value in (("source", "anders"), ("source_kind", "import"), ("created_by_id", 1)):
        resp = client.patch(url, headers=headers, json={"version": 1, field: value})
        assert resp.status_code == 422, field
        assert resp.get_json()["error"]["fields"][field] == "Dit veld kan niet worden gewijzigd."

    # The form has no source field, and a forged one changes nothing.
    login(ram)
    form = form_fields(client.get(f"/contacts/{body['id']}/edit"), "/edit")
    assert "source" not in form
    resp = client.post(f"/contacts/{body['id']}/edit", data={**form, "source": "vervalst"})
    assert resp.status_code == 302
    contact = fresh(body["id"])
    assert contact.source == f"gebruiker:{ram.email}" and contact.created_by_id == ram.id
    page = text(client.get(f"/contacts/{body['id']}"))
    assert f"Ingevoerd door {ram.name}" in page


def test_an_import_records_itself_as_the_source(people, werf):
    admin = people["admin"]
    data = csv_bytes(["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres"],
                     [["Piet", "Importeur", "24681357", "piet@dekaapwerf.nl"]])
    summary = run_import(data, "relaties.csv", "contacts", actor=admin)
    contact = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Importeur"))
    assert (contact.source_kind, contact.source_job_id, contact.created_by_id) == (
        "import", summary["job_id"], admin.id)
    assert contact.import_filename == "relaties.csv"


# --- objection ----------------------------------------------------------------------------------

@pytest.fixture
def objecting(werf, people, make_contact):
    return make_contact(werf, first_name="Bert", last_name="Bezwaarmaker",
                        email="bert@dekaapwerf.nl", objection=True)


def test_objecting_contacts_are_hidden_from_lists_search_and_pickers_except_to_admins(
        client, login, api_headers, people, werf, anneloes, objecting):
    for role in ("regional_account_manager", "local_account_manager", "business_developer"):
        user = people[role]
        login(user)
        for url in ("/contacts/", "/contacts/?q=bezwaar", f"/organisations/{werf.id}",
                    f"/interactions/new?organisation_id={werf.id}"):
            page = text(client.get(url))
            assert "Bezwaarmaker" not in page, (role, url)
        assert FIRST in text(client.get("/contacts/"))
        assert client.get(f"/contacts/{objecting.id}").status_code == 404
        assert client.get(f"/contacts/{objecting.id}/edit").status_code == 404
        api = client.get("/api/v1/contacts?q=bezwaar", headers=api_headers(user)).get_json()
        assert api["items"] == []
        assert client.get(f"/api/v1/contacts/{objecting.id}",
                          headers=api_headers(user)).status_code == 404
        client.post("/logout")

    login(people["admin"])
    listing = text(client.get("/contacts/?q=bezwaar"))
    assert "Bert Bezwaarmaker" in listing and "bezwaar</span>" in listing
    assert "Bert Bezwaarmaker" in text(client.get(f"/organisations/{werf.id}"))
    detail = client.get(f"/contacts/{objecting.id}")
    assert detail.status_code == 200 and "bezwaar gemaakt tegen verwerking" in text(detail)
    assert "mailto:bert@" not in text(detail)  # no e-mail to someone who objected
    assert_good_markup(detail)
    api = client.get("/api/v1/contacts?q=bezwaar", headers=api_headers(people["admin"])).get_json()
    assert [(c["id"], c["objection"]) for c in api["items"]] == [(objecting.id, True)]


def test_objecting_contacts_are_never_exported_nor_linked_to_new_contact_moments(
        client, login, people, werf, anneloes, objecting):
    moment = create_interaction({
        "organisation_id": werf.id, "type": "visit", "date": dt.date.today().isoformat(),
        "subject": "Rondleiding", "contact_ids": [anneloes.id]}, actor=people["author"])
    # Linked before the objection was made.
    db.session.execute(sa.insert(interaction_contact),
                       {"interaction_id": moment.id, "contact_id": objecting.id})
    db.session.commit()
    for role in ("admin", "regional_account_manager"):
        login(people[role])
        contacts = client.get(f"/imports/export/contacts.csv?organisation_id={werf.id}")
        assert contacts.status_code == 200
        assert FIRST in contacts.get_data(as_text=True)
        assert "Bezwaarmaker" not in contacts.get_data(as_text=True), role
        moments = client.get(f"/imports/export/interactions.csv?organisation={werf.name}")
        assert "Zwartkruis" in moments.get_data(as_text=True)
        assert "Bezwaarmaker" not in moments.get_data(as_text=True), role
        client.post("/logout")
    job = export_jobs.create_job(actor=people["admin"], kind="contacts", fmt="csv",
                                 args={"organisation_id": str(werf.id)})
    db.session.commit()
    export_jobs.run_job(job.id)
    output = db.session.scalar(sa.select(JobFile.data).where(JobFile.job_id == job.id))
    assert b"Bezwaarmaker" not in output and LAST.encode() in output

    # Nobody links them to a new contact moment; an edit by someone who cannot see them keeps
    # the existing link.
    with pytest.raises(Exception) as refused:
        create_interaction({"organisation_id": werf.id, "type": "call",
                            "date": dt.date.today().isoformat(), "subject": "Bellen",
                            "contact_ids": [objecting.id]}, actor=people["admin"])
    assert "contact_ids" in refused.value.errors
    db.session.rollback()
    login(people["author"])
    page = text(client.get(f"/interactions/{moment.id}"))
    assert "Bezwaarmaker" not in page and f"{FIRST} {LAST}" in page
    form = form_fields(client.get(f"/interactions/{moment.id}/edit"), "/edit")
    resp = client.post(f"/interactions/{moment.id}/edit", data={**form, "subject": "Rondleiding werf"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert {c.id for c in db.session.get(Interaction, moment.id).contacts} == {
        anneloes.id, objecting.id}


def test_the_api_names_hidden_people_at_a_contact_moment_to_admins_only(
        client, api_headers, people, werf, anneloes, objecting):
    """GET /api/v1/interactions/<id> lists the people present as the page does: an objecting
    person's id only for admins (the id alone would lead to them)."""
    moment = create_interaction({
        "organisation_id": werf.id, "type": "visit", "date": dt.date.today().isoformat(),
        "subject": "Rondleiding", "contact_ids": [anneloes.id]}, actor=people["author"])
    db.session.execute(sa.insert(interaction_contact),
                       {"interaction_id": moment.id, "contact_id": objecting.id})
    db.session.commit()
    seen = {}
    for role in ("admin", "author"):
        resp = client.get(f"/api/v1/interactions/{moment.id}", headers=api_headers(people[role]))
        assert resp.status_code == 200
        seen[role] = resp.get_json()["contact_ids"]
    assert seen == {"admin": sorted([anneloes.id, objecting.id]), "author": [anneloes.id]}


def test_a_non_admin_who_records_an_objection_is_told_the_contact_is_now_hidden(
        client, login, people, anneloes):
    login(people["regional_account_manager"])
    form = form_fields(client.get(f"/contacts/{anneloes.id}/edit"), "/edit")
    resp = client.post(f"/contacts/{anneloes.id}/edit", data={**form, "objection": "y"},
                       follow_redirects=True)
    assert resp.status_code == 200
    assert "nu alleen nog zichtbaar voor beheerders" in text(resp)
    assert fresh(anneloes.id).objection is True


# --- access (art. 15) ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", NON_ADMINS)
def test_only_admins_get_the_personal_data_export(client, api_headers, people, anneloes, role):
    url = f"/api/v1/contacts/{anneloes.id}/export"
    assert client.get(url, headers=api_headers(people[role])).status_code == 403
    assert client.post(f"/api/v1/contacts/{anneloes.id}/erase",
                       headers=api_headers(people[role])).status_code == 403
    assert fresh(anneloes.id).anonymised_at is None


def test_anonymous_and_missing(client, api_headers, people, anneloes, login):
    assert client.get(f"/api/v1/contacts/{anneloes.id}/export").status_code == 401
    assert client.post(f"/api/v1/contacts/{anneloes.id}/erase").status_code == 401
    admin = api_headers(people["admin"])
    assert client.get("/api/v1/contacts/987654/export", headers=admin).status_code == 404
    assert client.post("/api/v1/contacts/987654/erase", headers=admin).status_code == 404
    assert client.get(f"/contacts/{anneloes.id}/export.json").status_code == 302  # to the login
    login(people["regional_account_manager"])
    assert client.get(f"/contacts/{anneloes.id}/export.json").status_code == 403
    assert client.get(f"/contacts/{anneloes.id}/erase").status_code == 403
    page = text(client.get(f"/contacts/{anneloes.id}"))
    assert "Anonimiseren" not in page and "export.json" not in page


def _activity(people, werf, anneloes, other_org):
    """Contact moments, a task, a lead with a comment, naming Anneloes in several ways."""
    author = people["author"]
    linked = create_interaction({
        "organisation_id": werf.id, "type": "visit", "date": dt.date.today().isoformat(),
        "subject": f"Bezoek met {FIRST}",
        "notes": f"Mevrouw {LAST} wil uitbreiden; bel haar op 06 1234 56 78 of mail {EMAIL}.",
        "contact_ids": [anneloes.id]}, actor=author)
    elsewhere = create_interaction({
        "organisation_id": other_org.id, "type": "call", "date": dt.date.today().isoformat(),
        "subject": "Netwerkborrel", "notes": f"Ook {FIRST} {LAST} van De Kaap was er."},
        actor=author)
    unrelated = create_interaction({
        "organisation_id": other_org.id, "type": "call", "date": dt.date.today().isoformat(),
        "subject": "Offerte", "notes": "Niets over haar."}, actor=author)
    task = create_task({"title": f"{FIRST} {LAST} terugbellen", "organisation_id": werf.id,
                        "description": f"Nummer: {MOBILE_E164}", "interaction_id": linked.id,
                        "assignee_id": people["regional_account_manager"].id}, actor=author)
    lead = share_lead({"organisation_id": werf.id, "type": "expansion",
                       "title": "Uitbreiding loods", "description": f"Contact: {EMAIL.upper()}",
                       "shared_with": "regional_team"}, actor=author)
    comment = add_comment(lead, f"{LAST} belde: het gaat door.", actor=author)
    db.session.commit()
    return {"linked": linked, "elsewhere": elsewhere, "unrelated": unrelated, "task": task,
            "lead": lead, "comment": comment}


def test_the_export_holds_everything_about_the_person(client, login, api_headers, people, werf,
                                                     anneloes, make_org):
    things = _activity(people, werf, anneloes, make_org(name="Andere Haven B.V."))
    run_import(csv_bytes(["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres"],
                         [[FIRST, LAST, "24681357", EMAIL], ["Kees", "Ander", "24681357", "k@x.nl"]]),
               "beurs.csv", "contacts", actor=people["admin"])
    admin = people["admin"]
    resp = client.get(f"/api/v1/contacts/{anneloes.id}/export", headers=api_headers(admin))
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["contact"]["email"] == EMAIL and body["contact"]["mobile"] == MOBILE_E164
    assert body["organisation"]["name"] == "Werf De Kaap B.V."
    assert body["source"]["kind"] == "user"
    assert body["source"]["created_by"]["id"] == people["regional_account_manager"].id
    moments = {i["id"]: i["present"] for i in body["interactions"]}
    assert moments == {things["linked"].id: True, things["elsewhere"].id: False}
    assert [t["id"] for t in body["tasks"]] == [things["task"].id]
    assert [(lead["id"], [c["id"] for c in lead["comments"]]) for lead in body["leads"]] == [
        (things["lead"].id, [things["comment"].id])]
    own = [e for e in body["audit_events"] if e["entity_type"] == "contact"]
    assert own and own[0]["action"] == "create" and own[0]["changes"]["last_name"] == [None, LAST]
    assert {e["entity_type"] for e in body["audit_events"]} >= {"contact", "interaction", "task"}
    rows = [r for r in body["import_rows"] if r["filename"] == "beurs.csv"]
    assert [(r["role"], r["row"], r["values"]["E-mailadres"]) for r in rows] == [
        ("input", 2, EMAIL)]
    assert "Ander" not in json.dumps(body["import_rows"])
    # The request is audited as an export of the contact.
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "export", AuditEvent.entity_type == "contact",
        AuditEvent.entity_id == str(anneloes.id)))
    assert event.user_id == admin.id and event.changes["kind"] == "gdpr_access"

    # The same as a download on the contact page, for admins.
    login(admin)
    page = client.get(f"/contacts/{anneloes.id}")
    assert f'href="/contacts/{anneloes.id}/export.json"' in text(page)
    assert_good_markup(page)
    download = client.get(f"/contacts/{anneloes.id}/export.json")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Cache-Control"] == "no-store"
    downloaded = json.loads(download.get_data(as_text=True))
    assert set(downloaded) == set(body) and downloaded["contact"] == body["contact"]
    assert {i["id"] for i in downloaded["interactions"]} == set(moments)


# --- erasure (art. 17) ---------------------------------------------------------------------------

NEEDLES = [FIRST.lower(), LAST.lower(), EMAIL.lower(), MOBILE_E164, PHONE_E164, "0612345678",
           "0786543219"]
DIGITS = ["612345678", "786543219"]  # the national numbers, whatever the separators


def _blob_texts(data: bytes) -> list[str]:
    """The text in a stored file: every part of a zip (a workbook), else the bytes decoded."""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [zf.read(n).decode("utf-8", "replace") for n in zf.namelist()]
    return [data.decode("utf-8", "replace"), data.decode("cp1252", "replace")]


def _database_texts() -> list[str]:
    """Every value of every column of every row of every table (also tables no model maps)."""
    conn = db.session.connection()
    out = []
    if conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        out.extend(raw.iterdump())
    tables = sa.inspect(conn).get_table_names()
    assert set(db.metadata.tables) <= set(tables)
    for name in tables:
        table = sa.Table(name, sa.MetaData(), autoload_with=conn)
        for row in conn.execute(sa.select(table)):
            for value in row:
                if isinstance(value, (bytes, bytearray, memoryview)):
                    out.extend(_blob_texts(bytes(value)))
                elif value is not None:
                    out.append(value if isinstance(value, str) else json.dumps(value, default=str))
    return out


def _hits(texts: list[str]) -> list[str]:
    found = []
    for t in texts:
        lower = t.lower()
        # JSON escapes non-ASCII and "/"; the needles are ASCII, so compare as stored and decoded.
        digits = re.sub(r"[\s\-.()/]", "", lower)
        for needle in NEEDLES:
            if needle.lower() in lower:
                found.append(f"{needle!r} in {t[:160]!r}")
        for needle in DIGITS:
            if needle in digits:
                found.append(f"{needle!r} in {t[:160]!r}")
    return found


def _full_trail(client, api_headers, login, people, werf, anneloes, make_org):
    """Everything that spreads a person through the system: updates (audit payloads), contact
    moments, a task with its notification, a lead with a comment, an import with a rejected row
    (input file and report), list exports kept as job files, a search for her surname."""
    _activity(people, werf, anneloes, make_org(name="Andere Haven B.V."))
    ram = api_headers(people["regional_account_manager"])
    assert client.patch(f"/api/v1/contacts/{anneloes.id}", headers=ram, json={
        "version": 1, "function": f"Inkoper (was {FIRST})"}).status_code == 200
    summary = run_import(csv_bytes(
        ["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres", "Mobiel"],
        [[FIRST, LAST, "24681357", EMAIL, MOBILE],
         [FIRST, LAST, "99999999", EMAIL, MOBILE]]),  # no such organisation: rejected, reported
        f"beurs-{LAST}.csv", "contacts", actor=people["admin"])
    assert summary["rejected"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile).where(
        JobFile.job_id == summary["job_id"])) == 2  # the upload and the report
    # An organisations import whose row looks like the werf (no KvK number): held for review,
    # with her e-mail address and number as the company's.
    held = run_import(csv_bytes(["Naam", "Postcode", "Plaats", "E-mailadres", "Telefoon"],
                                [["WERF DE KAAP BV", "3311ab", "Dordrecht", EMAIL, MOBILE]]),
                      f"kvk-{LAST}.csv", actor=people["admin"])
    assert held["held_for_review"] == 1
    for kind, fmt, args in (("contacts", "xlsx", {"q": LAST.lower()}),
                            ("interactions", "csv", {"organisation": werf.name})):
        job = export_jobs.create_job(actor=people["regional_account_manager"], kind=kind,
                                     fmt=fmt, args=args)
        db.session.commit()
        export_jobs.run_job(job.id)
        assert db.session.get(Job, job.id).status == "finished"
    login(people["admin"])
    assert client.get(f"/contacts/{anneloes.id}").status_code == 200  # a view (audited)
    client.post("/logout")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.title.contains(LAST))) >= 1
    texts = _database_texts()
    assert len(_hits(texts)) > 10  # the search finds her everywhere before the erasure


def _erase_and_search(client, api_headers, login, people, werf, anneloes, make_org):
    _full_trail(client, api_headers, login, people, werf, anneloes, make_org)
    admin = people["admin"]
    resp = client.post(f"/api/v1/contacts/{anneloes.id}/erase", headers=api_headers(admin))
    assert resp.status_code == 200, resp.get_json()
    records = resp.get_json()["records"]
    assert records["contact"] == 1 and records["job_file"] >= 3 and records["audit_event"] >= 1
    db.session.expire_all()
    hits = _hits(_database_texts())
    assert hits == [], "\n".join(hits[:20])
    contact = db.session.get(Contact, anneloes.id)
    assert (contact.first_name, contact.last_name, contact.email, contact.phone, contact.mobile,
            contact.function, contact.notes) == (None, "Geanonimiseerd", None, None, None, None,
                                                 None)
    assert contact.anonymised_at is not None
    # The organisation keeps its own name and numbers; the contact moment keeps its people.
    assert werf.name == "Werf De Kaap B.V."
    db.session.refresh(werf)
    assert (werf.name, werf.phone, werf.email) == ("Werf De Kaap B.V.", "+31781111111",
                                                   "info@dekaapwerf.nl")
    linked = db.session.scalar(sa.select(Interaction).where(Interaction.subject.contains("Bezoek")))
    assert [c.id for c in linked.contacts] == [anneloes.id]
    assert "[verwijderd]" in linked.notes and "uitbreiden" in linked.notes
    # The erasure is audited, without the personal data (the dump above holds no trace).
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "erase", AuditEvent.entity_type == "contact",
        AuditEvent.entity_id == str(anneloes.id)))
    assert event.user_id == admin.id and event.source == "api"
    assert event.changes["records"]["contact"] == 1
    again = client.post(f"/api/v1/contacts/{anneloes.id}/erase", headers=api_headers(admin))
    assert again.status_code == 409


def test_erasure_leaves_no_trace_in_the_database_or_the_files(
        client, api_headers, login, people, werf, anneloes, make_org):
    _erase_and_search(client, api_headers, login, people, werf, anneloes, make_org)


@pytest.mark.postgres
def test_erasure_leaves_no_trace_on_postgresql(client, api_headers, login, people, werf,
                                               anneloes, make_org):
    assert db.engine.dialect.name == "postgresql"
    _erase_and_search(client, api_headers, login, people, werf, anneloes, make_org)


def test_erasure_from_the_contact_page_asks_for_confirmation(client, login, people, anneloes):
    login(people["admin"])
    page = text(client.get(f"/contacts/{anneloes.id}"))
    assert f'href="/contacts/{anneloes.id}/erase"' in page
    confirm = client.get(f"/contacts/{anneloes.id}/erase")
    assert confirm.status_code == 200 and "niet ongedaan" in text(confirm)
    assert_good_markup(confirm)
    form = form_fields(confirm, "/erase")
    refused = client.post(f"/contacts/{anneloes.id}/erase", data=form)  # box not ticked
    assert refused.status_code == 422 and "Bevestig" in text(refused)
    assert fresh(anneloes.id).anonymised_at is None
    done = client.post(f"/contacts/{anneloes.id}/erase", data={**form, "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/contacts/{anneloes.id}")
    contact = fresh(anneloes.id)
    assert contact.anonymised_at is not None and contact.email is None
    after = text(client.get(done.headers["Location"]))
    assert "geanonimiseerd" in after and LAST not in after and "Anonimiseren</a>" not in after


def test_a_soft_deleted_contact_can_be_erased(client, login, api_headers, people, anneloes):
    ram = api_headers(people["regional_account_manager"])
    assert client.delete(f"/api/v1/contacts/{anneloes.id}", headers=ram).status_code == 204
    resp = client.post(f"/api/v1/contacts/{anneloes.id}/erase", headers=api_headers(people["admin"]))
    assert resp.status_code == 200
    contact = fresh(anneloes.id)
    assert contact.deleted_at is not None and contact.anonymised_at is not None
    assert contact.email is None and contact.last_name == "Geanonimiseerd"
    events = db.session.scalars(sa.select(AuditEvent.changes).where(
        AuditEvent.entity_type == "contact", AuditEvent.entity_id == str(anneloes.id))).all()
    assert EMAIL not in json.dumps(events) and LAST not in json.dumps(events)


def _word_hits(word: str, texts: list[str]) -> list[str]:
    pattern = re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
    return [t[:160] for t in texts if pattern.search(t.lower())]


def test_erasure_leaves_a_namesake_in_unrelated_jobs_files_and_audit_events(
        people, make_org, make_contact):
    """Erasing Jan Smit takes "Jan" out of his own export job and its audit event, not out of
    the import and the export of another Jan: their parameters, file names and events."""
    admin, ram = people["admin"], people["regional_account_manager"]
    werf = make_org(name="Scheepswerf Noord B.V.", kvk_number="11112222")
    make_org(name="Bakkerij Zuid B.V.", kvk_number="33334444")
    bakker_import = run_import(csv_bytes(["Voornaam", "Achternaam", "KvK-nummer", "E-mailadres"],
                                         [["Jan", "Bakker", "33334444", "jan@bakkerijzuid.nl"]]),
                               "jan-bakker.csv", "contacts", actor=admin)

    def export(q: str) -> str:
        job = export_jobs.create_job(actor=ram, kind="contacts", fmt="xlsx", args={"q": q})
        db.session.commit()
        export_jobs.run_job(job.id)
        assert db.session.get(Job, job.id).status == "finished"
        return job.id

    bakker_export = export("jan")  # before Jan Smit exists: only Jan Bakker is in it
    smit = make_contact(werf, first_name="Jan", last_name="Smit", email="j.smit@noordwerf.nl",
                        mobile="06-2468 1357")
    smit_export = export("smit")
    bakker_files = {f.filename: f.data for f in db.session.scalars(sa.select(JobFile).where(
        JobFile.job_id.in_([bakker_import["job_id"], bakker_export])))}
    assert "jan-bakker.csv" in bakker_files and len(bakker_files) == 2

    erase_contact(fresh(smit.id), actor=admin)
    db.session.commit()
    db.session.expire_all()

    # Jan Bakker's import and export keep his first name everywhere.
    assert db.session.get(Job, bakker_export).params["args"] == {"q": "jan"}
    assert db.session.get(Job, bakker_import["job_id"]).params["filename"] == "jan-bakker.csv"
    assert {f.filename: f.data for f in db.session.scalars(sa.select(JobFile).where(
        JobFile.job_id.in_([bakker_import["job_id"], bakker_export])))} == bakker_files
    imported = db.session.scalar(sa.select(AuditEvent.changes).where(
        AuditEvent.action == "import", AuditEvent.entity_type == "job",
        AuditEvent.entity_id == bakker_import["job_id"]))
    assert imported["file"] == "jan-bakker.csv"
    filters = db.session.scalars(sa.select(AuditEvent.changes).where(
        AuditEvent.action == "export", AuditEvent.entity_type == "export")).all()
    assert sorted(f["filters"] for f in filters) == ["q=[verwijderd]", "q=jan"]
    bakker = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Bakker"))
    assert (bakker.first_name, bakker.import_filename) == ("Jan", "jan-bakker.csv")
    # Jan Smit's own export job lost the surname it searched for; nothing holds him any more.
    assert db.session.get(Job, smit_export).params["args"] == {"q": "[verwijderd]"}
    texts = _database_texts()
    assert _word_hits("smit", texts) == []
    assert [t for t in texts if "j.smit@" in t.lower()
            or "624681357" in re.sub(r"[\s\-.()/]", "", t)] == []


def test_the_marks_of_a_person_in_free_text():
    from sdd_crm.privacy.person import Person

    person = Person(FIRST, LAST, EMAIL, [MOBILE_E164], protected=["Zwartkruis Installatie B.V."])
    text_ = (f"Zwartkruis Installatie B.V.: mevrouw Zwartkruis ({FIRST.upper()}), "
             f"{LAST}, {FIRST}; 0031 6 12 34 56 78, +31 (0)6-12345678, 06.12.34.56.78, "
             f"mailto:{EMAIL.upper()}; niet 0612345679 of {LAST}s-{FIRST}x.")
    strong = person.scrub(text_)
    assert "[verwijderd]; [verwijderd], [verwijderd], [verwijderd]" in strong
    assert "mailto:[verwijderd]" in strong and "0612345679" in strong
    assert "mevrouw Zwartkruis" in strong  # the surname alone: only where the record is theirs
    weak = person.scrub(text_, weak=True)
    assert weak.startswith("Zwartkruis Installatie B.V.: mevrouw [verwijderd] ([verwijderd])")
    assert f"{LAST}s-{FIRST}x" in weak  # whole words only
    assert person.row_is_about(["", FIRST, LAST.lower(), "Werf"])
    assert not person.row_is_about(["", FIRST, "Jansen"])


# --- retention ----------------------------------------------------------------------------------

def _age(contact_id: int, years: int) -> None:
    table = Contact.__table__
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * years)
    db.session.execute(sa.update(table).where(table.c.id == contact_id)
                       .values(created_at=moment, updated_at=moment))
    db.session.commit()


def test_retention_lists_inactive_contacts_for_an_admin_to_confirm(
        app, client, login, people, werf, make_contact, monkeypatch):
    from sdd_crm.jobs import schedule
    from sdd_crm.privacy.jobs import run_retention_job, start_scheduled_retention

    stale = make_contact(werf, first_name="Oud", last_name="Stilgevallen")
    sleeper = make_contact(werf, first_name="Twee", last_name="Slapend", email="twee@slaap.nl")
    busy = make_contact(werf, first_name="Nog", last_name="Actiefmet")
    recent = make_contact(werf, first_name="Pas", last_name="Toegevoegd")
    _age(stale.id, 3)
    _age(sleeper.id, 3)
    _age(busy.id, 3)
    create_interaction({"organisation_id": werf.id, "type": "call",
                        "date": dt.date.today().isoformat(), "subject": "Bijpraten",
                        "contact_ids": [busy.id]}, actor=people["author"])
    db.session.commit()

    # The scheduled run counts them and tells the admins (once, while unread).
    entry = schedule.get("gdpr_retention")
    assert entry is not None and entry.start_function() is start_scheduled_retention
    job = start_scheduled_retention()
    db.session.commit()
    result = run_retention_job(job.id) or db.session.get(Job, job.id).result
    assert result["due"] >= 2 and result["months"] == 24
    note = db.session.scalar(sa.select(Notification).where(
        Notification.user_id == people["admin"].id, Notification.kind == "retention_due"))
    assert note is not None and note.link == "/admin/retention"

    login(people["regional_account_manager"])
    assert client.get("/admin/retention").status_code == 403
    client.post("/logout")
    login(people["admin"])
    page = client.get("/admin/retention")
    assert page.status_code == 200
    assert_good_markup(page)
    listing = text(page)
    assert "Oud Stilgevallen" in listing and "Twee Slapend" in listing
    assert "Actiefmet" not in listing and "Toegevoegd" not in listing
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", 48)
    assert "Stilgevallen" not in text(client.get("/admin/retention"))
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", 24)

    form = form_fields(page, "/admin/retention")
    unconfirmed = client.post("/admin/retention", data={**form, "contact_ids": [str(stale.id)]})
    assert unconfirmed.status_code == 422 and fresh(stale.id).anonymised_at is None
    # Only contacts still due are erased: the active one sent along is left alone.
    done = client.post("/admin/retention", data={
        **form, "contact_ids": [str(stale.id), str(sleeper.id), str(busy.id), str(recent.id)],
        "confirm": "y"})
    assert done.status_code == 302
    for gone in (stale, sleeper):
        assert fresh(gone.id).anonymised_at is not None
        assert fresh(gone.id).last_name == "Geanonimiseerd" and fresh(gone.id).email is None
    events = db.session.scalars(sa.select(AuditEvent.changes).where(
        AuditEvent.entity_type == "contact",
        AuditEvent.entity_id.in_([str(stale.id), str(sleeper.id)]))).all()
    assert "Slapend" not in json.dumps(events) and "twee@slaap.nl" not in json.dumps(events)
    assert fresh(busy.id).anonymised_at is None and fresh(recent.id).anonymised_at is None
    assert "Stilgevallen" not in text(client.get("/admin/retention"))
    assert db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "erase", AuditEvent.entity_id == str(stale.id))) is not None


def test_erasure_does_not_restart_the_retention_clock_of_the_records_it_scrubs(
        people, werf, anneloes, make_contact):
    """A colleague's old contact moment and contact row that named the erased person lose the
    name, but not their age: the colleague stays due for the retention list."""
    from sdd_crm.privacy.retention import due_list

    colleague = make_contact(werf, first_name="Kees", last_name="Collega",
                             email="kees@dekaapwerf.nl", notes=f"Collega van {FIRST} {LAST}.")
    moment = create_interaction({
        "organisation_id": werf.id, "type": "visit", "date": dt.date.today().isoformat(),
        "subject": "Overleg", "notes": f"Kees sprak met {FIRST} over de loods.",
        "contact_ids": [colleague.id]}, actor=people["author"])
    db.session.commit()
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3 * 365)).replace(microsecond=0)
    _age(colleague.id, 3)
    table = Interaction.__table__
    db.session.execute(sa.update(table).where(table.c.id == moment.id).values(
        date=long_ago.date(), created_at=long_ago, updated_at=long_ago))
    db.session.commit()
    aged = fresh(colleague.id).updated_at
    assert colleague.id in [d.contact.id for d in due_list()]

    erase_contact(fresh(anneloes.id), actor=people["admin"])
    db.session.commit()
    db.session.expire_all()
    scrubbed = db.session.get(Interaction, moment.id)
    assert scrubbed.notes == "Kees sprak met [verwijderd] over de loods."
    assert scrubbed.version == 2  # an edit form opened before cannot save the name back
    assert scrubbed.updated_at.replace(tzinfo=dt.UTC) == long_ago
    assert fresh(colleague.id).notes == "Collega van [verwijderd]."
    assert fresh(colleague.id).updated_at == aged
    assert colleague.id in [d.contact.id for d in due_list()]


# --- processing register (art. 30) ---------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", *NON_ADMINS])
def test_the_processing_register_is_there_for_every_signed_in_user(client, login, make_user, role):
    login(make_user(role))
    resp = client.get("/privacy")
    assert resp.status_code == 200
    page = text(resp)
    for expected in ("Verwerkingsregister", "Contactpersonen", "Publieke taak",
                     "24 maanden", "Wie ziet het", "Beveiligingsmaatregelen",
                     'href="/privacy"'):
        assert expected in page, expected
    assert_good_markup(resp)


def test_the_processing_register_in_english_and_with_the_configured_terms(
        app, client, login, make_user, monkeypatch):
    assert client.get("/privacy").status_code == 302  # signed-in users only
    monkeypatch.setitem(app.config, "RETENTION_MONTHS", 36)
    login(make_user("viewer", locale="en"))
    page = text(client.get("/privacy"))
    for expected in ("Processing register", "Contacts", "Public task", "36 months",
                     "Who can see it", "Security measures"):
        assert expected in page, expected
    assert "Verwerkingsregister" not in page


def test_the_data_subject_requests_appear_once_on_an_admins_contact_page(
        client, login, people, anneloes):
    """The admin-only section with the access download and the erase button sits in the page's
    body once; the browser tab shows just the person's name."""
    login(people["admin"])
    html = client.get(f"/contacts/{anneloes.id}").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert title == f"{anneloes.full_name} · SDD CRM"
    assert html.count("Verzoeken van de betrokkene (AVG)") == 1
    client.post("/logout")
    login(people["regional_account_manager"])
    assert "Verzoeken van de betrokkene" not in client.get(f"/contacts/{anneloes.id}").get_data(
        as_text=True)
