"""The review queue in the browser (issue 6 point 6): rows without a KvK number that look like
an existing organisation (name and postcode) are held; someone who may import merges each one
into that organisation or creates it as new — once. And who may use the import and review
screens at all (admins, regional account managers, business developers), with CSRF tokens."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, form_fields, text
from sdd_crm.auth.models import User
from sdd_crm.extensions import db
from sdd_crm.imports.models import ImportReview
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import delete_organisation
from test_imports_html import (  # noqa: F401  (users is a fixture)
    IMPORTERS,
    KVK_SAMPLE,
    ROLES,
    import_file,
    jobs_of_kind,
    preview,
    summary,
    upload,
    users,
)

HELD_FILE = ("Naam;Adres;Postcode;Woonplaats;Hoofd-SBI;Aantal werkzame personen;Website\r\n"
             "Schroefas & Zonen;Kade 2;3361 XY;Sliedrecht;3315;14;\r\n").encode("cp1252")


@pytest.fixture
def importer(make_user):
    return make_user("regional_account_manager", name="Rianne Regio")


@pytest.fixture
def candidate(make_org):
    return make_org(name="Schroefas & Zonen", postcode="3361 XY", city="Sliedrecht",
                    street="Kade 1", employees=10, website="https://schroefas.example")


@pytest.fixture
def held(client, login, importer, candidate):
    """The file imported through the browser: its one row is held for review."""
    login(importer)
    page = client.get(import_file(client, HELD_FILE, "schroefas.csv"))
    assert summary(page) == {"created": 0, "updated": 0, "unchanged": 0, "held_for_review": 1,
                             "rejected": 0, "errors": 0}
    assert 'href="/imports/review">Naar de rijen ter beoordeling</a>' in text(page)
    return db.session.scalars(sa.select(ImportReview)).one()


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def org_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


def test_the_queue_shows_the_row_beside_the_organisation_it_looks_like(client, held, candidate):
    page = client.get("/imports/review")
    assert page.status_code == 200
    assert_good_markup(page)
    body = text(page)
    row = body.split("<tbody", 1)[1]
    assert f'href="/imports/review/{held.id}">schroefas.csv, rij 2</a>' in row
    file_cell, org_cell = re.findall(r'<td class="utrecht-table__cell">(.*?)</td>', row, re.S)[:2]
    plain = lambda html: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()  # noqa: E731
    assert plain(file_cell) == ("Naam Schroefas & Zonen KvK-nummer — Straat of adres Kade 2 "
                                "Postcode 3361 XY Plaats Sliedrecht Werkzame personen 14")
    assert plain(org_cell) == ("Schroefas & Zonen KvK-nummer — Straat of adres Kade 1 "
                               "Postcode 3361 XY Plaats Sliedrecht Werkzame personen 10")
    assert f'href="/organisations/{candidate.id}">Schroefas & Zonen</a>' in org_cell
    assert "Samenvoegen met deze organisatie" in row and "Als nieuwe organisatie aanmaken" in row
    assert "Rijen die wachten op een beslissing, de oudste eerst" in body

    detail = client.get(f"/imports/review/{held.id}")
    assert_good_markup(detail)
    cells = [plain(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>",
                                          text(detail).split("<tbody", 1)[1], re.S)]
    rows = {cells[i]: (cells[i + 1], cells[i + 2]) for i in range(0, len(cells), 3)}
    assert rows["Werkzame personen"] == ("14", "10 anders")
    assert rows["Straat of adres"] == ("Kade 2", "Kade 1 anders")
    assert rows["Gemeente"] == ("Sliedrecht", "Sliedrecht")
    assert rows["SBI-codes"] == ("3315", "— aanvulling")
    assert rows["Website"] == ("—", "https://schroefas.example")


def test_merge_puts_the_rows_values_into_the_organisation(client, held, candidate, importer):
    count = org_count()
    resp = client.post(f"/imports/review/{held.id}/merge")
    assert resp.status_code == 302 and resp.headers["Location"] == "/imports/review"
    page = client.get("/imports/review")
    assert "De rij is samengevoegd met Schroefas & Zonen." in text(page)
    assert "Er wachten geen rijen op een beslissing." in text(page)
    org = fresh(Organisation, candidate.id)
    assert (org.employees, org.street, org.postcode, org.municipality_code) == (
        14, "Kade 2", "3361 XY", "GM0610")
    assert org.website == "https://schroefas.example"  # an empty cell erases nothing
    assert [s.code for s in org.sbi_codes] == ["3315"]
    assert org_count() == count
    review = fresh(ImportReview, held.id)
    assert (review.status, review.resolved_organisation_id, review.resolved_by_id) == (
        "merged", candidate.id, importer.id)

    done = text(client.get("/imports/review?view=resolved"))
    row = done.split("<tbody", 1)[1]
    assert "Samengevoegd" in row
    assert f'href="/organisations/{candidate.id}">Schroefas & Zonen</a>' in row
    assert "Rianne Regio" in row


def test_create_makes_a_new_organisation_and_leaves_the_other_alone(client, held, candidate):
    count = org_count()
    resp = client.post(f"/imports/review/{held.id}/create")
    assert resp.status_code == 302
    page = text(client.get("/imports/review"))
    assert "Schroefas & Zonen is als nieuwe organisatie aangemaakt." in page
    assert org_count() == count + 1
    review = fresh(ImportReview, held.id)
    assert review.status == "created" and review.resolved_organisation_id != candidate.id
    new = fresh(Organisation, review.resolved_organisation_id)
    assert (new.name, new.street, new.postcode, new.city, new.municipality_code, new.employees,
            new.kvk_number) == ("Schroefas & Zonen", "Kade 2", "3361 XY", "Sliedrecht", "GM0610",
                                14, None)
    assert [s.code for s in new.sbi_codes] == ["3315"]
    old = fresh(Organisation, candidate.id)
    assert (old.employees, old.street) == (10, "Kade 1")
    assert "Als nieuwe organisatie aangemaakt" in text(client.get("/imports/review?view=resolved"))


@pytest.mark.parametrize("first, second", [("merge", "create"), ("create", "merge"),
                                           ("merge", "merge")])
def test_a_resolved_row_cannot_be_resolved_again(client, held, candidate, first, second):
    assert client.post(f"/imports/review/{held.id}/{first}").status_code == 302
    count, employees = org_count(), fresh(Organisation, candidate.id).employees
    resp = client.post(f"/imports/review/{held.id}/{second}")
    assert resp.status_code == 409
    body = text(resp)
    assert "Er is niets gewijzigd." in body and "Deze rij is al afgehandeld." in body
    assert "Samenvoegen met deze organisatie" not in body  # no buttons on a resolved row
    assert org_count() == count and fresh(Organisation, candidate.id).employees == employees
    assert fresh(ImportReview, held.id).status == {"merge": "merged", "create": "created"}[first]


def test_merging_into_a_deleted_organisation_is_refused(client, held, candidate, importer):
    delete_organisation(fresh(Organisation, candidate.id), actor=importer)
    db.session.commit()
    resp = client.post(f"/imports/review/{held.id}/merge")
    assert resp.status_code == 422
    assert "De organisatie van deze rij bestaat niet meer" in text(resp)
    assert "Samenvoegen met deze organisatie" in text(resp)  # the choice is still open
    assert fresh(ImportReview, held.id).status == "pending"
    assert client.post(f"/imports/review/{held.id}/create").status_code == 302
    assert fresh(ImportReview, held.id).status == "created"


def _reviews(candidate, n: int, *, start: dt.datetime) -> list[int]:
    ids = []
    for i in range(n):
        review = ImportReview(kind="organisations", source=f"lijst-{i}.csv", row_number=i + 2,
                              row_hash=f"h{i}", candidate_id=candidate.id,
                              data={"name": f"Schroefas {i}", "postcode": "3361 XY"},
                              created_at=start + dt.timedelta(minutes=i))
        db.session.add(review)
        db.session.flush()
        ids.append(review.id)
    db.session.commit()
    return ids


def test_the_queue_is_oldest_first_and_paginated(app, client, login, importer, candidate,
                                                 monkeypatch):
    ids = _reviews(candidate, 3, start=dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc))
    done = fresh(ImportReview, ids[0])
    done.status, done.resolved_at = "merged", dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)
    db.session.commit()
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    login(importer)
    first = text(client.get("/imports/review"))
    assert "lijst-1.csv, rij 3" in first and "lijst-2.csv" not in first
    assert "Volgende pagina" in first and "Vorige pagina" not in first
    second = text(client.get("/imports/review?page=2"))
    assert "lijst-2.csv, rij 4" in second and "Volgende pagina" not in second
    resolved = text(client.get("/imports/review?view=resolved"))
    assert "lijst-0.csv, rij 2" in resolved and "lijst-1.csv" not in resolved


def test_the_queue_costs_the_same_queries_for_more_rows(client, login, importer, candidate,
                                                        make_org, count_queries):
    login(importer)
    _reviews(candidate, 2, start=dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc))
    with count_queries() as few:
        assert client.get("/imports/review").status_code == 200
    others = [make_org(name=f"Ander {i}", postcode="3311 AB", city="Dordrecht") for i in range(4)]
    for i, org in enumerate(others):
        db.session.add(ImportReview(kind="organisations", source="meer.csv", row_number=i + 2,
                                    row_hash=f"m{i}", candidate_id=org.id, data={"name": "X"}))
    db.session.commit()
    with count_queries() as many:
        body = text(client.get("/imports/review"))
    assert body.count("Samenvoegen met deze organisatie") == 6
    assert many.count == few.count


@pytest.mark.parametrize("role", ["local_account_manager", "viewer"])
def test_others_cannot_work_the_queue(client, login, make_user, held, role):
    client.post("/logout")
    login(make_user(role))
    for resp in (client.get("/imports/review"), client.get(f"/imports/review/{held.id}"),
                 client.post(f"/imports/review/{held.id}/merge"),
                 client.post(f"/imports/review/{held.id}/create")):
        assert resp.status_code == 403
    assert fresh(ImportReview, held.id).status == "pending"


# --- who may, and the CSRF tokens (every import and review route) ----------------------------

def _world(client, login, users, make_org):
    """A draft and a finished preview of the admin, and a held review row."""
    make_org(name="Schroefas & Zonen", postcode="3361 XY", city="Sliedrecht", employees=10)
    login(users["admin"])
    draft_url = upload(client, KVK_SAMPLE, "kvk.csv").headers["Location"]
    preview_url = preview(client, KVK_SAMPLE, "kvk.csv")
    import_file(client, b"Naam;Postcode;Plaats;Werkzame personen\r\n"
                        b"Schroefas & Zonen;3361 XY;Sliedrecht;14\r\n", "schroefas.csv")
    review = db.session.scalars(sa.select(ImportReview)).one()
    client.post("/logout")
    return {"draft": draft_url.split("/")[2], "preview": preview_url.split("/")[2],
            "review": review.id}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_import_and_review(client, login, users, make_org, role):
    ids = _world(client, login, users, make_org)
    anonymous = [client.get("/imports/"), client.get(f"/imports/{ids['draft']}/mapping"),
                 client.post(f"/imports/{ids['preview']}/run"), client.get("/imports/review"),
                 client.post(f"/imports/review/{ids['review']}/merge")]
    assert all(r.status_code == 302 and "/login" in r.headers["Location"] for r in anonymous)

    login(users[role])
    allowed = role in IMPORTERS
    own = role == "admin"  # the draft and preview are the admin's; others do not see them
    expected = {
        ("GET", "/imports/"): 200 if allowed else 403,
        ("POST", "/imports/"): 422 if allowed else 403,
        ("GET", f"/imports/{ids['draft']}/mapping"): (200 if own else 404) if allowed else 403,
        ("POST", f"/imports/{ids['draft']}/mapping"): (422 if own else 404) if allowed else 403,
        ("GET", "/imports/no-such-job/mapping"): 404 if allowed else 403,
        ("POST", "/imports/no-such-job/run"): 404 if allowed else 403,
        ("GET", "/imports/review"): 200 if allowed else 403,
        ("GET", "/imports/review?view=resolved"): 200 if allowed else 403,
        ("GET", f"/imports/review/{ids['review']}"): 200 if allowed else 403,
        ("GET", "/imports/review/999999"): 404 if allowed else 403,
        ("POST", "/imports/review/999999/create"): 404 if allowed else 403,
    }
    if not own:
        expected[("POST", f"/imports/{ids['preview']}/run")] = 404 if allowed else 403
    if not allowed:
        expected[("POST", f"/imports/review/{ids['review']}/merge")] = 403
        expected[("POST", f"/imports/review/{ids['review']}/create")] = 403
    for (method, url), status in expected.items():
        resp = client.open(url, method=method, data={"col_0": ""} if method == "POST" else None)
        assert resp.status_code == status, (role, method, url, resp.status_code)
    db.session.expire_all()
    assert db.session.get(ImportReview, ids["review"]).status == "pending"
    assert jobs_of_kind("import_organisations") == 3  # preview + the Schroefas preview and run


def test_the_run_button_follows_the_users_current_role(client, login, users):
    """A preview made by someone who has since become a viewer cannot be imported by them."""
    user = users["regional_account_manager"]
    login(user)
    job_url = preview(client, KVK_SAMPLE, "kvk.csv")
    user = db.session.get(User, user.id)
    user.role = "viewer"
    db.session.commit()
    page = client.get(job_url)
    assert page.status_code == 200 and "Nu importeren" not in text(page)
    assert "Kolomindeling aanpassen" not in text(page)
    assert client.post(job_url.replace("/jobs/", "/imports/") + "/run").status_code == 403
    assert jobs_of_kind("import_organisations") == 1


def test_every_import_form_needs_its_csrf_token(app, client, login, users, make_org, monkeypatch):
    ids = _world(client, login, users, make_org)
    login(users["admin"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    token = form_fields(client.get("/imports/"), "/imports/")["csrf_token"]
    assert token
    resp = upload(client, KVK_SAMPLE, "kvk.csv")
    assert resp.status_code == 400 and jobs_of_kind("import_upload") == 1
    resp = client.post("/imports/", data={"kind": "organisations", "csrf_token": token,
                                          "file": (io.BytesIO(KVK_SAMPLE), "kvk.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302 and jobs_of_kind("import_upload") == 2

    mapping_url = f"/imports/{ids['draft']}/mapping"
    fields = form_fields(client.get(mapping_url), "/mapping")
    assert fields["csrf_token"]
    without = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert client.post(mapping_url, data=without).status_code == 400
    assert jobs_of_kind("import_organisations") == 3

    run_url = f"/imports/{ids['preview']}/run"
    assert form_fields(client.get(f"/jobs/{ids['preview']}"), run_url)["csrf_token"]
    assert client.post(run_url).status_code == 400
    assert jobs_of_kind("import_organisations") == 3

    review = f"/imports/review/{ids['review']}"
    for page in (client.get("/imports/review"), client.get(review)):
        assert form_fields(page, review + "/merge")["csrf_token"]
        assert form_fields(page, review + "/create")["csrf_token"]
    assert client.post(review + "/merge").status_code == 400
    assert client.post(review + "/create").status_code == 400
    db.session.expire_all()
    assert db.session.get(ImportReview, ids["review"]).status == "pending"
    resp = client.post(review + "/merge", data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(ImportReview, ids["review"]).status == "merged"
