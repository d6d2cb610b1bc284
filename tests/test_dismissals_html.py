"""'Geen dubbel' in the browser: from the list and the comparison page, the admins' list of
marked pairs with its undo button, who may do what, and bad input."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from html_helpers import ROLES, assert_good_markup, field_error, input_value, switch_user, text

from sdd_crm.extensions import db
from sdd_crm.organisations.dismissals import dismiss_pair
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import DuplicateDismissal

MARKERS = {"admin", "regional_account_manager"}


def _marks():
    D = DuplicateDismissal
    return [tuple(r) for r in db.session.execute(
        sa.select(D.organisation_a_id, D.organisation_b_id, D.note).order_by(D.id))]


def _listed(page: str) -> list[str]:
    """The comparison links on the list, as "a/b"."""
    return re.findall(r'href="/imports/duplicates/(\d+/\d+)">Vergelijken', page)


@pytest.fixture
def kok(make_user, make_org):
    admin = make_user("admin")
    a = make_org(actor=admin, name="Bouwbedrijf Kok B.V.", kvk_number="11111111", postcode="3311 AB")
    b = make_org(actor=admin, name="Bouwbedrijf Kok", postcode="3311 AB")
    c = make_org(actor=admin, name="Bouwbedrijf Kok Dordrecht", postcode="3311 AB")
    return admin, a, b, c


@pytest.mark.parametrize("role", ROLES)
def test_who_may_mark_list_and_undo(client, login, make_user, kok, role):
    _admin, a, b, _c = kok
    login(make_user(role))
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/dismiss", data={"note": "Twee"})
    assert resp.status_code == (302 if role in MARKERS else 403)
    assert _marks() == ([(a.id, b.id, "Twee")] if role in MARKERS else [])
    dismiss_pair(a.id, b.id, actor=_admin)
    db.session.commit()
    assert client.get("/imports/duplicates/dismissed").status_code == (
        200 if role == "admin" else 403)
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/undo-dismissal")
    assert resp.status_code == (302 if role == "admin" else 403)
    db.session.expire_all()
    assert len(_marks()) == (0 if role == "admin" else 1)


def test_anonymous_visitors_are_sent_to_the_login_page(client, kok):
    _admin, a, b, _c = kok
    for method, path in (("post", f"/imports/duplicates/{a.id}/{b.id}/dismiss"),
                         ("post", f"/imports/duplicates/{a.id}/{b.id}/undo-dismissal"),
                         ("get", "/imports/duplicates/dismissed")):
        resp = getattr(client, method)(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert _marks() == []


def test_mark_from_the_list_and_undo_from_the_admins_list(client, login, make_user, kok,
                                                          count_queries):
    admin, a, b, c = kok
    ram = make_user("regional_account_manager", name="Rik Regio")
    login(ram)
    client.post("/imports/duplicates/search")
    page = text(client.get("/imports/duplicates"))
    assert _listed(page) == [f"{a.id}/{b.id}", f"{a.id}/{c.id}", f"{b.id}/{c.id}"]
    assert page.count(">Geen dubbel<span") == 3
    assert "Paren gemarkeerd als geen dubbel" not in page  # the list of marks is the admins'
    resp = client.post(f"/imports/duplicates/{a.id}/{c.id}/dismiss",
                       data={"note": "Andere aannemer", "origin": "list", "page": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/imports/duplicates?page=1")
    page = text(client.get(resp.headers["Location"]))
    assert ("Bouwbedrijf Kok B.V. en Bouwbedrijf Kok Dordrecht zijn gemarkeerd als geen dubbel "
            "en staan niet meer in de lijst.") in page
    assert _listed(page) == [f"{a.id}/{b.id}", f"{b.id}/{c.id}"]
    assert "2 paren om te beoordelen" in page
    # The admin finds the mark and takes it off; the pair is back in the list at once.
    switch_user(client, login, admin)
    page = text(client.get("/imports/duplicates"))
    assert 'href="/imports/duplicates/dismissed"' in page
    resp = client.get("/imports/duplicates/dismissed")
    assert_good_markup(resp)
    body = text(resp)
    row = re.search(r'<tbody class="utrecht-table__body">(.*?)</tbody>', body, re.S).group(1)
    cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip()
             for c in re.findall(r'<td class="utrecht-table__cell">(.*?)</td>', row, re.S)]
    assert cells[:4] == ["Bouwbedrijf Kok B.V.", "Bouwbedrijf Kok Dordrecht", "Andere aannemer",
                         "Rik Regio"]
    resp = client.post(f"/imports/duplicates/{a.id}/{c.id}/undo-dismissal")
    assert resp.headers["Location"].endswith("/imports/duplicates/dismissed")
    body = text(client.get(resp.headers["Location"]))
    assert ("De markering geen dubbel van Bouwbedrijf Kok B.V. en Bouwbedrijf Kok Dordrecht is "
            "ongedaan gemaakt") in body
    assert "Er zijn geen paren gemarkeerd als geen dubbel." in body
    assert _listed(text(client.get("/imports/duplicates"))) == [
        f"{a.id}/{b.id}", f"{a.id}/{c.id}", f"{b.id}/{c.id}"]
    # A second undo (someone was quicker) says so instead of failing.
    resp = client.post(f"/imports/duplicates/{a.id}/{c.id}/undo-dismissal", follow_redirects=True)
    assert "waren niet (meer) gemarkeerd als geen dubbel" in text(resp)
    # The admins' list costs the same number of statements for one mark as for three.
    dismiss_pair(a.id, b.id, actor=admin)
    db.session.commit()
    client.get("/imports/duplicates/dismissed")
    with count_queries() as one:
        client.get("/imports/duplicates/dismissed")
    dismiss_pair(a.id, c.id, actor=ram)
    dismiss_pair(b.id, c.id, actor=admin, note="Ander bedrijf")
    db.session.commit()
    client.get("/imports/duplicates/dismissed")
    with count_queries() as three:
        resp = client.get("/imports/duplicates/dismissed")
    assert text(resp).count(">Ongedaan maken<span") == 3
    assert one.count == three.count == 5  # the session (with its user) is one of them


def test_mark_from_the_comparison_page(client, login, make_user, kok):
    admin, a, b, _c = kok
    ram = make_user("regional_account_manager", name="Rik Regio")
    login(ram)
    resp = client.get(f"/imports/duplicates/{a.id}/{b.id}")
    assert_good_markup(resp)
    page = text(resp)
    assert "Geen dubbel?" in page and f'action="/imports/duplicates/{a.id}/{b.id}/dismiss"' in page
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/dismiss",
                       data={"note": "Holding en werkmaatschappij", "origin": "compare"})
    assert resp.headers["Location"].endswith("/imports/duplicates")
    page = text(client.get(f"/imports/duplicates/{a.id}/{b.id}"))
    assert "door Rik Regio gemarkeerd als geen dubbel" in page
    assert "Notitie: Holding en werkmaatschappij" in page
    assert "Geen dubbel?" not in page and "Ongedaan maken" not in page  # undo is the admin's
    assert ">Samenvoegen</button>" in page  # a mark does not stop a merge
    switch_user(client, login, admin)
    resp = client.get(f"/imports/duplicates/{b.id}/{a.id}")  # either order
    assert_good_markup(resp)
    assert "Ongedaan maken" in text(resp)
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/undo-dismissal",
                       data={"origin": "compare"})
    assert resp.headers["Location"].endswith(f"/imports/duplicates/{a.id}/{b.id}")
    assert "Geen dubbel?" in text(client.get(resp.headers["Location"]))
    assert _marks() == []


def test_bad_input_keeps_the_form_and_saves_nothing(client, login, kok):
    admin, a, b, c = kok
    login(admin)
    client.post("/imports/duplicates/search")
    long_note = "x" * 501
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/dismiss",
                       data={"note": long_note, "origin": "list", "page": "1"})
    assert resp.status_code == 422
    page = text(resp)
    assert "Het paar is niet gemarkeerd als geen dubbel." in page
    assert "Hoogstens 500 tekens." in page
    assert input_value(resp, f"note-{a.id}-{b.id}") == long_note  # what was typed stays
    assert input_value(resp, f"note-{a.id}-{c.id}") == ""
    assert_good_markup(resp)
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/dismiss",
                       data={"note": long_note, "origin": "compare"})
    assert resp.status_code == 422
    assert field_error(resp, "note") == "Hoogstens 500 tekens."
    assert input_value(resp, "note") == long_note
    assert_good_markup(resp)
    # Unknown, equal or garbage ids: not found, never a server error.
    for path in (f"/imports/duplicates/{a.id}/{a.id}/dismiss",
                 f"/imports/duplicates/{a.id}/999999/dismiss",
                 "/imports/duplicates/abc/1/dismiss", "/imports/duplicates/-1/2/dismiss",
                 f"/imports/duplicates/{a.id}/99999999999999999999/dismiss"):
        assert client.post(path, data={"origin": "list"}).status_code == 404
    for path in (f"/imports/duplicates/{a.id}/{a.id}/undo-dismissal",
                 "/imports/duplicates/999998/999999/undo-dismissal"):
        resp = client.post(path, data={"origin": "compare"})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/dismissed")
    assert client.post("/imports/duplicates/1/99999999999999999999/undo-dismissal").status_code == 404
    assert client.get("/imports/duplicates/dismissed?page=abc").status_code == 200
    assert "Op deze pagina staan geen paren meer." in text(
        client.get("/imports/duplicates/dismissed?page=7"))
    # A record merged away in the meantime: refused with a message.
    merge_organisations(a, c, actor=admin)
    db.session.commit()
    resp = client.post(f"/imports/duplicates/{b.id}/{c.id}/dismiss", data={"origin": "list"})
    assert resp.status_code == 422
    assert ("Bouwbedrijf Kok Dordrecht is al samengevoegd met een andere organisatie."
            in text(resp))
    resp = client.post(f"/imports/duplicates/{b.id}/{c.id}/dismiss", data={"origin": "compare"})
    assert resp.status_code == 422
    assert "is al samengevoegd met een andere organisatie" in text(resp)
    assert _marks() == []


@pytest.fixture
def signed_in_then_csrf_on(app, client, login, kok):
    """The admin signs in first (the login helper posts without a token), then CSRF is on."""
    login(kok[0])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_buttons_carry_the_csrf_token(signed_in_then_csrf_on, client, kok):
    _admin, a, b, _c = kok
    client.post("/imports/duplicates/search", data={"csrf_token": _token(
        client.get("/imports/duplicates"))})
    assert client.post(f"/imports/duplicates/{a.id}/{b.id}/dismiss").status_code == 400
    assert _marks() == []
    page = client.get("/imports/duplicates")
    form = re.search(rf'action="/imports/duplicates/{a.id}/{b.id}/dismiss">(.*?)</form>',
                     page.get_data(as_text=True), re.S).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    resp = client.post(f"/imports/duplicates/{a.id}/{b.id}/dismiss",
                       data={"csrf_token": token, "origin": "list", "page": "1"})
    assert resp.status_code == 302 and len(_marks()) == 1
    assert client.post(f"/imports/duplicates/{a.id}/{b.id}/undo-dismissal").status_code == 400
    listed = client.get("/imports/duplicates/dismissed").get_data(as_text=True)
    form = re.search(r'undo-dismissal"[^>]*>(.*?)</form>', listed, re.S).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post(f"/imports/duplicates/{a.id}/{b.id}/undo-dismissal",
                       data={"csrf_token": token}).status_code == 302
    assert _marks() == []


def _token(resp) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     resp.get_data(as_text=True)).group(1)
