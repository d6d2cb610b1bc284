"""Edit conflicts (issue 11 point 3): two people editing the same record never silently overwrite
each other, and the one whose save comes second sees what changed and chooses.

* Browser: a save over a newer version comes back (409) with, per field the other person
  changed, the value when the form was opened, the value stored now (who, when) and the user's
  own value, with "Mijn waarde houden" / "Hun waarde nemen"; "Samenvoegen" (the default: fields
  only the other changed take theirs, fields only I changed keep mine, fields both changed as
  chosen, preselected mine and marked), "Alles van de ander nemen", "Alles van mij houden". The
  form carries the current version, so the next save succeeds. Every versioned edit form has it.
* API: a stale ``version`` gets 409 with ``current_version``, ``current`` (the record as its GET
  returns it) and ``changed_fields``, for every versioned resource.
* Concurrency: two clients (interleaved test clients, and two threads against a real committed
  database, also on PostgreSQL) save different fields many times, retrying after a 409: every
  successful save is in the record and the audit log, no save touched the other's field, every
  refusal was a 409 and saved nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import threading
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from db_support import throwaway_database
from html_helpers import assert_good_markup, text
from werkzeug.datastructures import MultiDict

from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db

PASSWORD = "correct horse battery staple"


# --- Reading pages ------------------------------------------------------------------------------

class _Form(HTMLParser):
    """The fields of the first POST form whose action contains ``action``, as a browser posts
    them (multi-valued: checkboxes and multiple selects; only the checked radio)."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.active, self.done = action, False, False
        self.data = MultiDict()
        self._select = self._textarea = None
        self._options: list = []
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and a.get("method") == "post" \
                and self.action in (a.get("action") or ""):
            self.active = True
        if not self.active:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.add(name, a.get("value") or "y")
            elif kind != "submit":
                self.data.add(name, a.get("value") or "")
        elif tag == "select":
            self._select, self._options = (name, "multiple" in a), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self.active and self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if not self.active:
            return
        if tag == "select" and self._select:
            name, multiple = self._select
            chosen = [v for v, sel in self._options if sel]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            for value in chosen:
                self.data.add(name, value)
            self._select = None
        elif tag == "textarea" and self._textarea:
            value = self._text
            value = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self.data.add(self._textarea, value)
            self._textarea = None
        elif tag == "form":
            self.active, self.done = False, True


def form_data(resp, action: str) -> MultiDict:
    body = resp.get_data(as_text=True)
    reader = _Form(action)
    reader.feed(body.split("<main", 1)[1] if "<main" in body else body)
    assert reader.done, f"no form with action containing {action!r}"
    return reader.data


def with_values(data: MultiDict, **values) -> MultiDict:
    out = MultiDict(data)
    for name, value in values.items():
        if value is None:
            out.poplist(name)
        else:
            out.setlist(name, [value])
    return out


@dataclass
class Row:
    label: str
    base: str
    theirs: str
    mine: str
    both: bool
    pick: str | None


def conflict_rows(resp) -> dict[str, Row]:
    """The conflict table: field name → what each column shows and which choice is checked."""
    body = resp.get_data(as_text=True)
    rows = {}
    for m in re.finditer(r'<tr class="utrecht-table__row( app-conflict__row--both)?" '
                         r'id="conflict-([^"]+)">(.*?)</tr>', body, re.DOTALL):
        both, row = bool(m.group(1)), m.group(3)
        cells = [html.unescape(re.sub(r"<[^>]+>", " ", c)).split()
                 for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        name = re.search(r'name="_conflict_pick-([^"]+)"', row).group(1)
        picked = re.search(r'value="(mine|theirs)" checked', row)
        rows[name] = Row(label=" ".join(cells[0]), base=" ".join(cells[1]),
                         theirs=" ".join(cells[2]), mine=" ".join(cells[3]), both=both,
                         pick=picked.group(1) if picked else None)
    return rows


def audit_updates(entity_type: str, entity_id) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id),
        AuditEvent.action == "update").order_by(AuditEvent.id)).all()


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


# --- The browser: what the 409 page shows and what the choices do ----------------------------

@pytest.fixture
def two(app, client, login, make_user):
    """Two signed-in browsers: ``me`` (a regional account manager) and ``other`` (an admin)."""
    me = make_user("regional_account_manager", name="Mira Mijn")
    other = make_user("admin", name="Otto Ander")
    db.session.commit()
    login(me)
    other_client = app.test_client()
    login(other, c=other_client)
    return {"me": me, "other": other, "me_client": client, "other_client": other_client}


