"""How interactions react to other features' changes (connected when the package is imported),
and the one place that keeps each organisation's date of last contact.

``Organisation.last_contact_on`` is kept, not computed per page (lists sort and filter on it):
it is the date of the organisation's latest live contact moment. Whatever writes contact moments
through the ORM — logging, editing or deleting one (web or API), the bin's restore, a merge that
moves them to the survivor, whatever comes next — the flush that writes them brings the date of
every organisation they left or joined up to date (:func:`_note_interactions`,
:func:`_refresh_noted`). Writers past the ORM (the demo seed's bulk insert) call
:func:`.services.refresh_last_contact`; the synthetic seed writes the column with its rows.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..organisations.merge import repoint_records
from ..organisations.models import Organisation
from ..signals import organisations_merged
from .models import Interaction, Task
from .services import last_contact_updates

_NOTED = "last_contact_noted"  # session.info: (interactions written, organisations they left)
_WATCHED = ("date", "organisation_id", "organisation", "deleted_at")


@organisations_merged.connect
def move_interactions(survivor, *, merged, result, **_kwargs) -> None:
    """The merged record's contact moments and tasks (deleted ones too) belong to the survivor,
    whose date of last contact then becomes the latest of both (the flushes that move them keep
    it)."""
    repoint_records(Interaction, survivor, merged, result, "interactions")
    repoint_records(Task, survivor, merged, result, "tasks")


def _left_organisations(state) -> set[int]:
    """The organisations an interaction was moved away from in this flush."""
    ids = set(state.attrs.organisation_id.history.deleted or ())
    ids |= {getattr(org, "id", None) for org in state.attrs.organisation.history.deleted or ()}
    return {i for i in ids if i}


@sa.event.listens_for(Session, "before_flush")
def _note_interactions(session: Session, _context, _instances) -> None:
    """Before a flush: which contact moments it writes that move a date of last contact
    (new, deleted, or another date, organisation or bin state)."""
    written, left = session.info.get(_NOTED) or ([], set())
    added_or_removed = [o for o in itertools.chain(session.new, session.deleted)
                        if isinstance(o, Interaction)]
    changed = [o for o in session.dirty if isinstance(o, Interaction) and any(
        sa.inspect(o).attrs[name].history.has_changes() for name in _WATCHED)]
    # (another subject, notes, people or topics: the date stays)
    for obj in itertools.chain(added_or_removed, changed):
        written.append(obj)
        left |= _left_organisations(sa.inspect(obj))
    if written:
        session.info[_NOTED] = (written, left)


@sa.event.listens_for(Session, "after_flush_postexec")
def _refresh_noted(session: Session, _context) -> None:
    """After the flush: the date of last contact of each organisation noted, in one statement
    per 500, and those organisations loaded in the session read it again when asked."""
    noted = session.info.pop(_NOTED, None)
    if not noted:
        return
    written, left = noted
    ids = set(left)
    for obj in written:
        org_id = sa.inspect(obj).dict.get("organisation_id")  # never a load: it was just written
        if org_id:
            ids.add(org_id)
    connection = session.connection()
    for statement in last_contact_updates(ids):
        connection.execute(statement)
    for org_id in ids:
        org = session.identity_map.get(session.identity_key(Organisation, org_id))
        if org is not None:
            session.expire(org, ["last_contact_on"])


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous) -> None:
    session.info.pop(_NOTED, None)
