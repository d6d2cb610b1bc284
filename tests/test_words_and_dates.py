"""Issue 14 point 6 (and the lead-sharing rule of point 5): one date format per language, durations
in the unit that fits, labels and names instead of internal field names in the audit view and
the timeline, and a lead is never shared with one's own municipality or with nobody."""

from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest
import sqlalchemy as sa
from flask import render_template_string, session
from flask_babel import refresh
from html_helpers import field_error, text
from leads_support import build_world

from sdd_crm.audit import labels as audit_labels
from sdd_crm.audit.models import AuditEvent
from sdd_crm.exceptions import ValidationError
from sdd_crm.extensions import db
from sdd_crm.i18n import format_day, format_duration, format_moment
from sdd_crm.interactions.services import create_task
from sdd_crm.leads.forms import ShareLeadForm
from sdd_crm.leads.models import Lead
from sdd_crm.leads.services import municipalities_with_receivers, share_lead
from sdd_crm.reference.models import Municipality
from sdd_crm.timeline.queries import organisation_timeline
from sdd_crm.validation import parse_date
from sdd_crm.valuechains.criticality_services import set_manual_flag

NBSP = "\u00a0"
TEMPLATES = pathlib.Path(__file__).resolve().parents[1] / "templates"
# What must never reach a person: ISO dates and times, US-style short dates, raw reference ids.
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")
SHORT_US = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2}\b")
INTERNAL = re.compile(r"\b[a-z]+(?:_[a-z]+)*_(?:id|at|on|code|critical|reason)\b")


def _lang(lang: str) -> None:
    session["lang"] = lang
    refresh()


# --- One date format per language -------------------------------------------------------------

@pytest.mark.parametrize("lang, day, may, moment", [
    ("nl", "6 dec. 2026", "6 mei 2026", "6 dec. 2026 14:05"),
    ("en", "6 Dec 2026", "6 May 2026", "6 Dec 2026 14:05"),
])
def test_one_date_format_per_language(app, lang, day, may, moment):
    winter = dt.datetime(2026, 12, 6, 13, 5, tzinfo=dt.UTC)  # CET: UTC+1
    with app.test_request_context("/"):
        _lang(lang)
        assert format_day(dt.date(2026, 12, 6)) == day
        assert format_day(dt.date(2026, 5, 6)) == may  # "mei" is whole: no full stop
        assert format_moment(winter) == moment
        assert format_day(winter) == day
        # Stored without a zone (SQLite) means UTC.
        assert format_moment(winter.replace(tzinfo=None)) == moment
        rendered = render_template_string(
            "{{ d|date }}|{{ m|date }}|{{ m|day }}|{{ none|date }}|{{ m|isodate }}",
            d=dt.date(2026, 12, 6), m=winter, none=None)
        assert rendered == f"{day}|{moment}|{day}||2026-12-06T13:05:00+00:00"
        assert not SHORT_US.search(rendered.split("|")[1])


def test_summer_time_is_shown_in_the_region(app):
    with app.test_request_context("/"):
        assert format_moment(dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)) == "2 jul. 2026 00:30"


def test_no_template_formats_dates_by_hand():
    """Every date a person reads goes through the filters (i18n.py): no strftime, no isoformat
    outside a machine-readable attribute, no Babel format call of its own."""
    bad = []
    for path in TEMPLATES.rglob("*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"strftime|format_date|format_datetime", line):
                bad.append(f"{path.relative_to(TEMPLATES)}:{n}")
            for m in re.finditer(r"isoformat\(\)|\|isodate", line):
                if not re.search(r'datetime="[^"]*$', line[:m.start()]):
                    bad.append(f"{path.relative_to(TEMPLATES)}:{n}")
    assert bad == []


# --- Durations --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, unit, shown", [
    (1, "seconds", "1 seconde"),
    (42.4, "seconds", "42 seconden"),
    (90, "seconds", "2 minuten"),
    (59 * 60, "seconds", "59 minuten"),
    (dt.timedelta(minutes=1), None, "1 minuut"),
    (1, "hours", "1 uur"),
    (8.8, "hours", "8,8 uur"),
    (30, "hours", "30 uur"),
    (60, "hours", "2,5 dagen"),
    (24 * 12, "hours", "12 dagen"),
    (12003.3, "hours", "500 dagen"),  # the 12,003.3 hours
    (dt.timedelta(days=1, hours=23), None, "47 uur"),
    (dt.timedelta(days=2), None, "2 dagen"),
    (-5, "seconds", "0 seconden"),
])
def test_durations_read_in_the_unit_that_fits(app, value, unit, shown):
    with app.test_request_context("/"):
        got = format_duration(value, unit) if unit else format_duration(value)
        assert got.replace(NBSP, " ") == shown
        assert render_template_string("{{ v|duration(u) }}", v=value,
                                      u=unit or "seconds") == shown
        assert format_duration(None) == ""


