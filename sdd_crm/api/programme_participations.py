"""/api/v1/programmes/<code>/participations: an organisation's place in a programme's pipeline.

Each item says whether it ``counts`` towards the target and, if not, the ``reason`` (DESIGN 4.2,
from the same count as the progress endpoint). Everyone signed in reads; viewers get no notes
and no contact moments. Admins, regional account managers and business developers manage.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, abort, url_for

from ..exceptions import ValidationError
from ..extensions import db
from ..interactions.models import Interaction
from ..interactions.visibility import can_see_interactions, interaction_visible
from ..programmes.models import Participation, ParticipationEvent, participation_interaction
from ..programmes.queries import (ParticipationFilters, get_participation_or_404,
                                  get_programme_or_404, participation_list)
from ..programmes.tally import verdicts_for
from ..programmes.services import (add_participation, allowed_next, can_manage_participations,
                                   delete_participation, link_interaction, unlink_interaction,
                                   update_participation)
from . import bp, errors, guard
from .auth import api_user
from .errors import forbidden
from .openapi import LOCATION
from .programmes import PROGRAMME_URL, TAGS
from .schemas.base import VersionArgs, page_of
from .schemas.programmes import (PARTICIPATION_CREATE, PARTICIPATION_DETAIL, PARTICIPATION_LINK,
                                 PARTICIPATION_LIST, PARTICIPATION_PATCH, ParticipationQuery)

PATCH_FIELDS = ("status", "owner_id", "notes")
LIST = f"{PROGRAMME_URL}/participations"
ITEM = f"{LIST}/<int:participation_id>"


def _require_manager() -> None:
    if not can_manage_participations(api_user()):
        forbidden()


managers_only = guard(_require_manager)


def visible_links(participation_ids, user) -> dict[int, list[int]]:
    """The linked contact moments each participation shows this user (DESIGN 4.4), newest first."""
    if not participation_ids or not can_see_interactions(user):
        return {}
    pi = participation_interaction
    # The links first, then their contact moments by id: joined in one statement, SQLite
    # (without statistics) walked all 1,000,000 contact moments and looked each link up.
    pairs = db.session.execute(sa.select(pi.c.participation_id, pi.c.interaction_id).where(
        pi.c.participation_id.in_(list(participation_ids)))).all()
    if not pairs:
        return {}
    rows = db.session.execute(
        sa.select(pi.c.participation_id, pi.c.interaction_id)
        .join(Interaction, Interaction.id == pi.c.interaction_id)
        .where(pi.c.participation_id.in_(list(participation_ids)),
               Interaction.id.in_(sorted({iid for _pid, iid in pairs})),
               Interaction.deleted_at.is_(None), interaction_visible(user))
        .order_by(pi.c.participation_id, Interaction.date.desc(), Interaction.id.desc())).all()
    links: dict[int, list[int]] = {}
    for pid, iid in rows:
        links.setdefault(pid, []).append(iid)
    return links


class ParticipationRow:
    """A participation as this user sees it: what the schemas dump (the rest comes from ``p``)."""

    def __init__(self, p: Participation, user, links: dict, verdicts: dict, **extra: Any):
        verdict = verdicts.get(p.id)
        self._p = p
        self.organisation_name = p.organisation.name
        self.municipality = p.organisation.municipality_code
        # Viewers read lists, never notes (DESIGN 4.4).
        self.notes = p.notes if can_see_interactions(user) else None
        self.interaction_ids = links.get(p.id, [])
        self.counts = bool(verdict and verdict.counts)
        self.reason = (str(verdict.reason)
                       if verdict is not None and verdict.reason is not None else None)
        self.__dict__.update(extra)

    def __getattr__(self, name: str):
        return getattr(self._p, name)


# The verdicts (``counts``, ``reason``) and the ``counted`` filter read what programmes/tally.py
# keeps current in the transaction of every change: the rule is not evaluated per request.


def _detail(programme, p: Participation) -> ParticipationRow:
    user = api_user()
    events = db.session.execute(
        sa.select(ParticipationEvent.from_status, ParticipationEvent.to_status,
                  ParticipationEvent.at, ParticipationEvent.user_id)
        .where(ParticipationEvent.participation_id == p.id)
        .order_by(ParticipationEvent.at, ParticipationEvent.id)).all()
    return ParticipationRow(
        p, user, visible_links([p.id], user), verdicts_for(programme, [p.id]),
        next_statuses=allowed_next(p.status) if can_manage_participations(user) else [],
        events=[e._asdict() for e in events])


def _load(code: str, participation_id: int):
    programme = get_programme_or_404(code)
    return programme, get_participation_or_404(programme, participation_id)


def _location(programme, p: Participation) -> dict[str, str]:
    return {"Location": url_for("api.get_participation_item", code=programme.code,
                                participation_id=p.id)}


@bp.get(LIST, tags=TAGS)
@bp.doc(operationId="listParticipations",
        summary="The pipeline, most recently moved first, with whether each counts.")
@bp.arguments(ParticipationQuery, location="query", as_kwargs=True)
@bp.response(200, PARTICIPATION_LIST, description="One page.")
def list_participations(code: str, **args):
    programme = get_programme_or_404(code)
    filters = ParticipationFilters(
        status=args.get("status"),
        municipality=(args.get("municipality") or "").strip().upper() or None,
        owner_id=args.get("owner_id"),
        q=(args.get("q") or "").strip() or None,
        cluster_id=args.get("cluster_id"),
        counted=args.get("counted"),
        organisation_id=args.get("organisation_id"),
    )
    body = page_of(participation_list(programme, filters), args, "api.list_participations",
                   code=programme.code)
    verdicts = verdicts_for(programme, [p.id for p in body["items"]])
    user = api_user()
    links = visible_links([p.id for p in body["items"]], user)
    body["items"] = [ParticipationRow(p, user, links, verdicts) for p in body["items"]]
    return body


@bp.post(LIST, tags=TAGS)
@bp.doc(operationId="createParticipation",
        summary="Put an organisation in the pipeline (admins, regional account managers, business "
                "developers). Once per programme; a deleted one comes back.")
@errors(403, 409)
@managers_only
@bp.arguments(PARTICIPATION_CREATE)
@bp.response(201, PARTICIPATION_DETAIL, description="Created.", headers=LOCATION)
def create_participation_item(data, code: str):
    programme = get_programme_or_404(code)
    p = add_participation(programme, data["organisation_id"], actor=api_user(),
                          **{k: data[k] for k in PATCH_FIELDS if k in data})
    return _detail(programme, p), 201, _location(programme, p)


@bp.get(ITEM, tags=TAGS)
@bp.doc(operationId="getParticipation", summary="One participation with the date of every move.")
@bp.response(200, PARTICIPATION_DETAIL, description="The participation.")
def get_participation_item(code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    return _detail(programme, p)


@bp.patch(ITEM, tags=TAGS)
@bp.doc(operationId="updateParticipation",
        summary="Move it on (`status`), change owner or notes; `version` is required. A move the "
                "pipeline does not allow from the current status gets 409.")
@errors(403, 409, 428)
@managers_only
@bp.arguments(PARTICIPATION_PATCH)
@bp.response(200, PARTICIPATION_DETAIL, description="The changed participation.")
def update_participation_item(data, code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    update_participation(p, actor=api_user(), expected_version=data.pop("version"), **data)
    return _detail(programme, p)


@bp.delete(ITEM, tags=TAGS)
@bp.doc(operationId="deleteParticipation",
        summary="Soft delete (it no longer counts); adding the organisation again brings it back.")
@errors(403, 409, 422)
@managers_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_participation_item(args, code: str, participation_id: int):
    _programme, p = _load(code, participation_id)
    delete_participation(p, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)


@bp.post(f"{ITEM}/interactions", tags=TAGS)
@bp.doc(operationId="linkParticipationInteraction",
        summary="Link a contact moment of the same organisation that you may see.")
@errors(403, 409)
@managers_only
@bp.arguments(PARTICIPATION_LINK)
@bp.response(201, PARTICIPATION_DETAIL, description="The participation with the link.",
             headers=LOCATION)
def link_participation_interaction(data, code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    link_interaction(p, data["interaction_id"], actor=api_user())
    return _detail(programme, p), 201, _location(programme, p)


@bp.delete(f"{ITEM}/interactions/<int:interaction_id>", tags=TAGS)
@bp.doc(operationId="unlinkParticipationInteraction",
        summary="Remove the link (the contact moment stays); 404 when it is not linked (or not "
                "one you may see).")
@errors(403)
@managers_only
@bp.response(204, description="Unlinked.")
def unlink_participation_interaction(code: str, participation_id: int, interaction_id: int):
    _programme, p = _load(code, participation_id)
    try:
        unlink_interaction(p, interaction_id, actor=api_user())
    except ValidationError:
        abort(404)  # the link (the sub-resource at this URL) does not exist
    return Response(status=204)
