"""Asking to join an account team (DESIGN 4.4, issue 11 point 4).

Account-team membership opens an organisation's confidential notes, so nobody adds themselves:
an account manager outside the team *asks* (a short reason and the role they want), and the
organisation's strategic manager or an admin approves — which adds the member through
:func:`~.services.set_account_team_member` (audited ``team_add`` on the organisation, or a
``team_handover`` for the strategic role) — or declines, with an optional reason. Nobody decides
their own request. The requester sees the state of their request and may withdraw it while it
is open; one open request per user and organisation (also a unique index). Every request row is
audited (``account_team_request``); the deciders and, after the decision, the requester are
notified in the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import validation as v
from ..auth.models import Role, User
from ..db import utcnow
from ..exceptions import ConflictError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..notifications.services import notify
from .models import (AccountTeamMember, AccountTeamRequest, JoinRequestStatus, Organisation,
                     TeamRole)
from .permissions import can_manage_account_team, is_in_account_team, strategic_manager_id
from .services import set_account_team_member

# Who may ask: those who can be in an account team (services.set_account_team_member) and do
# not manage it already. Admins manage every team; business developers and viewers are in none.
REQUEST_ROLES = (Role.REGIONAL_ACCOUNT_MANAGER, Role.LOCAL_ACCOUNT_MANAGER)
REASON_LIMIT = 1000
NOTIFY_KIND = "team_request"

STATUS_LABELS = {
    JoinRequestStatus.OPEN: _l("wacht op een besluit"),
    JoinRequestStatus.APPROVED: _l("goedgekeurd"),
    JoinRequestStatus.DECLINED: _l("afgewezen"),
    JoinRequestStatus.WITHDRAWN: _l("ingetrokken"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def wanted_roles(user) -> list[str]:
    """The team roles ``user`` may ask for: the strategic role is a regional account manager's."""
    if user.role == Role.REGIONAL_ACCOUNT_MANAGER:
        return [TeamRole.LOCAL.value, TeamRole.STRATEGIC.value]
    return [TeamRole.LOCAL.value]


def may_ask_to_join(user, org: Organisation) -> bool:
    """An active account manager outside the team of a live organisation."""
    return (getattr(user, "is_authenticated", True) and getattr(user, "active", True)
            and user.role in REQUEST_ROLES and org.deleted_at is None
            and org.merged_into_id is None and not is_in_account_team(user, org.id))


def may_decide(user, request: AccountTeamRequest) -> bool:
    """The organisation's strategic manager or an admin — never the requester themselves."""
    return (request.user_id != user.id
            and can_manage_account_team(user, request.organisation))


def open_request(user_id: int, org_id: int) -> AccountTeamRequest | None:
    return db.session.scalar(sa.select(AccountTeamRequest).where(
        AccountTeamRequest.organisation_id == org_id, AccountTeamRequest.user_id == user_id,
        AccountTeamRequest.status == JoinRequestStatus.OPEN))


def latest_request(user_id: int, org_id: int) -> AccountTeamRequest | None:
    """The user's latest request for the organisation, whatever its state."""
    return db.session.scalar(
        sa.select(AccountTeamRequest)
        .where(AccountTeamRequest.organisation_id == org_id, AccountTeamRequest.user_id == user_id)
        .order_by(AccountTeamRequest.created_at.desc(), AccountTeamRequest.id.desc()).limit(1))


def open_requests_for(org_id: int) -> list[AccountTeamRequest]:
    return list(db.session.scalars(
        sa.select(AccountTeamRequest)
        .where(AccountTeamRequest.organisation_id == org_id,
               AccountTeamRequest.status == JoinRequestStatus.OPEN)
        .order_by(AccountTeamRequest.created_at, AccountTeamRequest.id)))


def _live(stmt: sa.Select) -> sa.Select:
    return (stmt.join(AccountTeamRequest.organisation)
            .where(Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None))
            .options(contains_eager(AccountTeamRequest.organisation)))


def requests_to_decide(user, limit: int = 50) -> list[AccountTeamRequest]:
    """Open requests ``user`` decides: every one for an admin, those of the organisations whose
    strategic manager they are otherwise (their own requests never)."""
    if user.role not in (Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER):
        return []
    stmt = _live(sa.select(AccountTeamRequest)).where(
        AccountTeamRequest.status == JoinRequestStatus.OPEN, AccountTeamRequest.user_id != user.id)
    if user.role != Role.ADMIN:
        stmt = stmt.where(sa.exists().where(
            AccountTeamMember.organisation_id == AccountTeamRequest.organisation_id,
            AccountTeamMember.user_id == user.id,
            AccountTeamMember.team_role == TeamRole.STRATEGIC))
    return list(db.session.scalars(
        stmt.order_by(AccountTeamRequest.created_at, AccountTeamRequest.id).limit(limit)))