# --- Typed dates ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, day", [
    ("2026-12-06", dt.date(2026, 12, 6)), ("6-12-2026", dt.date(2026, 12, 6)),
    ("06/12/2026", dt.date(2026, 12, 6)), (" 6.12.2026 ", dt.date(2026, 12, 6)),
])
def test_a_date_is_read_as_the_browser_sends_it_or_as_a_person_types_it(typed, day):
    assert parse_date(typed) == day


@pytest.mark.parametrize("typed", ["31-02-2026", "12/6/26", "morgen", "2026-13-01"])
def test_a_date_that_is_none_is_refused(typed):
    with pytest.raises(ValueError):
        parse_date(typed)


# --- The audit view and the timeline: labels and names, never internal names ---------------------

@pytest.fixture
def changed_org(make_user, make_org):
    admin = make_user("admin", name="Ada Woorden")
    colleague = make_user("regional_account_manager", name="Rik Woorden")
    org = make_org(actor=admin, name="Woorden en Data B.V.", kvk_number="75000001")
    set_manual_flag(org, True, "Enige leverancier van de werf", actor=admin)
    create_task({"title": "Bellen over de uitbreiding", "due_date": "2026-12-06",
                 "assignee_id": colleague.id, "organisation_id": org.id}, actor=admin)
    db.session.commit()
    return admin, colleague, org


def _events(entity_type):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == entity_type)
                              .order_by(AuditEvent.id)).all()


def test_audit_labels_name_fields_records_and_dates_as_people_do(app, changed_org):
    _admin, colleague, org = changed_org
    with app.test_request_context("/"):
        names = {("user", str(colleague.id)): colleague.name,
                 ("organisation", str(org.id)): org.name}
        flag = [e for e in _events("organisation") if "manual_critical" in (e.changes or {})][-1]
        rows = {r["field"]: r for r in audit_labels.describe_changes(flag, names)}
        assert rows["Handmatig kritisch"]["after"] == "Ja"
        assert rows["Reden handmatig kritisch"]["after"] == "Enige leverancier van de werf"
        task = _events("task")[-1]
        rows = {r["field"]: r for r in audit_labels.describe_changes(task, names)}
        assert rows["Toegewezen aan"]["after"] == "Rik Woorden"
        assert rows["Uiterste datum"]["after"] == "6 dec. 2026"
        assert rows["Organisatie"]["after"] == "Woorden en Data B.V."
        shown = " ".join(f"{k} {r.get('after', r.get('value'))}" for k, r in rows.items())
        assert not INTERNAL.search(shown) and not ISO.search(shown), shown
        # A moment stored as text in an event reads as a date and a time in the region.
        assert audit_labels.format_value("task", "completed_at",
                                         "2026-12-06T13:05:00+00:00") == "6 dec. 2026 14:05"
        assert audit_labels.field_label("organisation", "last_contact_on") == "Laatste contact"
        assert audit_labels.reference_type("user", "by") == "user"


