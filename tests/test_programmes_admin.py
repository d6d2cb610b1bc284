"""Admin screens for programmes: list, create, edit, soft delete and restore (issue 5)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from html_helpers import assert_good_markup, field_error, form_fields, input_value, text
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.programmes.models import Programme, ProgrammeTarget

OTHER_ROLES = ("regional_account_manager", "local_account_manager", "business_developer", "viewer")


def _scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


def _new(**changes):
    data = MultiDict({"code": "warmte-2030", "name": "Warmtenetten 2030", "funder": "Provincie",
                      "description": "Aansluiten op warmtenetten.", "start_date": "2025-01-01",
                      "end_date": "2030-12-31", "targets-0-kind": "sme_count",
                      "targets-0-value": "150", "targets-0-description": "mkb-bedrijven",
                      "targets-1-kind": "sme_count", "targets-1-value": "",
                      "targets-1-description": "", "targets-2-kind": "sme_count"})
    data.setlist("municipalities", ["GM0505", "GM0610"])
    for key, value in changes.items():
        if isinstance(value, list):
            data.setlist(key, value)
        else:
            data[key] = value
    return data


def _routes(scale):
    return [("GET", "/admin/programmes", None), ("GET", "/admin/programmes/new", None),
            ("POST", "/admin/programmes/new", _new()),
            ("GET", f"/admin/programmes/{scale.code}/edit", None),
            ("POST", f"/admin/programmes/{scale.code}/edit", _new(name="Gekaapt", version="1")),
            ("POST", f"/admin/programmes/{scale.code}/delete", {}),
            ("POST", f"/admin/programmes/{scale.code}/restore", {})]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_admins_reach_the_programme_screens(app, login, make_user, role):
    scale = _scale()
    c = login(make_user(role), c=app.test_client())
    for method, url, data in _routes(scale):
        resp = c.get(url) if method == "GET" else c.post(url, data=data)
        assert resp.status_code == 403, (role, url)
    db.session.expire_all()
    assert (scale.name, scale.deleted_at) == ("SCALE — energietransitie in de gebouwde omgeving", None)
    assert db.session.scalar(sa.select(Programme).where(Programme.code == "warmte-2030")) is None


def test_anonymous_visitors_go_to_login(client):
    for method, url, data in _routes(_scale()):
        resp = client.get(url) if method == "GET" else client.post(url, data=data)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), url


def test_the_list_shows_programmes_and_their_targets(client, login, make_user):
    login(make_user("admin"))
    resp = client.get("/admin/programmes")
    assert resp.status_code == 200
    assert_good_markup(resp)
    body = text(resp)
    assert "SCALE — energietransitie in de gebouwde omgeving" in body
    assert "1.000 mkb-bedrijven" in body and "Regio Deal Drechtsteden-Gorinchem" in body
    assert "Verwijderde programma's" not in body


def test_an_admin_creates_a_programme(client, login, make_user):
    admin = make_user("admin")
    login(admin)
    form = client.get("/admin/programmes/new")
    assert form.status_code == 200
    assert_good_markup(form)
    resp = client.post("/admin/programmes/new", data=_new(code=" Warmte-2030 "))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/programmes")
    p = db.session.scalar(sa.select(Programme).where(Programme.code == "warmte-2030"))
    assert (p.name, p.funder, str(p.start_date), str(p.end_date)) == (
        "Warmtenetten 2030", "Provincie", "2025-01-01", "2030-12-31")
    assert [m.code for m in p.municipalities] == ["GM0505", "GM0610"]
    assert [(t.kind, t.value, t.description) for t in p.targets] == [("sme_count", 150, "mkb-bedrijven")]
    audit = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "programme", AuditEvent.entity_id == str(p.id))).all()
    assert [(a.action, a.user_id) for a in audit] == [("create", admin.id)]
    assert "Warmtenetten 2030" in text(client.get("/admin/programmes"))


@pytest.mark.parametrize("change, field, message", [
    ({"code": ""}, "code", "Vul een code in, zoals scale."),
    ({"code": "Warmte 2030"}, "code", "Gebruik alleen kleine letters, cijfers en streepjes, zoals regio-deal."),
    ({"code": "x" * 41}, "code", "Hoogstens 40 tekens."),
    ({"code": "scale"}, "code", "Deze code is al in gebruik (ook verwijderde programma's tellen mee)."),
    ({"name": ""}, "name", "Vul de naam van het programma in."),
    ({"name": "n" * 201}, "name", "Hoogstens 200 tekens."),
    ({"funder": "f" * 201}, "funder", "Hoogstens 200 tekens."),
    ({"description": "d" * 5001}, "description", "Hoogstens 5000 tekens."),
    ({"start_date": "2025-02-30"}, "start_date", "Vul een geldige datum in, bijvoorbeeld 6-12-2026."),
    ({"end_date": "2024-12-31"}, "end_date", "De einddatum ligt vóór de begindatum."),
    ({"municipalities": []}, "municipalities", "Kies minstens één gemeente voor de regio."),
    ({"municipalities": ["GM0505", "GM9999"]}, "municipalities", "Onbekende gemeente: GM9999."),
    ({"targets-0-value": "-5"}, "targets-0-value", "Vul een heel getal tussen 1 en 1.000.000 in."),
    ({"targets-0-value": "1000001"}, "targets-0-value", "Vul een heel getal tussen 1 en 1.000.000 in."),
    ({"targets-0-value": "veel"}, "targets-0-value", "Vul een heel getal tussen 1 en 1.000.000 in."),
    ({"targets-0-value": "", "targets-0-description": "zonder aantal"}, "targets-0-value",
     "Vul het doel in (een aantal)."),
    ({"targets-0-value": "", "targets-0-description": ""}, "targets", "Geef het programma minstens één doel."),
    ({"targets-0-description": "o" * 501}, "targets-0-description", "Hoogstens 500 tekens."),
])
def test_bad_input_keeps_the_form_and_saves_nothing(client, login, make_user, change, field, message):
    login(make_user("admin"))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Programme))
    resp = client.post("/admin/programmes/new", data=_new(**change))
    assert resp.status_code == 422
    assert message in field_error(resp, field)
    assert "Het formulier is niet opgeslagen." in text(resp)
    assert input_value(resp, "name") == _new(**change)["name"].strip() or field == "name"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == before
    assert_good_markup(resp)


def test_a_later_target_row_error_lands_on_that_row(client, login, make_user):
    login(make_user("admin"))
    resp = client.post("/admin/programmes/new", data=_new(**{
        "targets-0-value": "", "targets-0-description": "",
        "targets-2-value": "0", "targets-2-description": "nul"}))
    assert resp.status_code == 422
    assert field_error(resp, "targets-2-value") == "Vul een heel getal tussen 1 en 1.000.000 in."
    assert field_error(resp, "targets-0-value") == ""
    assert input_value(resp, "targets-2-description") == "nul"


def test_an_admin_edits_region_and_targets(client, login, make_user):
    admin = make_user("admin")
    login(admin)
    scale = _scale()
    page = client.get("/admin/programmes/scale/edit")
    assert page.status_code == 200
    assert_good_markup(page)
    data = MultiDict(form_fields(page, "/admin/programmes/scale/edit"))
    assert data["version"] == "1" and data["targets-0-value"] == "1000"
    data.setlist("municipalities", ["GM0505", "GM0512"])
    data["targets-0-value"] = "1200"
    data["targets-1-value"] = "50"
    data["targets-1-description"] = "grote bedrijven"
    data["code"] = "iets-anders"  # ignored: the code is fixed
    resp = client.post("/admin/programmes/scale/edit", data=data)
    assert resp.status_code == 302, text(resp)
    db.session.expire_all()
    assert scale.code == "scale" and scale.version == 2
    assert [m.code for m in scale.municipalities] == ["GM0505", "GM0512"]
    assert [(t.value, t.description) for t in sorted(scale.targets, key=lambda t: t.id)] == [
        (1200, "mkb-bedrijven"), (50, "grote bedrijven")]
    audit = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "programme", AuditEvent.entity_id == str(scale.id))).all()
    assert audit[-1].changes["municipalities"][1] == ["GM0505", "GM0512"]

    # Emptying a row removes that target.
    data = MultiDict(form_fields(client.get("/admin/programmes/scale/edit"), "/admin/programmes/scale/edit"))
    data.setlist("municipalities", ["GM0505"])
    data["targets-1-value"], data["targets-1-description"] = "", ""
    assert client.post("/admin/programmes/scale/edit", data=data).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeTarget)
                             .where(ProgrammeTarget.programme_id == scale.id)) == 1


def test_a_removed_target_is_audited_with_what_it_held(client, login, make_user):
    """A target removed from a programme is gone for good: its values stay in the audit log,
    in its own delete event and in the programme's targets before → after (issue 11)."""
    from sdd_crm.programmes.admin_services import update_programme

    admin = make_user("admin")
    scale = _scale()
    update_programme(scale, {"targets": [{"value": 1000, "description": "mkb-bedrijven"},
                                         {"value": 40, "description": "grote bedrijven"}]},
                     actor=admin, expected_version=1, partial=True)
    db.session.commit()
    gone = max(t.id for t in scale.targets)
    login(admin)
    data = MultiDict(form_fields(client.get("/admin/programmes/scale/edit"), "/admin/programmes/scale/edit"))
    data["targets-1-value"], data["targets-1-description"] = "", ""
    assert client.post("/admin/programmes/scale/edit", data=data).status_code == 302
    db.session.expire_all()
    assert [t.value for t in _scale().targets] == [1000]
    (deleted,) = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "programme_target", AuditEvent.entity_id == str(gone),
        AuditEvent.action == "delete")).all()
    assert (deleted.user_id, deleted.changes) == (admin.id, {
        "programme_id": [scale.id, None], "kind": ["sme_count", None], "value": [40, None],
        "description": ["grote bedrijven", None]})
    updated = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "programme", AuditEvent.entity_id == str(scale.id))
        .order_by(AuditEvent.id)).all()[-1]
    assert updated.changes["targets"] == [
        ["sme_count: 1000 (mkb-bedrijven)", "sme_count: 40 (grote bedrijven)"],
        ["sme_count: 1000 (mkb-bedrijven)"]]


