"""Admin screens: users and tokens, the bin (Prullenbak), the audit log — admins only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, field_error, form_fields, input_value, text
from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth.models import ApiToken, User
from sdd_crm.auth.services import authenticate, create_token, user_for_token
from sdd_crm.contacts.models import Contact
from sdd_crm.contacts.services import delete_contact
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import delete_organisation

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "een nieuw lang wachtwoord"
OTHER_ROLES = ("regional_account_manager", "local_account_manager", "business_developer", "viewer")


@pytest.fixture
def world(make_user, make_org, make_contact):
    admin = make_user("admin", name="Beheerder Bea")
    target = make_user("local_account_manager", municipality="GM0610", name="Lokale Lotte")
    org = make_org(name="Verwijderde Werf B.V.", kvk_number="12345678")
    gone_contact_org = make_org(name="Levende Installateur B.V.")
    contact = make_contact(gone_contact_org, last_name="Weg")
    delete_organisation(org, actor=admin)
    delete_contact(contact, actor=admin)
    db.session.commit()
    return SimpleNamespace(admin=admin, target=target, org=org, contact=contact)


def routes(w):
    """(method, url, form data, status an admin gets) for every admin route."""
    u = w.target.id
    return [
        ("GET", "/admin/", None, 302),
        ("GET", "/admin/users", None, 200),
        ("GET", "/admin/users/new", None, 200),
        ("POST", "/admin/users/new", {}, 422),
        ("GET", f"/admin/users/{u}", None, 200),
        ("GET", f"/admin/users/{u}/edit", None, 200),
        ("POST", f"/admin/users/{u}/edit", {}, 422),
        ("POST", f"/admin/users/{u}/tokens", {"name": "koppeling"}, 200),
        ("POST", f"/admin/users/{u}/revoke-tokens", {}, 302),
        ("POST", f"/admin/users/{u}/deactivate", {}, 302),
        ("GET", "/admin/deleted", None, 200),
        ("GET", "/admin/deleted?kind=contacts", None, 200),
        ("POST", f"/admin/deleted/organisations/{w.org.id}/restore", {}, 302),
        ("POST", f"/admin/deleted/contacts/{w.contact.id}/restore", {}, 302),
        ("GET", "/admin/audit", None, 200),
        ("GET", "/admin/audit?entity_type=user&page=1", None, 200),
    ]


def call(c, method, url, data):
    return c.get(url) if method == "GET" else c.post(url, data=data)


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for method, url, data, _ in routes(world):
        resp = call(client, method, url, data)
        assert resp.status_code == 302, url
        assert resp.headers["Location"].startswith("/login"), url
    assert db.session.get(Organisation, world.org.id).deleted_at is not None


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_and_change_nothing(app, login, make_user, world, role):
    c = login(make_user(role), c=app.test_client())
    for method, url, data, _ in routes(world):
        assert call(c, method, url, data).status_code == 403, (role, url)
    db.session.expire_all()
    assert db.session.get(User, world.target.id).active
    assert db.session.get(Organisation, world.org.id).deleted_at is not None
    assert db.session.get(Contact, world.contact.id).deleted_at is not None
    assert not db.session.scalars(sa.select(ApiToken)).all()
    # The admin menu item is not offered either.
    assert "/admin/users" not in c.get("/").get_data(as_text=True)


def test_admins_reach_every_route(client, login, world):
    login(world.admin)
    for method, url, data, status in routes(world):
        resp = call(client, method, url, data)
        assert resp.status_code == status, (url, resp.status_code)
        if resp.status_code == 200:
            assert_good_markup(resp)


def test_unknown_or_live_records_are_not_found(client, login, world, make_org):
    login(world.admin)
    live = make_org(name="Levend B.V.")
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/users/999999/deactivate").status_code == 404
    assert client.post(f"/admin/deleted/organisations/{live.id}/restore").status_code == 404
    assert client.post("/admin/deleted/contacts/999999/restore").status_code == 404


# --- users -------------------------------------------------------------------------------------

def test_an_admin_creates_a_user_who_can_sign_in(client, login, world):
    login(world.admin)
    resp = client.post("/admin/users/new", data={
        "email": "Nieuwe.Collega@Example.nl", "name": "Nieuwe Collega", "role": "local_account_manager",
        "municipality": "GM0590", "password": NEW_PASSWORD})
    assert resp.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "nieuwe.collega@example.nl"))
    assert (user.role, user.municipality_code) == ("local_account_manager", "GM0590")
    assert authenticate("nieuwe.collega@example.nl", NEW_PASSWORD) is user
    assert "Nieuwe Collega" in text(client.get(resp.headers["Location"]))
    assert db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id),
        AuditEvent.action == "create")).user_id == world.admin.id


GOOD = {"email": "goed@example.nl", "name": "Goede Naam", "role": "viewer", "municipality": "",
        "password": NEW_PASSWORD}


@pytest.mark.parametrize("change, field, message", [
    ({"email": "geen-adres"}, "email", "Vul een geldig e-mailadres in."),
    ({"email": "user-dup@example.nl"}, "email", "Er bestaat al een gebruiker met dit e-mailadres."),
    ({"name": ""}, "name", "Vul een naam in."),
    ({"name": "x" * 201}, "name", "Hoogstens 200 tekens."),
    ({"password": "te kort"}, "password", "Het wachtwoord moet minstens 12 tekens lang zijn."),
    ({"role": "local_account_manager"}, "municipality", "Een lokaal accountmanager hoort bij een gemeente."),
    ({"role": "superuser"}, "role", "Not a valid choice"),
    ({"municipality": "GM9999"}, "municipality", "Onbekende gemeente."),
])
def test_bad_input_on_user_create_saves_nothing(client, login, world, make_user, change, field, message):
    make_user("viewer", email="user-dup@example.nl")
    login(world.admin)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    resp = client.post("/admin/users/new", data={**GOOD, **change})
    assert resp.status_code == 422
    error = field_error(resp, field)
    assert error, f"no message under {field}"
    if field != "role":
        assert message in error
    assert "Het formulier is niet opgeslagen." in text(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before
    if field != "email":
        assert input_value(resp, "email") == GOOD["email"]  # the form is kept


def test_an_admin_edits_role_municipality_and_password(client, login, world):
    login(world.admin)
    page = client.get(f"/admin/users/{world.target.id}/edit")
    data = form_fields(page, "/edit")
    assert data["municipality"] == "GM0610" and data["role"] == "local_account_manager"
    data.update(role="local_account_manager", municipality="GM0505", password=NEW_PASSWORD)
    resp = client.post(f"/admin/users/{world.target.id}/edit", data=data)
    assert resp.status_code == 302
    user = db.session.get(User, world.target.id)
    assert user.municipality_code == "GM0505" and user.version == 2
    assert authenticate(user.email, NEW_PASSWORD) is user


def test_a_stale_edit_is_refused_and_changes_nothing(client, login, world):
    login(world.admin)
    data = form_fields(client.get(f"/admin/users/{world.target.id}/edit"), "/edit")
    # Someone else saves first.
    other = dict(data, name="Door een ander gewijzigd")
    assert client.post(f"/admin/users/{world.target.id}/edit", data=other).status_code == 302
    resp = client.post(f"/admin/users/{world.target.id}/edit",
                       data=dict(data, role="viewer", municipality=""))
    assert resp.status_code == 409
    assert "intussen gewijzigd" in text(resp)
    user = db.session.get(User, world.target.id)
    assert (user.name, user.role) == ("Door een ander gewijzigd", "local_account_manager")


@pytest.mark.parametrize("change, field, message", [
    ({"municipality": ""}, "municipality", "Een lokaal accountmanager hoort bij een gemeente."),
    ({"name": ""}, "name", "Vul een naam in."),
    ({"password": "kort"}, "password", "Het wachtwoord moet minstens 12 tekens lang zijn."),
    ({"version": "abc"}, None, "Ongeldige versie."),
])
def test_bad_input_on_user_edit_saves_nothing(client, login, world, change, field, message):
    login(world.admin)
    data = form_fields(client.get(f"/admin/users/{world.target.id}/edit"), "/edit")
    data.update({"name": "Nieuwe Naam", **change})
    resp = client.post(f"/admin/users/{world.target.id}/edit", data=data)
    assert resp.status_code == 422
    assert message in (field_error(resp, field) if field else text(resp))
    user = db.session.get(User, world.target.id)
    assert (user.name, user.municipality_code, user.version) == ("Lokale Lotte", "GM0610", 1)


def test_an_admin_cannot_remove_their_own_admin_rights(client, login, world):
    login(world.admin)
    data = form_fields(client.get(f"/admin/users/{world.admin.id}/edit"), "/edit")
    resp = client.post(f"/admin/users/{world.admin.id}/edit", data=dict(data, role="viewer"))
    assert resp.status_code == 422
    assert "eigen beheerrechten" in text(resp)
    assert db.session.get(User, world.admin.id).role == "admin"
    resp = client.post(f"/admin/users/{world.admin.id}/deactivate", follow_redirects=True)
    assert "eigen account niet deactiveren" in text(resp)
    assert db.session.get(User, world.admin.id).active


def test_deactivating_a_user_revokes_tokens_and_blocks_login(app, client, login, world):
    token = create_token(world.target, "koppeling")
    db.session.commit()
    login(world.admin)
    resp = client.post(f"/admin/users/{world.target.id}/deactivate", follow_redirects=True)
    assert "is gedeactiveerd; 1 token(s) ingetrokken." in text(resp)
    assert not db.session.get(User, world.target.id).active
    assert user_for_token(token) is None
    assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == world.target.id))
    failed = app.test_client().post("/login", data={"email": world.target.email, "password": PASSWORD})
    assert failed.status_code == 200  # the login form again, not a redirect


def test_unticking_active_on_the_edit_form_also_revokes_tokens(client, login, world):
    token = create_token(world.target, "koppeling")
    db.session.commit()
    login(world.admin)
    data = form_fields(client.get(f"/admin/users/{world.target.id}/edit"), "/edit")
    data.pop("active")
    assert client.post(f"/admin/users/{world.target.id}/edit", data=data).status_code == 302
    assert not db.session.get(User, world.target.id).active
    assert user_for_token(token) is None


def test_revoking_a_users_tokens(client, login, world):
    tokens = [create_token(world.target, f"t{i}") for i in range(2)]
    own = create_token(world.admin, "eigen")
    db.session.commit()
    login(world.admin)
    resp = client.post(f"/admin/users/{world.target.id}/revoke-tokens", follow_redirects=True)
    assert "2 token(s) van Lokale Lotte ingetrokken." in text(resp)
    assert [user_for_token(t) for t in tokens] == [None, None]
    assert user_for_token(own) == world.admin
    assert db.session.get(User, world.target.id).active  # revoking tokens is not deactivating


def test_a_new_token_is_shown_once_and_stored_hashed(client, login, world):
    login(world.admin)
    resp = client.post(f"/admin/users/{world.target.id}/tokens", data={"name": "Rapportage"})
    assert resp.status_code == 200
    token = resp.get_data(as_text=True).split('id="token">', 1)[1].split("<", 1)[0]
    assert token.startswith("sdd_") and user_for_token(token) == world.target
    record = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == world.target.id))
    assert record.name == "Rapportage" and record.token_hash != token
    detail = client.get(f"/admin/users/{world.target.id}").get_data(as_text=True)
    assert "Rapportage" in detail and token not in detail


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_a_token_needs_a_sensible_name(client, login, world, name):
    login(world.admin)
    resp = client.post(f"/admin/users/{world.target.id}/tokens", data={"name": name})
    assert resp.status_code == 422
    assert field_error(resp, "name")
    assert not db.session.scalars(sa.select(ApiToken)).all()


def test_no_token_for_a_deactivated_user(client, login, world):
    world.target.active = False
    db.session.commit()
    login(world.admin)
    resp = client.post(f"/admin/users/{world.target.id}/tokens", data={"name": "x"})
    assert resp.status_code == 422 and "gedeactiveerd" in text(resp)
    assert not db.session.scalars(sa.select(ApiToken)).all()


def test_the_user_list_searches_and_does_not_grow_in_queries(client, login, world, make_user,
                                                             count_queries):
    login(world.admin)
    assert "Lokale Lotte" in text(client.get("/admin/users?q=lotte"))
    assert "Lokale Lotte" not in text(client.get("/admin/users?role=viewer"))
    db.session.expire_all()
    with count_queries() as few:
        client.get("/admin/users")
    for _ in range(5):
        create_token(make_user("viewer"), "x")
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        client.get("/admin/users")
    assert many.count == few.count


# --- the bin -----------------------------------------------------------------------------------

def test_the_bin_lists_deleted_records_with_who_and_when(client, login, world):
    login(world.admin)
    page = text(client.get("/admin/deleted"))
    assert "Verwijderde Werf B.V." in page and "Beheerder Bea" in page
    assert "Levende Installateur B.V." not in page
    contacts = text(client.get("/admin/deleted?kind=contacts"))
    assert "Jan Weg" in contacts and "Levende Installateur B.V." in contacts


def test_restoring_an_organisation_is_audited(client, login, world):
    login(world.admin)
    resp = client.post(f"/admin/deleted/organisations/{world.org.id}/restore", follow_redirects=True)
    assert "Verwijderde Werf B.V. is hersteld." in text(resp)
    org = db.session.get(Organisation, world.org.id)
    assert org.deleted_at is None and org.deleted_by_id is None
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org.id),
        AuditEvent.action == "restore"))
    assert event.user_id == world.admin.id
    assert "Verwijderde Werf B.V." in text(client.get(f"/organisations/{org.id}"))


def test_a_kvk_clash_blocks_the_restore_with_a_dutch_message(client, login, world, monkeypatch):
    """A deleted organisation's KvK number stays reserved (the unique index covers deleted rows),
    so the service's clash check is a second line; its refusal must reach the admin in Dutch."""
    import dataclasses

    from sdd_crm.admin import recycle_bin
    from sdd_crm.exceptions import ValidationError

    def clash(org, *, actor):
        raise ValidationError("Een andere organisatie heeft dit KvK-nummer inmiddels.")

    monkeypatch.setitem(recycle_bin.KINDS, "organisations",
                        dataclasses.replace(recycle_bin.KINDS["organisations"], restore=clash))
    login(world.admin)
    resp = client.post(f"/admin/deleted/organisations/{world.org.id}/restore", follow_redirects=True)
    assert "Verwijderde Werf B.V. is niet hersteld: Een andere organisatie heeft dit KvK-nummer " \
           "inmiddels." in text(resp)
    assert db.session.get(Organisation, world.org.id).deleted_at is not None
    assert not db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "restore")).all()


