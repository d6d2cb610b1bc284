"""Every role against every organisation screen (DESIGN 4.4): allowed, forbidden, not found.

Local account managers (here of Dordrecht, GM0505) edit the organisations of their own
municipality; regional account managers, business developers and admins edit all; viewers read.
"""

from __future__ import annotations

import pytest

from html_helpers import ROLES, build_region
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import delete_organisation

EDIT_ALL = {"admin", "regional_account_manager", "business_developer"}
SELECTS = {"org_type": "company", "status": "active"}  # as a browser always sends them


@pytest.fixture
def region(make_user, make_org):
    return build_region(make_user, make_org)


def may_edit(role: str, place: str) -> bool:
    return role in EDIT_ALL or (role == "local_account_manager" and place == "dordrecht")


def expected_matrix(role, ids):
    """(method, url, data) → expected status for ``role``."""
    ok_or_403 = lambda allowed, ok=200: ok if allowed else 403  # noqa: E731
    rows = {
        ("GET", "/organisations/", None): 200,
        ("GET", "/organisations/?q=werf&municipality=GM0505&sort=-name&page=2", None): 200,
        ("GET", "/organisations/new", None): ok_or_403(role != "viewer"),
        ("GET", f"/organisations/{ids['missing']}", None): 404,
        ("GET", f"/organisations/{ids['deleted']}", None): 404,
        ("GET", f"/organisations/{ids['missing']}/edit", None): 404,
        ("GET", f"/organisations/{ids['deleted']}/edit", None): 404,
        ("GET", f"/organisations/{ids['deleted']}/delete", None): 404,
        ("POST", f"/organisations/{ids['missing']}/delete", None): 404,
        ("POST", f"/organisations/{ids['deleted']}/team", None): 404,
    }
    for place in ("dordrecht", "sliedrecht"):
        oid, allowed = ids[place], may_edit(role, place)
        rows.update({
            ("GET", f"/organisations/{oid}", None): 200,
            ("GET", f"/organisations/{oid}/edit", None): ok_or_403(allowed),
            ("GET", f"/organisations/{oid}/delete", None): ok_or_403(allowed),
            ("POST", f"/organisations/{oid}/edit", "EDIT"): ok_or_403(allowed, 302),
            # The account team is not part of editing: admins (and the strategic manager, of
            # whom there is none here) only (DESIGN 4.4).
            ("POST", f"/organisations/{oid}/team", "TEAM"): ok_or_403(role == "admin", 302),
        })
    # A local account manager may register companies of their own municipality only.
    create_ok = 302 if role != "viewer" else 403
    rows[("POST", "/organisations/new", "NEW_DORDRECHT")] = create_ok
    rows[("POST", "/organisations/new", "NEW_SLIEDRECHT")] = (
        422 if role == "local_account_manager" else create_ok)
    return rows


@pytest.mark.parametrize("role", ROLES)
def test_organisation_routes_per_role(role, client, login, region, make_org):
    deleted = make_org(name="Opgeheven Werf", city="Dordrecht")
    delete_organisation(deleted, actor=region.users["admin"])
    db.session.commit()
    ids = {"dordrecht": region.dordrecht.id, "sliedrecht": region.sliedrecht.id,
           "deleted": deleted.id, "missing": 987654}
    payloads = {
        "NEW_DORDRECHT": {"name": f"Nieuw {role}", "city": "Dordrecht", **SELECTS},
        "NEW_SLIEDRECHT": {"name": f"Nieuw S {role}", "city": "Sliedrecht", **SELECTS},
        "TEAM": {"user_id": str(region.users["regional_account_manager"].id),
                 "team_role": "strategic"},
    }
    login(region.users[role])
    wrong = []
    for (method, url, data), expected in expected_matrix(role, ids).items():
        if data == "EDIT":
            org = db.session.get(Organisation, int(url.split("/")[2]))
            data = {"name": org.name, "city": org.city, "kvk_number": org.kvk_number,
                    "version": str(org.version), **SELECTS}
        else:
            data = payloads.get(data, data)
        resp = client.open(url, method=method, data=data)
        if resp.status_code != expected:
            wrong.append(f"{method} {url}: {resp.status_code}, expected {expected}")
    # Deleting last, so the other checks saw the organisations.
    for place in ("dordrecht", "sliedrecht"):
        org = db.session.get(Organisation, ids[place])
        resp = client.post(f"/organisations/{ids[place]}/delete", data={"version": org.version})
        expected = 302 if may_edit(role, place) else 403
        if resp.status_code != expected:
            wrong.append(f"POST delete {place}: {resp.status_code}, expected {expected}")
        db.session.expire_all()
        deleted_now = db.session.get(Organisation, ids[place]).deleted_at is not None
        if deleted_now != (expected == 302):
            wrong.append(f"delete {place}: deleted={deleted_now}")
    assert not wrong, "\n".join(wrong)


def test_forbidden_edit_changes_nothing(client, login, region):
    org = region.sliedrecht
    login(region.users["viewer"])
    resp = client.post(f"/organisations/{org.id}/edit", data={"name": "Gekaapt", "version": "1"})
    assert resp.status_code == 403
    assert "U heeft geen toegang tot deze pagina." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).name == "Sliedrechtse Baggeraars B.V."


@pytest.mark.parametrize("method, path", [
    ("GET", "/organisations/"), ("GET", "/organisations/{id}"), ("GET", "/organisations/new"),
    ("POST", "/organisations/new"), ("GET", "/organisations/{id}/edit"),
    ("POST", "/organisations/{id}/edit"), ("GET", "/organisations/{id}/delete"),
    ("POST", "/organisations/{id}/delete"), ("POST", "/organisations/{id}/team"),
    ("POST", "/organisations/{id}/team/1/remove"),
])
def test_anonymous_is_sent_to_login(client, region, method, path):
    url = path.format(id=region.dordrecht.id)
    resp = client.open(url, method=method, data={"name": "x"})
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert db.session.get(Organisation, region.dordrecht.id).deleted_at is None