def requests_of(user, limit: int = 20) -> list[AccountTeamRequest]:
    """The user's own requests, newest first (open ones and recent decisions)."""
    return list(db.session.scalars(
        _live(sa.select(AccountTeamRequest)).where(AccountTeamRequest.user_id == user.id)
        .order_by(AccountTeamRequest.created_at.desc(), AccountTeamRequest.id.desc())
        .limit(limit)))


def get_request(org_id: int, request_id: int) -> AccountTeamRequest:
    request = db.session.get(AccountTeamRequest, request_id)
    if request is None or request.organisation_id != org_id:
        raise NotFound()
    return request


def _deciders(org: Organisation) -> list[int]:
    """Who hears of a new request: the strategic manager, or the admins when there is none."""
    manager = strategic_manager_id(org)
    if manager is not None:
        return [manager]
    return list(db.session.scalars(sa.select(User.id).where(
        User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)))


def _link(org: Organisation) -> str:
    return f"/organisations/{org.id}#accountteam"


def ask_to_join(org: Organisation, data, *, actor) -> AccountTeamRequest:
    """Ask to join ``org``'s account team with ``data`` = {"team_role", "reason"}."""
    if actor.role not in REQUEST_ROLES:
        raise PermissionDenied()
    if org.deleted_at is not None:
        raise NotFound()
    if org.merged_into_id is not None:
        raise ValidationError({"_": _("Deze organisatie is samengevoegd met een andere; vraag "
                                      "daar om toe te treden.")})
    if is_in_account_team(actor, org.id):
        raise ValidationError({"_": _("U zit al in het accountteam.")})
    if open_request(actor.id, org.id) is not None:
        raise ConflictError(_("U heeft al een verzoek ingediend dat nog op een besluit wacht."))
    errors: dict[str, str] = {}
    reason = v.text(data, "reason", errors, limit=REASON_LIMIT, required=True,
                    message=_("Schrijf kort waarom u in het accountteam wilt."))
    role = v.choice(data, "team_role", errors, wanted_roles(actor), default=TeamRole.LOCAL.value,
                    message=_("Kies een rol die u kunt vervullen."))
    if errors:
        raise ValidationError(errors)
    request = AccountTeamRequest(organisation_id=org.id, user_id=actor.id, team_role=role,
                                 reason=reason, status=JoinRequestStatus.OPEN)
    request.organisation = org
    db.session.add(request)
    db.session.flush()
    notify(_deciders(org), NOTIFY_KIND,
           _l("%(name)s vraagt om toe te treden tot het accountteam van %(org)s",
              name=actor.name, org=org.name), link=_link(org))
    return request


def _check_open(request: AccountTeamRequest) -> None:
    if request.status != JoinRequestStatus.OPEN:
        raise ConflictError(_("Over dit verzoek is al besloten."))


def _close(request: AccountTeamRequest, status: str, actor, reason: str | None = None) -> None:
    request.status = status
    request.decided_by_id = actor.id
    request.decided_at = utcnow()
    request.decision_reason = reason
    db.session.flush()


def approve(request: AccountTeamRequest, *, actor) -> AccountTeamRequest:
    """Add the requester to the team in the role asked for (the existing, audited service)."""
    if not may_decide(actor, request):
        raise PermissionDenied()
    _check_open(request)
    requester, org = request.user, request.organisation
    if not requester.active or requester.role not in REQUEST_ROLES:
        raise ValidationError({"_": _("Deze gebruiker kan niet (meer) in een accountteam.")})
    role = request.team_role
    if role == TeamRole.STRATEGIC and requester.role != Role.REGIONAL_ACCOUNT_MANAGER:
        role = TeamRole.LOCAL.value
    # Added meanwhile by an admin: a request for a local seat never demotes a strategic manager.
    if not (role == TeamRole.LOCAL and is_in_account_team(requester, org.id)):
        set_account_team_member(org, requester, role, actor=actor)
    _close(request, JoinRequestStatus.APPROVED, actor)
    notify([requester.id], NOTIFY_KIND,
           _l("Uw verzoek om toe te treden tot het accountteam van %(org)s is goedgekeurd",
              org=org.name), link=_link(org))
    return request


def decline(request: AccountTeamRequest, data, *, actor) -> AccountTeamRequest:
    """Decline, with an optional reason the requester reads."""
    if not may_decide(actor, request):
        raise PermissionDenied()
    _check_open(request)
    errors: dict[str, str] = {}
    reason = v.text(data, "decision_reason", errors, limit=REASON_LIMIT)
    if errors:
        raise ValidationError(errors)
    _close(request, JoinRequestStatus.DECLINED, actor, reason)
    notify([request.user_id], NOTIFY_KIND,
           _l("Uw verzoek om toe te treden tot het accountteam van %(org)s is afgewezen",
              org=request.organisation.name), link=_link(request.organisation))
    return request


def withdraw(request: AccountTeamRequest, *, actor) -> AccountTeamRequest:
    """The requester takes back an open request."""
    if request.user_id != actor.id:
        raise PermissionDenied()
    _check_open(request)
    _close(request, JoinRequestStatus.WITHDRAWN, actor)
    return request