def _org_conflict(two, make_org, *, mine: dict, theirs: dict):
    """Both open the organisation's edit form; the other saves ``theirs``; I save ``mine``."""
    org = make_org(actor=two["other"], name="Werf De Merwede B.V.", city="Dordrecht",
                   employees=10)
    db.session.commit()
    url = f"/organisations/{org.id}/edit"
    mine_form = form_data(two["me_client"].get(url), "/edit")
    other_form = form_data(two["other_client"].get(url), "/edit")
    assert two["other_client"].post(url, data=with_values(other_form, **theirs)).status_code == 302
    resp = two["me_client"].post(url, data=with_values(mine_form, **mine))
    return org, url, resp


def test_the_conflict_page_lists_what_changed_field_by_field(two, make_org):
    from sdd_crm.organisations.models import Organisation

    org, _url, resp = _org_conflict(
        two, make_org, theirs={"employees": "99", "status": "inactive", "website": "werf.nl"},
        mine={"employees": "12", "description": "Bouwt baggerschepen"})
    assert resp.status_code == 409
    assert "Iemand anders heeft deze organisatie intussen gewijzigd." in text(resp)
    assert_good_markup(resp)
    rows = conflict_rows(resp)
    # Only what the other changed is listed; the field only I changed is not.
    assert set(rows) == {"employees", "status", "website"}
    employees = rows["employees"]
    assert employees.label.startswith("Werkzame personen")  # the form's own label
    assert (employees.base, employees.mine) == ("10", "12")
    assert employees.theirs.startswith("99") and "door Otto Ander" in employees.theirs
    assert employees.both and employees.pick == "mine"  # both changed it: marked, mine first
    # A choice shows its label as a person reads it, not its code.
    status = rows["status"]
    assert (status.base, status.mine) == ("Actief", "Actief")
    assert status.theirs.startswith("Inactief") and not status.both and status.pick == "theirs"
    assert rows["website"].base == "(leeg)"
    words = " ".join(text(resp).split())
    assert "door u allebei gewijzigd" in words and "Gewijzigd door Otto Ander (" in words
    # The form still shows what I typed, and carries the stored version now.
    page = form_data(resp, "/edit")
    assert page["employees"] == "12" and page["description"] == "Bouwt baggerschepen"
    stored = fresh(Organisation, org.id)
    assert page["version"] == str(stored.version)
    assert (stored.employees, stored.description) == (99, None)  # nothing of mine was saved


def test_taking_their_value_then_saving_stores_theirs(two, make_org):
    from sdd_crm.organisations.models import Organisation

    org, url, resp = _org_conflict(two, make_org, theirs={"employees": "99"},
                                   mine={"employees": "12", "legal_form": "B.V."})
    assert conflict_rows(resp)["employees"].pick == "mine"
    choice = with_values(form_data(resp, "/edit"), **{"_conflict_pick-employees": "theirs"})
    assert two["me_client"].post(url, data=choice).status_code == 302
    saved = fresh(Organisation, org.id)
    assert (saved.employees, saved.legal_form) == (99, "B.V.")


def test_merge_keeps_the_changes_of_both(two, make_org):
    """Fields only the other changed take theirs, fields only I changed keep mine: saving the
    409 page as it comes (the merge is preselected) loses nobody's change."""
    from sdd_crm.organisations.models import Organisation

    org, url, resp = _org_conflict(
        two, make_org, theirs={"website": "www.merwede.nl", "status": "inactive"},
        mine={"description": "Mijn omschrijving", "legal_form": "B.V."})
    assert resp.status_code == 409
    rows = conflict_rows(resp)
    assert {r.pick for r in rows.values()} == {"theirs"} and not any(r.both for r in rows.values())
    merged = with_values(form_data(resp, "/edit"), _conflict_resolve="merge")
    assert two["me_client"].post(url, data=merged).status_code == 302
    saved = fresh(Organisation, org.id)
    assert (saved.website, saved.status, saved.description, saved.legal_form) == (
        "https://www.merwede.nl", "inactive", "Mijn omschrijving", "B.V.")
    # My save changed only my fields: the audit log shows no overwrite of theirs.
    mine = [e for e in audit_updates("organisation", org.id) if e.user_id == two["me"].id]
    assert len(mine) == 1 and set(mine[0].changes) == {"description", "legal_form"}