def test_a_stale_edit_is_refused_with_a_clear_message(client, login, make_user):
    login(make_user("admin"))
    page = client.get("/admin/programmes/scale/edit")
    data = MultiDict(form_fields(page, "/admin/programmes/scale/edit"))
    data.setlist("municipalities", ["GM0505"])
    first = MultiDict(data)
    first["name"] = "SCALE (eerste)"
    assert client.post("/admin/programmes/scale/edit", data=first).status_code == 302
    data["name"] = "SCALE (tweede)"
    resp = client.post("/admin/programmes/scale/edit", data=data)
    assert resp.status_code == 409
    assert "Iemand anders heeft dit programma intussen gewijzigd." in text(resp)
    assert input_value(resp, "name") == "SCALE (tweede)"  # what they typed is kept
    db.session.expire_all()
    assert _scale().name == "SCALE (eerste)"


def test_bad_edit_saves_nothing(client, login, make_user):
    login(make_user("admin"))
    data = MultiDict(form_fields(client.get("/admin/programmes/scale/edit"), "/admin/programmes/scale/edit"))
    data.setlist("municipalities", ["GM0505"])
    data["end_date"] = "2020-01-01"
    data["targets-0-value"] = "0"
    resp = client.post("/admin/programmes/scale/edit", data=data)
    assert resp.status_code == 422
    assert field_error(resp, "end_date") == "De einddatum ligt vóór de begindatum."
    assert field_error(resp, "targets-0-value") == "Vul een heel getal tussen 1 en 1.000.000 in."
    db.session.expire_all()
    scale = _scale()
    assert (scale.version, len(scale.municipalities), scale.targets[0].value) == (1, 7, 1000)


