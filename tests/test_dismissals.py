"""'Geen dubbel' marks: stored once per ordered pair, audited, left out by the finder and by the
stored list at once, back at once when an admin undoes the mark."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.organisations import dismissals
from sdd_crm.organisations import duplicates as d
from sdd_crm.organisations.dismissals import dismiss_pair, undo_dismissal
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import DuplicateDismissal
from sdd_crm.organisations.services import delete_organisation
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.exceptions import ValidationError


def _marks() -> list[tuple[int, int, str | None]]:
    D = DuplicateDismissal
    return [tuple(r) for r in db.session.execute(
        sa.select(D.organisation_a_id, D.organisation_b_id, D.note).order_by(D.id))]


def _events(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "duplicate_dismissal", AuditEvent.action == action)
        .order_by(AuditEvent.id)).all()


@pytest.fixture
def kok(make_user, make_org):
    """Three look-alikes at one postcode: (a, b) 100 %, (a, c) and (b, c) 90 %."""
    admin = make_user("admin")
    a = make_org(actor=admin, name="Bouwbedrijf Kok B.V.", kvk_number="11111111", postcode="3311 AB")
    b = make_org(actor=admin, name="Bouwbedrijf Kok", postcode="3311 AB")
    c = make_org(actor=admin, name="Bouwbedrijf Kok Dordrecht", postcode="3311 AB")
    return admin, a, b, c


def test_a_pair_is_marked_once_in_order_and_audited(kok, make_user):
    admin, a, b, _c = kok
    ram = make_user("regional_account_manager")
    first = dismiss_pair(b.id, a.id, actor=ram, note="  Twee zusterbedrijven  ")
    db.session.commit()
    assert (first.organisation_a_id, first.organisation_b_id) == (a.id, b.id)
    assert (first.note, first.dismissed_by_id) == ("Twee zusterbedrijven", ram.id)
    # Marking it again, either way round, is no error and no second row.
    again = dismiss_pair(a.id, b.id, actor=admin, note="anders")
    other_way = dismiss_pair(b.id, a.id, actor=admin)
    db.session.commit()
    assert again.id == other_way.id == first.id
    assert _marks() == [(a.id, b.id, "Twee zusterbedrijven")]
    [event] = _events("create")
    assert (event.user_id, event.entity_id) == (ram.id, str(first.id))
    assert event.changes["organisation_a_id"] == [None, a.id]
    assert event.changes["organisation_b_id"] == [None, b.id]
    assert event.changes["note"] == [None, "Twee zusterbedrijven"]


def test_a_pair_marked_at_the_same_moment_elsewhere_is_not_an_error(kok, monkeypatch):
    """The check finds nothing, the insert hits the unique pair: the other mark is returned."""
    admin, a, b, _c = kok
    theirs = dismiss_pair(a.id, b.id, actor=admin)
    db.session.commit()
    real = dismissals.find_dismissal
    calls = []

    def not_yet(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(dismissals, "find_dismissal", not_yet)
    assert dismiss_pair(b.id, a.id, actor=admin).id == theirs.id
    db.session.commit()
    assert len(_marks()) == 1 and len(_events("create")) == 1


def test_marked_pairs_are_left_out_by_the_finder_and_the_stored_list(kok):
    admin, a, b, c = kok
    dismiss_pair(a.id, b.id, actor=admin)
    db.session.commit()
    assert [(p.a_id, p.b_id) for p in d.find_duplicates()] == [(a.id, c.id), (b.id, c.id)]
    d.start_search(actor=admin)
    db.session.commit()  # without Redis the search runs right after the commit
    job = d.latest_search()
    assert job.result["pairs"] == 2 and job.result["dismissed"] == 1
    assert job.message == "Klaar: 2 mogelijk dubbele paren gevonden."
    assert [(p["a"], p["b"]) for p in d.stored_pairs(job)] == [(a.id, c.id), (b.id, c.id)]
    # Marked after the search: gone from the stored list at once.
    dismiss_pair(c.id, b.id, actor=admin)
    db.session.commit()
    assert [(p["a"], p["b"]) for p in d.stored_pairs(job)] == [(a.id, c.id)]
    # Undone: both back at once, in their places, without searching again.
    assert undo_dismissal(a.id, b.id, actor=admin) is True
    assert undo_dismissal(b.id, c.id, actor=admin) is True
    db.session.commit()
    assert [(p["a"], p["b"], p["score"]) for p in d.stored_pairs(job)] == [
        (a.id, b.id, 100), (a.id, c.id, 90), (b.id, c.id, 90)]
    assert [(p.a_id, p.b_id) for p in d.find_duplicates()] == [
        (a.id, b.id), (a.id, c.id), (b.id, c.id)]


def test_undo_is_for_admins_audited_and_a_second_undo_finds_nothing(kok, make_user):
    admin, a, b, _c = kok
    mark = dismiss_pair(a.id, b.id, actor=admin, note="Niet dezelfde")
    db.session.commit()
    mark_id = mark.id
    for role in ("regional_account_manager", "local_account_manager", "business_developer",
                 "viewer"):
        with pytest.raises(PermissionDenied):
            undo_dismissal(a.id, b.id, actor=make_user(role))
    assert undo_dismissal(b.id, a.id, actor=admin) is True
    db.session.commit()
    assert _marks() == []
    assert undo_dismissal(a.id, b.id, actor=admin) is False
    assert undo_dismissal(a.id, 999_999, actor=admin) is False
    [event] = _events("delete")
    assert (event.user_id, event.entity_id) == (admin.id, str(mark_id))
    assert event.changes["note"] == ["Niet dezelfde", None]
    assert event.changes["organisation_a_id"] == [a.id, None]


@pytest.mark.parametrize("role, allowed", [
    ("admin", True), ("regional_account_manager", True), ("local_account_manager", False),
    ("business_developer", False), ("viewer", False)])
def test_who_may_mark_a_pair(kok, make_user, role, allowed):
    _admin, a, b, _c = kok
    user = make_user(role)
    if allowed:
        dismiss_pair(a.id, b.id, actor=user)
        assert len(_marks()) == 1
    else:
        with pytest.raises(PermissionDenied):
            dismiss_pair(a.id, b.id, actor=user)
        assert _marks() == []


def test_refusals_save_nothing(kok, make_org):
    admin, a, b, c = kok
    with pytest.raises(ValidationError) as e:
        dismiss_pair(a.id, a.id, actor=admin)
    assert e.value.errors == {"_": "Een organisatie is altijd een dubbel van zichzelf."}
    with pytest.raises(ValidationError) as e:
        dismiss_pair(a.id, 999_999, actor=admin)
    assert e.value.errors == {"organisation_b_id": "Deze organisatie bestaat niet (meer)."}
    with pytest.raises(ValidationError) as e:
        dismiss_pair(a.id, b.id, actor=admin, note="x" * 501)
    assert e.value.errors == {"note": "Hoogstens 500 tekens."}
    gone = make_org(actor=admin, name="Weg B.V.")
    delete_organisation(gone, actor=admin)
    merge_organisations(a, c, actor=admin)
    db.session.commit()
    with pytest.raises(ValidationError) as e:
        dismiss_pair(gone.id, b.id, actor=admin)
    assert e.value.errors == {"organisation_a_id": "Deze organisatie bestaat niet (meer)."}
    with pytest.raises(ValidationError) as e:
        dismiss_pair(b.id, c.id, actor=admin)
    assert e.value.errors == {
        "organisation_b_id": "Bouwbedrijf Kok Dordrecht is al samengevoegd met een andere "
                             "organisatie."}
    assert _marks() == [] and _events("create") == []
    mark = dismiss_pair(a.id, b.id, actor=admin, note="x" * 500)  # exactly the maximum
    assert len(mark.note) == 500
    undo_dismissal(a.id, b.id, actor=admin)
    assert dismiss_pair(b.id, a.id, actor=admin, note="   ").note is None  # blank: no note