def test_the_buttons_take_all_theirs_or_keep_all_mine(two, make_org):
    from sdd_crm.organisations.models import Organisation

    org, url, resp = _org_conflict(two, make_org, theirs={"employees": "99", "legal_form": "N.V."},
                                   mine={"employees": "12", "description": "Mijn tekst"})
    page = form_data(resp, "/edit")
    assert two["me_client"].post(url, data=with_values(page, _conflict_resolve="theirs")) \
        .status_code == 302
    saved = fresh(Organisation, org.id)
    assert (saved.employees, saved.legal_form, saved.description) == (99, "N.V.", "Mijn tekst")

    # Again, now keeping everything of mine: a knowing overwrite of the other's fields.
    other_form = form_data(two["other_client"].get(url), "/edit")
    mine_form = form_data(two["me_client"].get(url), "/edit")
    assert two["other_client"].post(url, data=with_values(other_form, employees="50",
                                                          legal_form="C.V.")).status_code == 302
    resp = two["me_client"].post(url, data=with_values(mine_form, employees="13"))
    assert resp.status_code == 409
    keep = with_values(form_data(resp, "/edit"), _conflict_resolve="mine")
    assert two["me_client"].post(url, data=keep).status_code == 302
    saved = fresh(Organisation, org.id)
    assert (saved.employees, saved.legal_form) == (13, "N.V.")


def test_a_third_change_while_choosing_shows_the_page_again(two, make_org):
    """The 409 page's form carries the version it showed: if the record changes yet again
    before the user saves, that save is refused too and shows the newest change."""
    from sdd_crm.organisations.models import Organisation

    org, url, resp = _org_conflict(two, make_org, theirs={"legal_form": "N.V."},
                                   mine={"description": "Eerste poging"})
    page = form_data(resp, "/edit")
    other_form = form_data(two["other_client"].get(url), "/edit")
    assert two["other_client"].post(url, data=with_values(other_form, employees="77")) \
        .status_code == 302
    again = two["me_client"].post(url, data=page)
    assert again.status_code == 409
    rows = conflict_rows(again)
    assert set(rows) == {"employees"} and rows["employees"].pick == "theirs"
    assert two["me_client"].post(url, data=form_data(again, "/edit")).status_code == 302
    saved = fresh(Organisation, org.id)
    assert (saved.legal_form, saved.employees, saved.description) == ("N.V.", 77, "Eerste poging")


def test_dates_and_people_are_shown_as_a_person_reads_them(app, two, login):
    """A task: the due date in words, the assignee by name, never an id or an ISO date."""
    from sdd_crm.interactions.models import Task
    from sdd_crm.interactions.services import create_task

    task = create_task({"title": "Offerte nabellen", "due_date": "2027-03-01"},
                       actor=two["me"])
    db.session.commit()
    url = f"/tasks/{task.id}/edit"
    mine_form = form_data(two["me_client"].get(url), "/edit")
    other_form = form_data(two["other_client"].get(url), "/edit")
    changed = with_values(other_form, due_date="2027-03-12", assignee_id=str(two["other"].id))
    assert two["other_client"].post(url, data=changed).status_code == 302
    resp = two["me_client"].post(url, data=with_values(mine_form, title="Offerte nabellen (2)"))
    assert resp.status_code == 409
    rows = conflict_rows(resp)
    assert set(rows) == {"due_date", "assignee_id"}
    assert rows["due_date"].base == "1 mrt. 2027" and rows["due_date"].theirs.startswith("12 mrt. 2027")
    assert rows["assignee_id"].base.startswith("Mira Mijn")
    assert rows["assignee_id"].theirs.startswith("Otto Ander")
    assert str(two["other"].id) not in rows["assignee_id"].theirs.split()
    assert two["me_client"].post(url, data=form_data(resp, "/edit")).status_code == 302
    saved = fresh(Task, task.id)
    assert (saved.title, saved.due_date, saved.assignee_id) == (
        "Offerte nabellen (2)", dt.date(2027, 3, 12), two["other"].id)