def test_delete_and_restore(client, login, make_user):
    login(make_user("admin"))
    assert client.post("/admin/programmes/scale/delete", data={"version": "1"}).status_code == 302
    db.session.expire_all()
    assert _scale().deleted_at is not None
    assert client.get("/admin/programmes/scale/edit").status_code == 404
    body = text(client.get("/admin/programmes"))
    assert "Verwijderde programma's" in body and "/admin/programmes/scale/restore" in body
    assert client.post("/admin/programmes/scale/restore").status_code == 302
    db.session.expire_all()
    assert _scale().deleted_at is None
    assert client.post("/admin/programmes/scale/restore").status_code == 404  # not deleted
    assert client.post("/admin/programmes/nope/delete").status_code == 404
    # A stale delete is refused.
    resp = client.post("/admin/programmes/scale/delete", data={"version": "1"}, follow_redirects=True)
    assert "Iemand anders heeft dit programma intussen gewijzigd." in text(resp)
    db.session.expire_all()
    assert _scale().deleted_at is None


def test_list_costs_a_fixed_number_of_queries(client, login, make_user, count_queries):
    from sdd_crm.programmes.admin_services import create_programme

    admin = make_user("admin")
    login(admin)
    db.session.expire_all()
    with count_queries() as few:
        assert client.get("/admin/programmes").status_code == 200
    for n in range(5):
        create_programme({"code": f"p{n}", "name": f"P{n}", "municipalities": ["GM0505"],
                          "targets": [{"value": 10}, {"value": 20}]}, actor=admin)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        assert client.get("/admin/programmes").status_code == 200
    assert many.count == few.count == 6  # user, programmes + targets + regions, deleted, notifications