def test_a_deleted_organisations_kvk_number_stays_reserved(make_org, world):
    from sdd_crm.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        make_org(name="Nieuwe Werf B.V.", kvk_number="12345678")
    assert "verwijderde organisatie" in str(refused.value)


def test_restoring_a_contact(client, login, world):
    login(world.admin)
    resp = client.post(f"/admin/deleted/contacts/{world.contact.id}/restore", follow_redirects=True)
    assert "Jan Weg is hersteld." in text(resp)
    assert db.session.get(Contact, world.contact.id).deleted_at is None
    assert db.session.scalar(sa.select(AuditEvent.user_id).where(
        AuditEvent.entity_type == "contact", AuditEvent.action == "restore")) == world.admin.id


def test_a_contact_of_a_deleted_organisation_waits_for_its_organisation(client, login, world,
                                                                        make_contact, make_org):
    org = make_org(name="Later Verwijderd B.V.")
    contact = make_contact(org, last_name="Wacht")
    delete_contact(contact, actor=world.admin)
    delete_organisation(org, actor=world.admin)
    db.session.commit()
    login(world.admin)
    resp = client.post(f"/admin/deleted/contacts/{contact.id}/restore", follow_redirects=True)
    assert "Herstel eerst de organisatie Later Verwijderd B.V." in text(resp)
    assert db.session.get(Contact, contact.id).deleted_at is not None