def test_an_edit_without_the_snapshot_still_lists_what_changed(two, make_org):
    """A page from before this feature (or a hand-made POST) has no snapshot of what was opened:
    the audit log's 'before' values stand in for it."""
    from sdd_crm.organisations.models import Organisation

    org = make_org(actor=two["other"], name="Oude Pagina B.V.", city="Dordrecht", employees=10)
    db.session.commit()
    url = f"/organisations/{org.id}/edit"
    mine_form = with_values(form_data(two["me_client"].get(url), "/edit"), _conflict_base=None)
    other_form = form_data(two["other_client"].get(url), "/edit")
    assert two["other_client"].post(url, data=with_values(other_form, legal_form="N.V.")) \
        .status_code == 302
    resp = two["me_client"].post(url, data=with_values(mine_form, description="Mijn tekst"))
    assert resp.status_code == 409
    rows = conflict_rows(resp)
    assert set(rows) == {"legal_form"} and rows["legal_form"].pick == "theirs"
    assert two["me_client"].post(url, data=form_data(resp, "/edit")).status_code == 302
    saved = fresh(Organisation, org.id)
    assert (saved.legal_form, saved.description) == ("N.V.", "Mijn tekst")


# --- Every versioned edit form ------------------------------------------------------------------

@dataclass
class Case:
    url: str  # the page with the form
    action: str  # part of the form's action
    mine: tuple[str, str]  # (field, value) I change
    theirs: tuple[str, str]  # (field, value) the other changes first
    post: str | None = None  # where the form posts, when not to ``url``
    shows: tuple[str, str] | None = None  # the other's field as a person reads it: before, now


def _case_organisation(w):
    org = w.make_org(actor=w.other, name="Formwerf B.V.", city="Dordrecht")
    return Case(f"/organisations/{org.id}/edit", "/edit", ("legal_form", "B.V."),
                ("description", "Door de ander"))


def _case_contact(w):
    contact = w.make_contact(w.org, first_name="Jan", last_name="Jansen")
    return Case(f"/contacts/{contact.id}/edit", "/edit", ("function", "Directeur"),
                ("last_name", "Jansen-Bakker"))


def _case_interaction(w):
    from sdd_crm.interactions.services import create_interaction

    i = create_interaction({"organisation_id": w.org.id, "type": "call",
                            "date": dt.date(2026, 11, 2), "subject": "Gesprek"}, actor=w.me)
    return Case(f"/interactions/{i.id}/edit", "/edit", ("subject", "Gesprek over groei"),
                ("date", "2026-11-03"), shows=("2 nov. 2026", "3 nov. 2026"))


def _case_task(w):
    from sdd_crm.interactions.services import create_task

    task = create_task({"title": "Bellen", "organisation_id": w.org.id}, actor=w.me)
    return Case(f"/tasks/{task.id}/edit", "/edit", ("title", "Terugbellen"),
                ("description", "Na de vakantie"))


def _case_lead(w):
    from sdd_crm.leads.services import share_lead

    lead = share_lead({"organisation_id": w.org.id, "type": "expansion", "title": "Zoekt ruimte",
                       "shared_with": "regional_team"}, actor=w.me)
    return Case(f"/leads/{lead.id}/edit", "/edit", ("title", "Zoekt 2 hectare"),
                ("description", "Toelichting van de ander"))


def _case_cluster(w):
    from sdd_crm.valuechains.services import create_cluster

    cluster = create_cluster({"name": "Formcluster", "description": "Eerst"}, actor=w.other)
    return Case(f"/chains/clusters/{cluster.id}/edit", "/edit", ("name", "Formcluster (mijn)"),
                ("description", "Door de ander"))


def _chain(w):
    from sdd_crm.valuechains.services import create_cluster, create_value_chain

    cluster = create_cluster({"name": "Ketencluster", "description": ""}, actor=w.other)
    return create_value_chain({"name": "Formketen", "cluster_id": cluster.id,
                               "stages": ["Ontwerp"]}, actor=w.other)


def _case_chain(w):
    chain = _chain(w)
    return Case(f"/chains/{chain.id}/edit", "/edit", ("name", "Formketen (mijn)"),
                ("description", "Door de ander"))


def _case_supply_link(w):
    from sdd_crm.valuechains.network_services import create_supply_link

    customer = w.make_org(actor=w.other, name="Afnemer B.V.", city="Sliedrecht")
    link = create_supply_link({"supplier_id": w.org.id, "customer_id": customer.id,
                               "value_chain_id": None, "supplied": "staal",
                               "sole_source": False}, actor=w.other)
    return Case(f"/chains/links/{link.id}/edit", "/edit", ("supplied", "aluminium"),
                ("sole_source", "y"), shows=("Nee", "Ja"))


