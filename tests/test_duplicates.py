"""The duplicate finder: planted pairs found with exact scores, look-alikes that are not pairs
left alone, blocks instead of all-against-all, and the search as a background job."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rapidfuzz import fuzz

from sdd_crm.extensions import db
from sdd_crm.organisations import duplicates as d
from sdd_crm.organisations.duplicates import EstablishmentRow, OrgRow, explain, find_pairs
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.jobs.models import Job
from sdd_crm.organisations.models import Establishment
from sdd_crm.organisations.services import delete_organisation


@pytest.mark.parametrize("name, normalised", [
    ("Jansen & Zn. B.V.", "jansen zn"),
    ("Scheepswerf De Vries B. V.", "scheepswerf de vries"),
    ("Café Ñoño V.O.F.", "cafe nono"),
    ("B.V. Bouwbedrijf Smit", "bouwbedrijf smit"),
    ("Stichting Jeugdzorg Drechtsteden", "jeugdzorg drechtsteden"),
    ("A.B.C. Transport BV i.o.", "abc transport"),
    ("De Boer Holding N.V.", "de boer holding"),  # "holding" stays: another legal entity
    ("", ""),
    (None, ""),
])
def test_normalise_name(name, normalised):
    assert d.normalise_name(name) == normalised


ROWS = [
    OrgRow(1, "Scheepswerf De Vries B.V.", "11111111", "3311 AB", "Dordrecht", "Wantij 1",
           "+31781234567", "https://www.devries.nl"),
    OrgRow(2, "Scheepswerf de Vries", None, "3311 AB", "Dordrecht", "wantij 1", "+31781234567",
           "http://devries.nl/contact"),
    OrgRow(3, "Bakkerij Visser", None, "3311 AB", "Dordrecht"),  # same postcode, other name
    OrgRow(4, "Machinefabriek Smit B.V.", "22222222", "3312 CD", "Dordrecht"),
    OrgRow(5, "Machinefabriek Smid", None, "3355 XY", "Papendrecht"),  # at 4's vestiging
    OrgRow(6, "Jansen Installatietechniek", "33333333", None, "Zwijndrecht"),
    OrgRow(7, "Installatietechniek Jansen V.O.F.", None, None, "zwijndrecht"),
    OrgRow(8, "Jansen Installatietechniek", None, None, "Sliedrecht"),  # another place
    OrgRow(9, "Autobedrijf 2000", None, "3313 EF", "Dordrecht"),
    OrgRow(10, "Autobedrijf 3000", None, "3313 EF", "Dordrecht"),  # the numbers differ
    OrgRow(11, "De Boer Holding B.V.", "44444444", "3314 GH", "Dordrecht"),
    OrgRow(12, "De Boer B.V.", "55555555", "3314 GH", "Dordrecht"),  # two KvK numbers
    OrgRow(13, "Jachtbouw Kooiman Zuid", None, "3315 AB", "Dordrecht"),
    OrgRow(14, "Technisch Bureau Hoogendoorn Zuid", None, "3315 AB", "Dordrecht"),  # one word
]
ESTABLISHMENTS = [EstablishmentRow(4, "3355 XY", None), EstablishmentRow(12, "3355 XY", None)]


def test_planted_pairs_with_exact_scores_and_nothing_else(app):
    with app.test_request_context():
        pairs = find_pairs(ROWS, ESTABLISHMENTS)
        # Equal scores: the pair sharing more details (street, phone, website) first.
        assert [(p.a_id, p.b_id, p.score) for p in pairs] == [(1, 2, 100), (6, 7, 100), (4, 5, 95)]
        assert [explain(p) for p in pairs] == [
            "zelfde postcode 3311 AB, naam 100% gelijk, zelfde straat en huisnummer, zelfde "
            "telefoonnummer, zelfde website, KvK-nummer ontbreekt bij Scheepswerf de Vries",
            "zelfde naam in Zwijndrecht, naam 100% gelijk, KvK-nummer ontbreekt bij "
            "Installatietechniek Jansen V.O.F.",
            "postcode 3355 XY van een vestiging van Machinefabriek Smit B.V., naam 95% gelijk, "
            "KvK-nummer ontbreekt bij Machinefabriek Smid",
        ]


def test_threshold_and_exclusions():
    assert [(p.a_id, p.b_id) for p in find_pairs(ROWS, ESTABLISHMENTS, threshold=96)] == [
        (1, 2), (6, 7)]
    assert [(p.a_id, p.b_id) for p in find_pairs(ROWS, ESTABLISHMENTS, exclude={(1, 2)})] == [
        (6, 7), (4, 5)]


def test_ties_go_to_the_pair_sharing_more_details():
    rows = [OrgRow(1, "Smit Transport", None, "3311 AB"), OrgRow(2, "Smid Transport", None, "3311 AB"),
            OrgRow(3, "Smit Logistiek", None, "3312 AB", phone="+31781111111"),
            OrgRow(4, "Smid Logistiek", None, "3312 AB", phone="+31781111111")]
    assert [(p.a_id, p.score, p.shared) for p in find_pairs(rows)] == [(3, 93, 1), (1, 93, 0)]


def test_compares_within_blocks_only(monkeypatch):
    """2,000 organisations in 1,000 postcodes: 1,000 comparisons, not 2,000,000."""
    calls = []
    original = fuzz.token_sort_ratio

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(d.fuzz, "token_sort_ratio", counting)
    rows = [OrgRow(i, f"Bedrijf {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}", None,
                   f"{3000 + i // 2} AB", f"Plaats {i}") for i in range(2000)]
    find_pairs(rows)
    assert len(calls) == 1000


def test_database_rows_leave_out_merged_and_deleted(make_user, make_org):
    admin = make_user("admin")
    a = make_org(actor=admin, name="Scheepswerf De Vries B.V.", kvk_number="11111111",
                 postcode="3311 AB")
    b = make_org(actor=admin, name="Scheepswerf de Vries", postcode="3311 AB")
    c = make_org(actor=admin, name="Scheepswerf De Vries Dordrecht", postcode="3311 AB")
    gone = make_org(actor=admin, name="Scheepswerf de Vries", postcode="3311 AB")
    delete_organisation(gone, actor=admin)
    owner = make_org(actor=admin, name="Machinefabriek Smit B.V.", kvk_number="22222222",
                     postcode="3312 CD")
    db.session.add(Establishment(organisation_id=owner.id, postcode="3355 XY", city="Papendrecht"))
    smid = make_org(actor=admin, name="Machinefabriek Smid", postcode="3355 XY")
    db.session.commit()
    with db.session.no_autoflush:
        pairs = d.find_duplicates()
    assert [(p.a_id, p.b_id, p.score) for p in pairs] == [
        (a.id, b.id, 100), (owner.id, smid.id, 95), (a.id, c.id, 90), (b.id, c.id, 90)]
    merge_organisations(a, b, actor=admin)
    db.session.commit()
    assert [(p.a_id, p.b_id) for p in d.find_duplicates()] == [(owner.id, smid.id), (a.id, c.id)]


def test_search_job_stores_pairs_and_the_list_forgets_merged_ones(make_user, make_org):
    admin = make_user("admin")
    a = make_org(actor=admin, name="Bouwbedrijf Kok B.V.", kvk_number="11111111", postcode="3311 AB")
    b = make_org(actor=admin, name="Bouwbedrijf Kok", postcode="3311 AB")
    d.start_search(actor=admin)
    db.session.commit()  # without Redis the job runs right after the commit
    job = d.latest_search()
    assert job is not None and job.status == "finished" and d.current_search() is None
    assert job.result["pairs"] == 1 and job.result["organisations"] >= 2
    assert job.message == "Klaar: 1 mogelijk dubbel paar gevonden."
    assert [(p["a"], p["b"], p["score"]) for p in d.stored_pairs(job)] == [(a.id, b.id, 100)]
    merge_organisations(a, b, actor=admin)
    db.session.commit()
    assert d.stored_pairs(job) == []


def test_a_waiting_search_is_not_queued_twice(make_user, monkeypatch):
    admin = make_user("admin")
    monkeypatch.setattr(d, "enqueue_after_commit", lambda *a, **k: None)  # a worker that is busy
    first = d.start_search(actor=admin)
    second = d.start_search(actor=admin)
    assert first.id == second.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(
        Job.kind == d.JOB_KIND)) == 1


def test_a_failed_search_says_so(make_user, monkeypatch):
    admin = make_user("admin")
    monkeypatch.setattr(d, "enqueue_after_commit", lambda *a, **k: None)
    job = d.start_search(actor=admin)
    db.session.commit()

    def broken():
        raise RuntimeError("kapot")

    monkeypatch.setattr(d, "load_rows", broken)
    with pytest.raises(RuntimeError):
        d.run_search(job.id)
    job = db.session.get(Job, job.id)
    assert job.status == "failed"
    assert job.message == ("Het zoeken naar dubbelen is mislukt (RuntimeError). Probeer het "
                           "later opnieuw.")


def test_big_blocks_give_the_same_pairs_as_small_ones(monkeypatch):
    small = [(p.a_id, p.b_id, p.score, p.reasons) for p in find_pairs(ROWS, ESTABLISHMENTS)]
    monkeypatch.setattr(d, "SMALL_BLOCK", 1)  # every block through process.cdist
    assert [(p.a_id, p.b_id, p.score, p.reasons) for p in find_pairs(ROWS, ESTABLISHMENTS)] == small