# --- the audit log -----------------------------------------------------------------------------

def test_the_audit_log_filters_by_type_and_pages(client, login, world):
    db.session.add_all(AuditEvent(user_id=world.admin.id, action="update", entity_type="setting",
                                  entity_id=f"k{i}", changes={"value": [i, i + 1]}, source="web")
                       for i in range(60))
    db.session.commit()
    login(world.admin)
    first = text(client.get("/admin/audit?entity_type=setting"))
    assert "Volgende pagina" in first and "Beheerder Bea" in first
    assert "Organisatie" not in first.split("<tbody", 1)[1]
    second = text(client.get("/admin/audit?entity_type=setting&page=2"))
    assert "Vorige pagina" in second and "Volgende pagina" not in second
    orgs = text(client.get(f"/admin/audit?entity_type=organisation&entity_id={world.org.id}"))
    assert "Verwijderd" in orgs and "Verwijderde Werf B.V." in orgs


def test_admin_forms_carry_a_csrf_token(app, client, login, world, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    csrf = form_fields(client.get("/login"))["csrf_token"]
    assert client.post("/login", data={"email": world.admin.email, "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    detail = client.get(f"/admin/users/{world.target.id}")
    assert form_fields(detail, "/deactivate").get("csrf_token")
    assert client.post(f"/admin/users/{world.target.id}/deactivate").status_code == 400
    assert db.session.get(User, world.target.id).active
    assert form_fields(client.get("/admin/users/new"), "/admin/users/new").get("csrf_token")