def test_the_audit_page_shows_labels_names_and_dates_only(client, login, changed_org):
    admin, _colleague, org = changed_org
    login(admin)
    page = text(client.get("/admin/audit?entity_type=task"))
    details = " ".join(re.findall(r'<ul class="utrecht-unordered-list app-changes">(.*?)</ul>',
                                  page, re.S))
    details = re.sub(r"<[^>]+>", " ", details)
    assert "Toegewezen aan" in details and "Rik Woorden" in details and "6 dec. 2026" in details
    assert not INTERNAL.search(details), INTERNAL.search(details)
    assert not ISO.search(details)
    when = re.findall(r'<td class="utrecht-table__cell app-nowrap">([^<]*)</td>', page)
    assert when and all(re.fullmatch(r"\d{1,2} [a-z]{3}\.? \d{4} \d{2}:\d{2}", w) for w in when)
    page = text(client.get(f"/admin/audit?entity_type=organisation&entity_id={org.id}"))
    assert "Handmatig kritisch" in page and "manual_critical" not in page


def test_the_timeline_lists_changed_fields_by_their_labels(app, changed_org):
    admin, _, org = changed_org
    with app.test_request_context("/"):
        changes = [e for e in organisation_timeline(org.id, admin, kinds=["change"])
                   if e.fields]
        fields = {f for e in changes for f in e.fields}
    assert {"Handmatig kritisch", "Reden handmatig kritisch"} <= fields
    assert not any(INTERNAL.search(f) for f in fields), fields


def test_the_organisation_page_timeline_has_no_internal_names_or_iso_dates(client, login,
                                                                           changed_org):
    admin, _, org = changed_org
    login(admin)
    page = text(client.get(f"/organisations/{org.id}?kind=change"))
    timeline = page[page.index('id="tijdlijn"'):] if 'id="tijdlijn"' in page else page
    shown = re.sub(r"<[^>]+>", " ", re.sub(r"<[^>]+\bdatetime=\"[^\"]*\"", "<", timeline))
    assert "Handmatig kritisch" in shown
    assert "manual_critical" not in shown and not ISO.search(shown)


# --- Sharing a lead: not with one's own municipality, not with nobody ----------------------------

@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def test_a_local_manager_cannot_share_a_lead_with_their_own_municipality(world):
    author = world.users["author"]  # Zwijndrecht
    with pytest.raises(ValidationError) as refused:
        share_lead({"organisation_id": world.org.id, "type": "expansion", "title": "Eigen",
                    "shared_with": "municipality", "shared_with_municipality": "GM0642"},
                   actor=author)
    assert "Dit is uw eigen gemeente" in refused.value.errors["shared_with_municipality"]


def test_a_municipality_without_local_account_managers_is_refused_plainly(world):
    assert "GM0482" not in municipalities_with_receivers()  # Alblasserdam: nobody in the CRM
    with pytest.raises(ValidationError) as refused:
        share_lead({"organisation_id": world.org.id, "type": "expansion", "title": "Niemand",
                    "shared_with": "municipality", "shared_with_municipality": "GM0482"},
                   actor=world.users["regional"])
    message = refused.value.errors["shared_with_municipality"]
    assert message.startswith("In Alblasserdam werkt nog geen lokaal accountmanager")
    assert "niemand zou dit signaal ontvangen" in message


def test_an_inactive_manager_does_not_count_as_a_receiver(world, make_user):
    gone = make_user("local_account_manager", municipality="GM0523")
    assert "GM0523" in municipalities_with_receivers()
    gone.active = False
    db.session.commit()
    assert "GM0523" not in municipalities_with_receivers()


def test_the_share_form_refuses_with_a_dutch_message_and_keeps_the_input(client, login, world):
    login(world.users["author"])
    before = db.session.scalar(sa.select(sa.func.count(Lead.id)))
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "Zoekt een hal", "description": "Mijn toelichting",
        "shared_with": "municipality", "shared_with_municipality": "GM0642"})
    assert resp.status_code == 422
    assert "Dit is uw eigen gemeente" in field_error(resp, "shared_with_municipality")
    page = text(resp)
    assert 'href="#shared_with_municipality"' in page  # linked from the error summary
    assert 'value="Zoekt een hal"' in page and "Mijn toelichting" in page
    assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == before


