"""/api/v1/programmes/<code>/participations: an organisation's place in a programme's pipeline.

Each item says whether it ``counts`` towards the target and, if not, the ``reason`` (DESIGN 4.2,
from the same count as the progress endpoint). Everyone signed in reads; viewers get no notes
and no contact moments. Admins, regional account managers and business developers manage.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify, request, url_for

from ..extensions import db
from ..interactions.models import Interaction
from ..pagination import paginate
from ..programmes.counting import count_programme, page_verdicts
from ..programmes.models import (Participation, ParticipationEvent, ParticipationStatus,
                                 participation_interaction)
from ..programmes.queries import (ParticipationFilters, get_participation_or_404,
                                  get_programme_or_404, participation_list)
from ..programmes.services import (UNSET, add_participation, allowed_next,
                                   can_manage_participations, delete_participation,
                                   link_interaction, unlink_interaction, update_participation)
from ..visibility import can_see_interactions, interaction_visible
from . import bp
from .auth import api_user
from .errors import check_id, check_query_text, forbidden, json_object, page_args, query_int, read_version
from .params import query_bool, query_choice
from .serializers import RECORD_ID, TEXT, _timestamp, check_input

PARTICIPATION_INPUT = {"organisation_id": RECORD_ID, "status": TEXT, "owner_id": RECORD_ID,
                       "notes": TEXT}
PATCH_INPUT = {"status": TEXT, "owner_id": RECORD_ID, "notes": TEXT}
READ_ONLY = {"id", "organisation_name", "municipality", "status_changed_at", "interaction_ids",
             "counts", "reason", "events", "next_statuses", "created_at", "updated_at"}
LINK_INPUT = {"interaction_id": RECORD_ID}
FILTER_PARAMS = ("status", "municipality", "owner_id", "q", "cluster_id", "counted",
                 "organisation_id")


def _require_manager() -> None:
    if not can_manage_participations(api_user()):
        forbidden()


def visible_links(participation_ids, user) -> dict[int, list[int]]:
    """The linked contact moments each participation shows this user (DESIGN 4.4), newest first."""
    if not participation_ids or not can_see_interactions(user):
        return {}
    pi = participation_interaction
    rows = db.session.execute(
        sa.select(pi.c.participation_id, pi.c.interaction_id)
        .join(Interaction, Interaction.id == pi.c.interaction_id)
        .where(pi.c.participation_id.in_(list(participation_ids)),
               Interaction.deleted_at.is_(None), interaction_visible(user))
        .order_by(pi.c.participation_id, Interaction.date.desc(), Interaction.id.desc())).all()
    links: dict[int, list[int]] = {}
    for pid, iid in rows:
        links.setdefault(pid, []).append(iid)
    return links


def participation_to_dict(p: Participation, user, links: dict, verdicts: dict) -> dict[str, Any]:
    verdict = verdicts.get(p.id)
    return {
        "id": p.id,
        "organisation_id": p.organisation_id,
        "organisation_name": p.organisation.name,
        "municipality": p.organisation.municipality_code,
        "status": p.status,
        "status_changed_at": _timestamp(p.status_changed_at),
        "owner_id": p.owner_id,
        # Viewers read lists, never notes (DESIGN 4.4).
        "notes": p.notes if can_see_interactions(user) else None,
        "interaction_ids": links.get(p.id, []),
        "counts": bool(verdict and verdict.counts),
        "reason": str(verdict.reason) if verdict is not None and verdict.reason is not None else None,
        "version": p.version,
        "created_at": _timestamp(p.created_at),
        "updated_at": _timestamp(p.updated_at),
    }


def _verdicts(programme) -> tuple[Any, dict]:
    count = count_programme(programme)
    return count, {v.participation_id: v for v in count.verdicts}


# The whole programme is evaluated only when the list is filtered on ``counted``; otherwise the
# verdicts of the page's (or the one) participation(s) come from page_verdicts, the same rule over
# just those rows and their merged relatives, in a fixed number of queries.


def _detail(programme, p: Participation, status: int = 200):
    user = api_user()
    verdicts = page_verdicts(programme, [p])
    events = db.session.execute(
        sa.select(ParticipationEvent.from_status, ParticipationEvent.to_status,
                  ParticipationEvent.at, ParticipationEvent.user_id)
        .where(ParticipationEvent.participation_id == p.id)
        .order_by(ParticipationEvent.at, ParticipationEvent.id)).all()
    body = participation_to_dict(p, user, visible_links([p.id], user), verdicts) | {
        "next_statuses": allowed_next(p.status) if can_manage_participations(user) else [],
        "events": [{"from_status": e.from_status, "to_status": e.to_status,
                    "at": _timestamp(e.at), "user_id": e.user_id} for e in events],
    }
    response = jsonify(body)
    response.status_code = status
    return response


def _load(code: str, participation_id: int):
    programme = get_programme_or_404(code)
    return programme, get_participation_or_404(programme, check_id(participation_id))


def _fresh(code: str, participation_id: int, status: int = 200):
    db.session.expire_all()
    programme, p = _load(code, participation_id)
    return _detail(programme, p, status)


def _filters() -> ParticipationFilters:
    check_query_text()
    municipality = (request.args.get("municipality") or "").strip().upper()
    return ParticipationFilters(
        status=query_choice("status", {s.value for s in ParticipationStatus}),
        municipality=municipality[:6] or None,
        owner_id=query_int("owner_id"),
        q=(request.args.get("q") or "").strip()[:200] or None,
        cluster_id=query_int("cluster_id"),
        counted=query_bool("counted"),
        organisation_id=query_int("organisation_id"),
    )


@bp.get("/programmes/<code>/participations")
def list_participations(code: str):
    programme = get_programme_or_404(code)
    filters = _filters()
    page_no, per_page = page_args()
    if filters.counted is not None:
        count, verdicts = _verdicts(programme)
        page = paginate(participation_list(programme, filters, count=count), page_no, per_page)
    else:
        page = paginate(participation_list(programme, filters), page_no, per_page)
        verdicts = page_verdicts(programme, page.items)
    user = api_user()
    links = visible_links([p.id for p in page.items], user)
    args = {k: v for k, v in request.args.items() if k in FILTER_PARAMS and v != ""}

    def link(n):
        return url_for("api.list_participations", code=programme.code,
                       **(args | {"page": n, "per_page": page.per_page}))

    return jsonify({
        "items": [participation_to_dict(p, user, links, verdicts) for p in page.items],
        "page": page.page, "per_page": page.per_page, "has_next": page.has_next,
        "next": link(page.page + 1) if page.has_next else None,
        "prev": link(page.page - 1) if page.has_prev else None,
    })


@bp.post("/programmes/<code>/participations")
def create_participation_item(code: str):
    programme = get_programme_or_404(code)
    _require_manager()
    data = check_input(json_object(), PARTICIPATION_INPUT, READ_ONLY, with_version=False)
    p = add_participation(programme, data.get("organisation_id"), actor=api_user(),
                          status=data.get("status") or ParticipationStatus.IDENTIFIED,
                          owner_id=data.get("owner_id"), notes=data.get("notes"))
    db.session.commit()
    response = _fresh(programme.code, p.id, 201)
    response.headers["Location"] = url_for("api.get_participation_item", code=programme.code,
                                           participation_id=p.id)
    return response


@bp.get("/programmes/<code>/participations/<int:participation_id>")
def get_participation_item(code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    return _detail(programme, p)


@bp.patch("/programmes/<code>/participations/<int:participation_id>")
def update_participation_item(code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    _require_manager()
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = check_input(body, PATCH_INPUT, READ_ONLY | {"organisation_id"}, with_version=True)
    update_participation(p, actor=api_user(), expected_version=version,
                         **{k: data.get(k, UNSET) for k in PATCH_INPUT})
    db.session.commit()
    return _fresh(programme.code, p.id)


@bp.delete("/programmes/<code>/participations/<int:participation_id>")
def delete_participation_item(code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    _require_manager()
    version = read_version(request.args.get("version"), required=False)
    delete_participation(p, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204


@bp.post("/programmes/<code>/participations/<int:participation_id>/interactions")
def link_participation_interaction(code: str, participation_id: int):
    programme, p = _load(code, participation_id)
    _require_manager()
    data = check_input(json_object(), LINK_INPUT, set(), with_version=False)
    link_interaction(p, data.get("interaction_id"), actor=api_user())
    db.session.commit()
    response = _fresh(programme.code, p.id, 201)
    response.headers["Location"] = url_for("api.get_participation_item", code=programme.code,
                                           participation_id=p.id)
    return response


@bp.delete("/programmes/<code>/participations/<int:participation_id>/interactions/<int:interaction_id>")
def unlink_participation_interaction(code: str, participation_id: int, interaction_id: int):
    programme, p = _load(code, participation_id)
    _require_manager()
    unlink_interaction(p, check_id(interaction_id), actor=api_user())
    db.session.commit()
    return "", 204