def _case_programme(w):
    return Case("/admin/programmes/scale/edit", "/admin/programmes/scale/edit",
                ("name", "SCALE (mijn)"), ("funder", "Provincie Zuid-Holland"))


def _case_participation(w):
    from sdd_crm.programmes.models import Programme
    from sdd_crm.programmes.services import add_participation

    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    p = add_participation(scale, w.org.id, actor=w.other)
    owner = w.make_user("business_developer", name="Bas Bizdev")
    return Case(f"/programmes/scale/participations/{p.id}", f"/participations/{p.id}/edit",
                ("notes", "Mijn notitie"), ("owner_id", str(owner.id)),
                post=f"/programmes/scale/participations/{p.id}/edit", shows=("Otto Ander", "Bas Bizdev"))


def _case_user(w):
    target = w.make_user("regional_account_manager", name="Doel Gebruiker")
    return Case(f"/admin/users/{target.id}/edit", "/edit", ("name", "Doel Gebruiker-Nieuw"),
                ("role", "business_developer"),
                shows=("Regionaal accountmanager", "Business developer"))


def _case_criticality_flag(w):
    from sdd_crm.valuechains.criticality_services import set_manual_flag

    set_manual_flag(w.org, True, "Enige leverancier van de werf", actor=w.other,
                    expected_version=None)
    return Case(f"/chains/criticality/{w.org.id}", "/flag", ("reason", "Mijn reden"),
                ("critical", "0"), post=f"/chains/criticality/{w.org.id}/flag",
                shows=("Kritisch", "Niet kritisch"))


def _case_criticality_settings(w):
    from sdd_crm.valuechains.criticality_services import save_settings

    save_settings({"employment": "1", "sole_source": "1", "bridging": "1", "breadth": "0,5",
                   "threshold": "0,8"}, actor=w.other)
    return Case("/chains/criticality/settings", "/criticality/settings", ("threshold", "0,9"),
                ("employment", "2"))


CASES = {name.removeprefix("_case_"): fn for name, fn in dict(globals()).items()
         if name.startswith("_case_")}


@dataclass
class World:
    me: object
    other: object
    org: object
    make_org: object
    make_user: object
    make_contact: object


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_versioned_edit_form_shows_the_changes_and_merges(kind, app, client, login,
                                                                make_user, make_org,
                                                                make_contact):
    me = make_user("admin", name="Mira Mijn")
    other = make_user("admin", name="Otto Ander")
    org = make_org(actor=other, name="Merwede Werf B.V.", city="Dordrecht")
    case = CASES[kind](World(me, other, org, make_org, make_user, make_contact))
    db.session.commit()
    login(me)
    other_client = app.test_client()
    login(other, c=other_client)

    opened = client.get(case.url)
    assert opened.status_code == 200 and 'name="_conflict_base"' in opened.get_data(as_text=True)
    mine_form = form_data(opened, case.action)
    other_form = form_data(other_client.get(case.url), case.action)
    field, value = case.theirs
    post_url = case.post or case.url
    saved = other_client.post(post_url, data=with_values(other_form, **{field: value}))
    assert saved.status_code == 302, text(saved)[:2000]

    resp = client.post(post_url, data=with_values(mine_form, **{case.mine[0]: case.mine[1]}))
    assert resp.status_code == 409
    assert_good_markup(resp)
    rows = conflict_rows(resp)
    assert set(rows) == {field}, rows
    assert rows[field].pick == "theirs" and "Otto Ander" in rows[field].theirs
    assert rows[field].label  # the form's label, never empty
    if case.shows:
        assert rows[field].base == case.shows[0] and rows[field].mine == case.shows[0]
        assert rows[field].theirs.startswith(case.shows[1] + " door Otto Ander")

    merged = client.post(post_url, data=form_data(resp, case.action))
    assert merged.status_code == 302, text(merged)[:3000]
    after = form_data(client.get(case.url), case.action)
    assert after.get(case.mine[0]) == case.mine[1]
    assert after.get(field) == value


# --- The API ------------------------------------------------------------------------------------

@dataclass
class ApiCase:
    url: str
    field: str  # a field the other changes
    value: object
    mine: dict  # what I send with the stale version


def _api_organisation(w):
    return ApiCase(f"/api/v1/organisations/{w.org.id}", "legal_form", "N.V.",
                   {"description": "Mijn tekst"})