def test_the_share_form_leaves_out_ones_own_municipality_and_says_where_nobody_receives(
        client, login, world):
    login(world.users["author"])
    page = text(client.get(f"/leads/new?organisation_id={world.org.id}"))
    select = re.search(r'<select[^>]*id="shared_with_municipality".*?</select>', page, re.S).group(0)
    assert "Zwijndrecht" not in select  # the author's own
    assert re.search(r">Sliedrecht</option>", select)  # someone receives it there
    assert "Alblasserdam (nog niemand ontvangt hier signalen)" in select


def test_set_choices_keeps_its_old_signature(app):
    with app.test_request_context("/"):
        form = ShareLeadForm(formdata=None)
        form.set_choices([], [Municipality(code="GM0505", name="Dordrecht")])
        assert [c.label for c in form.shared_with_municipality.choices][1] == "Dordrecht"


def test_the_api_refuses_the_same_with_a_409(client, world, api_headers):
    """The request is well formed; the municipality it names refuses it (the API's rule for a
    refusal that depends on stored data: 409 with the field's message, api/__init__.py)."""
    headers = api_headers(world.users["author"])
    for code, says in (("GM0642", "Dit is uw eigen gemeente"),
                       ("GM0482", "In Alblasserdam werkt nog geen lokaal accountmanager")):
        resp = client.post("/api/v1/leads", headers=headers, json={
            "organisation_id": world.org.id, "type": "expansion", "title": "Via de API",
            "shared_with": "municipality", "shared_with_municipality": code})
        assert resp.status_code == 409, resp.get_json()
        fields = resp.get_json()["error"]["fields"]
        assert says in str(fields["shared_with_municipality"])


def test_every_message_at_once_when_the_title_is_missing_too(client, login, world):
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "", "shared_with": "municipality",
        "shared_with_municipality": "GM0482"})
    assert resp.status_code == 422
    assert field_error(resp, "title") == "Vul een korte titel in."
    assert "In Alblasserdam werkt nog geen lokaal accountmanager" in \
        field_error(resp, "shared_with_municipality")


@pytest.mark.parametrize("field, value, shown", [
    ("cutoff", "2026-12-06T13:05:00+00:00", "6 dec. 2026 14:05"),
    ("changed_at", "2026-12-06 13:05:00", "6 dec. 2026 14:05"),
    ("day", "2026-05-06", "6 mei 2026"),
    ("subject", "Bezoek 2026-12-06 gepland", "Bezoek 2026-12-06 gepland"),  # text stays text
])
def test_an_iso_value_reads_as_a_date_whatever_its_field(app, field, value, shown):
    with app.test_request_context("/"):
        assert audit_labels.format_value("job", field, value) == shown


def test_a_finished_job_says_how_long_it_took_in_words(client, login, make_user):
    import uuid

    from sdd_crm.jobs.models import Job

    user = make_user("regional_account_manager")
    start = dt.datetime(2026, 12, 6, 13, 5, 0)  # UTC, as SQLite keeps it
    job = Job(id=str(uuid.uuid4()), kind="export_list", status="finished", progress=100,
              created_by_id=user.id, params={}, started_at=start,
              finished_at=start + dt.timedelta(seconds=42))
    db.session.add(job)
    db.session.commit()
    login(user)
    page = text(client.get(f"/jobs/{job.id}"))
    assert "Gestart op 6 dec. 2026 14:05; duurde 42 seconden." in page


def test_lists_of_records_are_named_too(app):
    from types import SimpleNamespace

    event = SimpleNamespace(entity_type="interaction", action="update", user_id=None,
                            entity_id="9", changes={"user_ids": [[3], [3, 4]],
                                                    "contact_ids": [[], [7]]})
    wanted = audit_labels.references([event])
    assert wanted["user"] >= {"3", "4"} and wanted["contact"] == {"7"}
    names = {("user", "3"): "Rik", ("user", "4"): "Lies", ("contact", "7"): "Anna de Vries"}
    with app.test_request_context("/"):
        rows = {r["field"]: r for r in audit_labels.describe_changes(event, names)}
    assert rows["Collega's"]["after"] == "Rik, Lies"
    assert rows["Contactpersonen"]["after"] == "Anna de Vries"
