"""The participation pipeline: moves, dates, permissions, bulk add."""

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.programmes.models import ParticipationEvent, Programme
from sdd_crm.programmes.services import (
    add_participation,
    allowed_next,
    bulk_add,
    change_participation_status,
)
from sdd_crm.exceptions import ValidationError


@pytest.fixture
def scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


def test_allowed_moves():
    assert allowed_next("identified") == ["approached", "interested", "participating", "completed", "declined"]
    assert allowed_next("participating") == ["completed", "declined"]
    assert allowed_next("completed") == []
    assert allowed_next("declined") == ["identified", "approached"]


def test_pipeline_records_every_move(scale, make_user, make_org):
    bd = make_user("business_developer")
    p = add_participation(scale, make_org().id, actor=bd)
    change_participation_status(p, "approached", actor=bd, expected_version=1)
    change_participation_status(p, "participating", actor=bd)
    with pytest.raises(ValidationError) as exc:
        change_participation_status(p, "interested", actor=bd)
    assert "kan niet naar" in exc.value.errors["status"]
    db.session.commit()
    events = db.session.scalars(sa.select(ParticipationEvent).where(
        ParticipationEvent.participation_id == p.id).order_by(ParticipationEvent.id)).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "identified"), ("identified", "approached"), ("approached", "participating")]
    assert all(e.user_id == bd.id and e.at is not None for e in events)


def test_once_per_programme_and_who_may(scale, make_user, make_org):
    bd = make_user("business_developer")
    org = make_org()
    add_participation(scale, org.id, actor=bd)
    with pytest.raises(ValidationError):
        add_participation(scale, org.id, actor=bd)
    for role in ("viewer", "local_account_manager"):
        with pytest.raises(PermissionDenied):
            add_participation(scale, make_org().id, actor=make_user(role))


def test_bulk_add_skips_those_already_in(scale, make_user, make_org):
    bd = make_user("business_developer")
    orgs = [make_org() for _ in range(5)]
    add_participation(scale, orgs[0].id, actor=bd)
    assert bulk_add(scale, [o.id for o in orgs], actor=bd) == {"added": 4, "skipped": 1}
    assert bulk_add(scale, [o.id for o in orgs], actor=bd) == {"added": 0, "skipped": 5}