def _api_contact(w):
    c = w.make_contact(w.org, first_name="Jan", last_name="Jansen")
    return ApiCase(f"/api/v1/contacts/{c.id}", "function", "Inkoper", {"last_name": "Bakker"})


def _api_interaction(w):
    from sdd_crm.interactions.services import create_interaction

    i = create_interaction({"organisation_id": w.org.id, "type": "call",
                            "date": dt.date(2026, 11, 2), "subject": "Gesprek"}, actor=w.me)
    return ApiCase(f"/api/v1/interactions/{i.id}", "notes", "Verslag", {"subject": "Mijn onderwerp"})


def _api_task(w):
    from sdd_crm.interactions.services import create_task

    t = create_task({"title": "Bellen", "organisation_id": w.org.id}, actor=w.me)
    return ApiCase(f"/api/v1/tasks/{t.id}", "description", "Na de vakantie",
                   {"title": "Terugbellen"})


def _api_lead(w):
    from sdd_crm.leads.services import share_lead

    lead = share_lead({"organisation_id": w.org.id, "type": "expansion", "title": "Zoekt ruimte",
                       "shared_with": "regional_team"}, actor=w.me)
    return ApiCase(f"/api/v1/leads/{lead.id}", "description", "Toelichting",
                   {"title": "Zoekt 2 hectare"})


def _api_programme(w):
    return ApiCase("/api/v1/programmes/scale", "funder", "Provincie", {"name": "SCALE (mijn)"})


def _api_participation(w):
    from sdd_crm.programmes.models import Programme
    from sdd_crm.programmes.services import add_participation

    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    p = add_participation(scale, w.org.id, actor=w.other)
    return ApiCase(f"/api/v1/programmes/scale/participations/{p.id}", "notes", "Notitie",
                   {"owner_id": w.me.id})


def _api_cluster(w):
    from sdd_crm.valuechains.services import create_cluster

    cluster = create_cluster({"name": "API-cluster", "description": ""}, actor=w.other)
    return ApiCase(f"/api/v1/clusters/{cluster.id}", "description", "Door de ander",
                   {"name": "API-cluster (mijn)"})


def _api_value_chain(w):
    chain = _chain(w)
    return ApiCase(f"/api/v1/value-chains/{chain.id}", "description", "Door de ander",
                   {"name": "Formketen (mijn)"})


def _api_supply_link(w):
    from sdd_crm.valuechains.network_services import create_supply_link

    customer = w.make_org(actor=w.other, name="Afnemer B.V.", city="Sliedrecht")
    link = create_supply_link({"supplier_id": w.org.id, "customer_id": customer.id,
                               "value_chain_id": None, "supplied": "staal",
                               "sole_source": False}, actor=w.other)
    return ApiCase(f"/api/v1/supply-links/{link.id}", "sole_source", True,
                   {"supplied": "aluminium"})


API_CASES = {name.removeprefix("_api_"): fn for name, fn in dict(globals()).items()
             if name.startswith("_api_")}


@pytest.mark.parametrize("kind", sorted(API_CASES))
def test_a_stale_api_version_gets_409_with_the_current_record(kind, client, make_user, make_org,
                                                              make_contact, api_headers):
    me = make_user("admin", name="Mira Mijn")
    other = make_user("admin", name="Otto Ander")
    org = make_org(actor=other, name="API Werf B.V.", city="Dordrecht")
    case = API_CASES[kind](World(me, other, org, make_org, make_user, make_contact))
    db.session.commit()
    mine_h, other_h = api_headers(me), api_headers(other)

    seen = client.get(case.url, headers=mine_h).get_json()
    version = seen["version"]
    theirs = client.patch(case.url, json={"version": version, case.field: case.value},
                          headers=other_h)
    assert theirs.status_code == 200, theirs.get_json()
    stale = client.patch(case.url, json={"version": version, **case.mine}, headers=mine_h)
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    now = client.get(case.url, headers=mine_h).get_json()
    assert error["code"] == "conflict" and error["current_version"] == now["version"] > version
    assert error["current"] == now  # exactly what a GET returns
    assert error["current"][case.field] == case.value
    assert case.field in error["changed_fields"]
    assert not set(case.mine) & set(error["changed_fields"])
    # The client merges and sends again with the current version: both changes stand.
    again = client.patch(case.url, json={"version": error["current_version"], **case.mine},
                         headers=mine_h)
    assert again.status_code == 200
    body = again.get_json()
    assert body[case.field] == case.value
    assert all(body[k] == v for k, v in case.mine.items())


