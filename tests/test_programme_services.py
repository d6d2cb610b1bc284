"""Participation services of issue 5: update, soft delete and restore, linked contact moments,
and the participation list query with its filters."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from sdd_crm.extensions import db
from sdd_crm.interactions.services import create_interaction, delete_interaction
from sdd_crm.organisations.services import delete_organisation
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.programmes.counting import count_programme, counted_since
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme
from sdd_crm.programmes.queries import (
    ParticipationFilters,
    get_participation_or_404,
    get_programme_or_404,
    participation_list,
    programme_list,
)
from sdd_crm.programmes.services import (
    UNSET,
    add_participation,
    bulk_add,
    delete_participation,
    link_interaction,
    restore_participation,
    unlink_interaction,
    update_participation,
)
from sdd_crm.exceptions import ConflictError, ValidationError


@pytest.fixture
def scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


@pytest.fixture
def bd(make_user):
    return make_user("business_developer", name="Bas Developer")


def _events(p):
    return db.session.execute(sa.select(ParticipationEvent.from_status, ParticipationEvent.to_status)
                              .where(ParticipationEvent.participation_id == p.id)
                              .order_by(ParticipationEvent.id)).all()


def test_update_changes_owner_notes_and_status_at_once(scale, bd, make_user, make_org):
    other = make_user("regional_account_manager")
    p = add_participation(scale, make_org().id, actor=bd)
    db.session.commit()
    assert p.owner_id == bd.id and p.version == 1
    update_participation(p, actor=bd, expected_version=1, owner_id=str(other.id),
                         notes="  Belt terug in mei  ", status="interested")
    db.session.commit()
    assert (p.owner_id, p.notes, p.status, p.version) == (other.id, "Belt terug in mei", "interested", 2)
    assert _events(p) == [(None, "identified"), ("identified", "interested")]
    # Same status: nothing moves; None clears owner and notes.
    update_participation(p, actor=bd, expected_version=2, status="interested", owner_id=None, notes=None)
    db.session.commit()
    assert (p.owner_id, p.notes, len(_events(p))) == (None, None, 2)


def test_update_checks_everything_before_changing_anything(scale, bd, make_user, make_org):
    p = add_participation(scale, make_org().id, actor=bd, status="participating", notes="oud")
    db.session.commit()
    with pytest.raises(ValidationError) as exc:
        update_participation(p, actor=bd, expected_version=1, notes="x" * 5001, status="approached")
    assert exc.value.errors == {"notes": "Hoogstens 5000 tekens."}
    with pytest.raises(ValidationError) as exc:  # notes fine, the move is not
        update_participation(p, actor=bd, expected_version=1, notes="nieuw", status="approached")
    assert exc.value.errors["status"] == "Van 'Neemt deel' kan niet naar 'Benaderd'."
    assert (p.notes, p.status) == ("oud", "participating")
    for bad in ("bogus", "", None, 3):
        with pytest.raises(ValidationError) as exc:
            update_participation(p, actor=bd, expected_version=1, status=bad)
        assert exc.value.errors == {"status": "Kies een geldige status."}


@pytest.mark.parametrize("who", ["viewer", "inactive", "local_account_manager", "unknown", "text"])
def test_owner_must_be_an_active_manager(scale, bd, make_user, make_org, who):
    p = add_participation(scale, make_org().id, actor=bd)
    db.session.commit()
    if who == "inactive":
        u = make_user("business_developer")
        u.active = False
        db.session.commit()
        owner = u.id
    elif who == "unknown":
        owner = 99999999
    elif who == "text":
        owner = "Bas"
    else:
        owner = make_user(who).id
    with pytest.raises(ValidationError) as exc:
        update_participation(p, actor=bd, expected_version=1, owner_id=owner)
    assert "owner_id" in exc.value.errors
    with pytest.raises(ValidationError):
        add_participation(scale, make_org().id, actor=bd, owner_id=owner)
    assert p.owner_id == bd.id


def test_stale_version_conflicts_and_roles(scale, bd, make_user, make_org):
    p = add_participation(scale, make_org().id, actor=bd)
    db.session.commit()
    update_participation(p, actor=bd, expected_version=1, notes="eerste")
    db.session.commit()
    with pytest.raises(ConflictError):
        update_participation(p, actor=bd, expected_version=1, notes="tweede")
    with pytest.raises(ConflictError):
        delete_participation(p, actor=bd, expected_version=1)
    assert p.notes == "eerste"
    for role in ("viewer", "local_account_manager"):
        user = make_user(role)
        for call in (lambda: update_participation(p, actor=user, expected_version=2, notes="x"),
                     lambda: delete_participation(p, actor=user),
                     lambda: restore_participation(p, actor=user),
                     lambda: link_interaction(p, 1, actor=user),
                     lambda: unlink_interaction(p, 1, actor=user)):
            with pytest.raises(PermissionDenied):
                call()
    assert UNSET is not None and not UNSET and repr(UNSET) == "UNSET"


def test_delete_restore_and_adding_again(scale, bd, make_user, make_org):
    org = make_org(employees=10)
    p = add_participation(scale, org.id, actor=bd, status="participating", notes="eerst")
    db.session.commit()
    assert count_programme(scale).counted == 1
    delete_participation(p, actor=bd, expected_version=1)
    db.session.commit()
    assert count_programme(scale).counted == 0
    assert db.session.scalars(participation_list(scale)).all() == []
    with pytest.raises(NotFound):
        get_participation_or_404(scale, p.id)
    assert get_participation_or_404(scale, p.id, include_deleted=True) is p
    restore_participation(p, actor=make_user("admin"))
    db.session.commit()
    assert (p.deleted_at, p.status, p.notes) == (None, "participating", "eerst")
    assert count_programme(scale).counted == 1

    # Deleted, then added again: the same row comes back, starting afresh.
    delete_participation(p, actor=bd)
    db.session.commit()
    again = add_participation(scale, org.id, actor=bd, status="approached", notes="opnieuw")
    db.session.commit()
    assert again.id == p.id
    assert (again.deleted_at, again.status, again.notes) == (None, "approached", "opnieuw")
    assert _events(p)[-1] == (None, "approached")
    assert counted_since([p.id]) == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)
                             .where(Participation.organisation_id == org.id)) == 1
    with pytest.raises(ValidationError) as exc:
        add_participation(scale, org.id, actor=bd)
    assert exc.value.errors == {"organisation_id": "Deze organisatie doet al mee aan dit programma."}


def test_bulk_add_brings_back_deleted_ones(scale, bd, make_org):
    orgs = [make_org() for _ in range(3)]
    p = add_participation(scale, orgs[0].id, actor=bd)
    add_participation(scale, orgs[1].id, actor=bd)
    delete_participation(p, actor=bd)
    db.session.commit()
    assert bulk_add(scale, [o.id for o in orgs], actor=bd) == {"added": 2, "skipped": 1}
    db.session.commit()
    assert p.deleted_at is None
    assert len(db.session.scalars(participation_list(scale)).all()) == 3


def test_restore_waits_for_a_deleted_organisation(scale, bd, make_user, make_org):
    admin = make_user("admin")
    org = make_org()
    p = add_participation(scale, org.id, actor=bd)
    delete_participation(p, actor=bd)
    delete_organisation(org, actor=admin)
    db.session.commit()
    with pytest.raises(ValidationError):
        restore_participation(p, actor=admin)
    with pytest.raises(ValidationError) as exc:
        add_participation(scale, org.id, actor=bd)
    assert exc.value.errors == {"organisation_id": "Kies een bestaande organisatie."}


def test_links_only_visible_live_interactions_of_the_same_organisation(scale, make_user, make_org):
    author = make_user("local_account_manager", municipality="GM0505")
    bd = make_user("business_developer")
    admin = make_user("admin")
    org, other = make_org(), make_org()
    today = dt.date.today()

    def log(o, confidential=False, subject="Bezoek"):
        i = create_interaction({"organisation_id": o.id, "type": "visit", "date": today,
                                "subject": subject, "confidential": confidential}, actor=author)
        db.session.commit()
        return i

    public, secret, elsewhere, gone = log(org), log(org, True), log(other), log(org)
    delete_interaction(gone, actor=author)
    p = add_participation(scale, org.id, actor=bd)
    db.session.commit()

    link_interaction(p, str(public.id), actor=bd)
    link_interaction(p, public.id, actor=bd)  # twice: still one link
    db.session.commit()
    assert [i.id for i in p.interactions] == [public.id]
    assert p.version == 2  # a link is a change: a stale edit elsewhere is caught
    for iid, message in ((secret.id, "Kies een bestaand contactmoment."),
                         (gone.id, "Kies een bestaand contactmoment."),
                         ("abc", "Kies een bestaand contactmoment."),
                         (99999999, "Kies een bestaand contactmoment."),
                         (elsewhere.id, "Dit contactmoment hoort bij een andere organisatie dan deze deelname.")):
        with pytest.raises(ValidationError) as exc:
            link_interaction(p, iid, actor=bd)
        assert exc.value.errors == {"interaction_id": message}
    link_interaction(p, secret.id, actor=admin)  # admins see confidential ones
    db.session.commit()
    assert {i.id for i in p.interactions} == {public.id, secret.id}
    with pytest.raises(ValidationError):  # the business developer may not even know of it
        unlink_interaction(p, secret.id, actor=bd)
    unlink_interaction(p, public.id, actor=bd)
    db.session.commit()
    assert [i.id for i in p.interactions] == [secret.id]
    with pytest.raises(ValidationError) as exc:
        unlink_interaction(p, public.id, actor=bd)
    assert exc.value.errors == {"interaction_id": "Dit contactmoment is niet aan deze deelname gekoppeld."}
    from sdd_crm.audit.models import AuditEvent

    changes = db.session.scalars(sa.select(AuditEvent.changes).where(
        AuditEvent.entity_type == "participation", AuditEvent.entity_id == str(p.id))
        .order_by(AuditEvent.id)).all()
    assert changes[-1]["interaction_ids"] == [sorted([public.id, secret.id]), [secret.id]]


def test_programme_lookup(scale):
    assert get_programme_or_404("SCALE") is scale
    for bad in ("nope", "", "x" * 41):
        with pytest.raises(NotFound):
            get_programme_or_404(bad)
    codes = [p.code for p in db.session.scalars(programme_list())]
    assert sorted(codes) == ["maritiem-masterplan", "regio-deal", "scale"]
    assert db.session.scalars(programme_list(deleted=True)).all() == []


def test_participation_list_filters(scale, bd, make_user, make_org):
    from sdd_crm.valuechains.models import Cluster, OrganisationCluster

    other_bd = make_user("business_developer")
    a = make_org(name="Alfa Installatie B.V.", city="Dordrecht", employees=10, kvk_number="12345678")
    b = make_org(name="Bravo Bouw B.V.", city="Sliedrecht", employees=10)
    c = make_org(name="Charlie 100% Groep", city="Gorinchem", employees=10)
    cluster = db.session.scalar(sa.select(Cluster).order_by(Cluster.id).limit(1))
    db.session.add(OrganisationCluster(organisation_id=b.id, cluster_id=cluster.id, is_primary=True))
    pa = add_participation(scale, a.id, actor=bd, status="participating")
    pb = add_participation(scale, b.id, actor=bd, status="approached")
    pc = add_participation(scale, c.id, actor=other_bd, status="participating")
    db.session.commit()

    def ids(**args):
        return [p.id for p in db.session.scalars(
            participation_list(scale, ParticipationFilters.from_args(args)))]

    assert set(ids()) == {pa.id, pb.id, pc.id}
    assert ids(status="participating") and set(ids(status="participating")) == {pa.id, pc.id}
    assert set(ids(status="bogus")) == {pa.id, pb.id, pc.id}  # ignored
    assert ids(municipality="gm0610") == [pb.id]
    assert ids(owner_id=str(other_bd.id)) == [pc.id]
    assert ids(q="bravo") == [pb.id]
    assert ids(q="1234 5678") == [pa.id]
    assert ids(q="100%") == [pc.id]
    assert ids(cluster_id=str(cluster.id)) == [pb.id]
    assert ids(organisation_id=str(a.id)) == [pa.id]
    assert ids(counted="1") == [pa.id]  # Gorinchem lies outside SCALE's region
    assert set(ids(counted="0")) == {pb.id, pc.id}
    assert ids(owner_id="abc", organisation_id="-3") and len(ids(owner_id="abc")) == 3
    # Most recently moved first.
    update_participation(pa, actor=bd, expected_version=pa.version, status="completed")
    db.session.commit()
    assert ids()[0] == pa.id