def test_a_stale_delete_or_flag_also_gets_the_current_record(client, make_user, make_org,
                                                             api_headers):
    """A DELETE with a stale version, and an action on the record (the criticality flag of an
    organisation): ``current`` is the record as its own GET returns it."""
    me = make_user("admin", name="Mira Mijn")
    org = make_org(actor=me, name="Vlagwerf B.V.", city="Dordrecht")
    db.session.commit()
    headers = api_headers(me)
    url = f"/api/v1/organisations/{org.id}"
    assert client.patch(url, json={"version": 1, "legal_form": "B.V."},
                        headers=headers).status_code == 200
    flag = client.post(f"{url}/criticality-flag", headers=headers,
                       json={"critical": True, "reason": "Enige leverancier", "version": 1})
    assert flag.status_code == 409
    now = client.get(url, headers=headers).get_json()
    assert flag.get_json()["error"]["current"] == now
    assert flag.get_json()["error"]["changed_fields"] == ["legal_form"]
    gone = client.delete(f"{url}?version=1", headers=headers)
    assert gone.status_code == 409
    assert gone.get_json()["error"]["current"] == now
    assert client.get(url, headers=headers).status_code == 200  # not deleted


def test_the_409_answer_is_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["components"]["schemas"]["ErrorBody"]["properties"]
    assert body["current"]["type"] == "object" and body["changed_fields"]["type"] == "array"
    assert "`current`" in doc["components"]["responses"]["Conflict"]["description"]
    patch = doc["paths"]["/organisations/{org_id}"]["patch"]["responses"]
    assert patch["409"] == {"$ref": "#/components/responses/Conflict"}


# --- Two clients, many saves ----------------------------------------------------------------

def _save_with_retries(client, url, field, value, outcomes):
    """Open the form, change ``field``, save; after a 409 save the conflict page as it comes
    (the merge), after a 503 (SQLite's single writer was busy) open the form again. Every
    answer is recorded; returns once saved."""
    page = client.get(url)
    assert page.status_code == 200
    data = with_values(form_data(page, "/edit"), **{field: value})
    for _attempt in range(50):
        resp = client.post(url, data=data)
        outcomes.append((value, resp.status_code))
        if resp.status_code == 302:
            return
        if resp.status_code == 409:
            data = form_data(resp, "/edit")
            assert data[field] == value  # my input is kept on the conflict page
        elif resp.status_code == 503:
            data = with_values(form_data(client.get(url), "/edit"), **{field: value})
        else:
            raise AssertionError(f"unexpected {resp.status_code}: {text(resp)[:500]}")
    raise AssertionError("no save after 50 tries")


def _check_no_lost_update(org_id, users, successes, outcomes, *, refused=(409,)):
    """Every successful save is in the audit log (in order) and in the final record; no save
    touched the other's field; every refusal was a 409."""
    from sdd_crm.organisations.models import Organisation

    events = audit_updates("organisation", org_id)
    final = fresh(Organisation, org_id)
    for name, (user_id, field) in users.items():
        mine = [e for e in events if e.user_id == user_id]
        assert all(set(e.changes) == {field} for e in mine), [e.changes for e in mine]
        assert [e.changes[field][1] for e in mine] == successes[name]
        assert getattr(final, field) == successes[name][-1]
        statuses = [status for _value, status in outcomes[name]]
        assert statuses.count(302) == len(successes[name])
        assert set(statuses) - {302} <= set(refused)
    # Each save's "before" is the previous save of that field: nothing in between reverted it.
    for name, (user_id, field) in users.items():
        chain = [e.changes[field] for e in events if field in e.changes]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))


def test_two_clients_interleaved_lose_no_update(app, client, login, make_user, make_org):
    a_user = make_user("regional_account_manager", name="Anna A")
    b_user = make_user("admin", name="Bert B")
    org = make_org(actor=b_user, name="Wisselwerf B.V.", city="Dordrecht")
    db.session.commit()
    login(a_user)
    b_client = app.test_client()
    login(b_user, c=b_client)
    url = f"/organisations/{org.id}/edit"
    clients = {"a": client, "b": b_client}
    fields = {"a": "description", "b": "legal_form"}
    successes = {"a": [], "b": []}
    outcomes = {"a": [], "b": []}
    refusals = 0

    def save(k, form, value):
        resp = clients[k].post(url, data=with_values(form, **{fields[k]: value}))
        outcomes[k].append((value, resp.status_code))
        return resp

    for i in range(12):
        # Both open the form; one saves first (alternating), every third round twice; then the
        # other saves the form it opened before: refused (409), then saved from the 409 page.
        first, second = ("a", "b") if i % 2 else ("b", "a")
        forms = {k: form_data(c.get(url), "/edit") for k, c in clients.items()}
        value = f"{first.upper()} ronde {i}"
        assert save(first, forms[first], value).status_code == 302
        successes[first].append(value)
        if i % 3 == 0:
            value = f"{first.upper()} ronde {i} bis"
            assert save(first, form_data(clients[first].get(url), "/edit"), value).status_code == 302
            successes[first].append(value)
        value = f"{second.upper()} ronde {i}"
        resp = save(second, forms[second], value)
        assert resp.status_code == 409
        refusals += 1
        rows = conflict_rows(resp)
        assert fields[first] in rows and fields[second] not in rows
        assert rows[fields[first]].theirs.startswith(successes[first][-1])
        resp = clients[second].post(url, data=form_data(resp, "/edit"))
        outcomes[second].append((value, resp.status_code))
        assert resp.status_code == 302
        successes[second].append(value)
    assert refusals == 12  # every round had a stale save
    _check_no_lost_update(org.id, {"a": (a_user.id, "description"), "b": (b_user.id, "legal_form")},
                          successes, outcomes)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def committed_app(request, tmp_path, monkeypatch):
    """An app on a database of its own, committed for real, so two threads see each other's
    saves (the per-test rolled-back transaction would hide them)."""
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.reference.services import seed_reference

    if request.param == "sqlite":
        monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    with throwaway_database(tmp_path, "concurrent_edits") as url:
        if request.param == "postgres":
            assert url.startswith("postgresql")
        app = create_app({"TESTING": True, "SECRET_KEY": "concurrent", "SQLALCHEMY_DATABASE_URI": url,
                          "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False,
                          "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://",
                          "SERVER_NAME": None, "TWO_FACTOR_REQUIRED_ROLES": (),
                          "LOGIN_DELAY_FREE_FAILURES": 1000})
        monkeypatch.setattr(db, "session", db._make_scoped_session({}))
        with app.app_context():
            upgrade()
            seed_reference()
            db.session.commit()
        try:
            yield request.param, app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_two_threads_against_the_real_database_lose_no_update(committed_app):
    """Both threads open and save at the same moment, round after round. On PostgreSQL the
    later UPDATE finds a newer version (StaleDataError); on SQLite it waits for the one writer
    and is then refused as locked: both are answered as the edit conflict they are (409)."""
    _kind, app = committed_app
    from sdd_crm.auth.services import create_user
    from sdd_crm.organisations.services import create_organisation

    with app.app_context():
        a_user = create_user(email="a@sdd.example", name="Anna A", role="regional_account_manager",
                             password=PASSWORD)
        b_user = create_user(email="b@sdd.example", name="Bert B", role="admin", password=PASSWORD)
        org = create_organisation({"name": "Draadwerf B.V.", "city": "Dordrecht"}, actor=b_user)
        db.session.commit()
        users = {"a": (a_user.id, "description"), "b": (b_user.id, "legal_form")}
        org_id = org.id
    url = f"/organisations/{org_id}/edit"
    clients = {}
    for k, email in (("a", "a@sdd.example"), ("b", "b@sdd.example")):
        clients[k] = app.test_client()
        assert clients[k].post("/login", data={"email": email, "password": PASSWORD}) \
            .status_code == 302
    rounds = 15
    start = threading.Barrier(2, timeout=60)
    successes = {"a": [], "b": []}
    outcomes = {"a": [], "b": []}
    errors = []

    def work(k):
        try:
            for i in range(rounds):
                start.wait()  # both open and save at the same moment, round after round
                value = f"{k.upper()} ronde {i}"
                _save_with_retries(clients[k], url, users[k][1], value, outcomes[k])
                successes[k].append(value)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            start.abort()

    threads = [threading.Thread(target=work, args=(k,)) for k in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert all(len(successes[k]) == rounds for k in successes)
    with app.app_context():
        _check_no_lost_update(org_id, users, successes, outcomes)
    refused = sum(1 for k in outcomes for _v, s in outcomes[k] if s != 302)
    assert refused >= 1  # the saves really collided
