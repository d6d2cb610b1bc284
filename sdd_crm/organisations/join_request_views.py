"""Browser screens for asking to join an account team (organisations.join_requests).

The requests show on the organisation page, in its account-team section: the requester's own
request and its state (or the form to ask), and for the deciders — the strategic manager and
admins — the open requests with approve and decline. *Mijn accounts* lists the open requests a
user decides and their own requests.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import transaction
from ..exceptions import ConflictError, PermissionDenied, ValidationError
from ..forms import form_page
from . import bp, join_requests
from .forms import JoinDecisionForm, JoinRequestForm, options
from .models import Organisation
from .permissions import can_manage_account_team
from .queries import get_organisation

INVALID = 422


def _role_choices(user) -> list:
    from .. import labels

    return options([(r, labels.label(labels.TEAM_ROLE, r)) for r in join_requests.wanted_roles(user)])


def join_context(org: Organisation, user, join_form: JoinRequestForm | None = None) -> dict:
    """What the account-team section shows about requests to join, for ``user``."""
    may_ask = org.merged_into_id is None and join_requests.may_ask_to_join(user, org)
    mine = join_requests.latest_request(user.id, org.id) if user.role in join_requests.REQUEST_ROLES else None
    open_mine = mine is not None and mine.status == "open"
    if may_ask and not open_mine and join_form is None:
        join_form = JoinRequestForm(formdata=None)
    elif join_form is not None and not join_form.errors and not (may_ask and not open_mine):
        join_form = None  # asked and answered: the state shows instead
    if join_form is not None:
        join_form.team_role.choices = _role_choices(user)
    deciding = org.merged_into_id is None and can_manage_account_team(user, org)
    return {
        "join_form": join_form,
        "my_join_request": mine,
        "open_join_requests": [r for r in join_requests.open_requests_for(org.id)
                               if r.user_id != user.id] if deciding else [],
        "decline_form": JoinDecisionForm(formdata=None) if deciding else None,
        "join_status_label": join_requests.status_label,
    }


def _back(org_id: int):
    return redirect(url_for("organisations.detail", org_id=org_id, _anchor="accountteam"))


@bp.route("/<int:org_id>/join-requests", methods=["POST"])
@login_required
def join_request_create(org_id: int):
    """Ask to join the account team (account managers outside it)."""
    org = get_organisation(org_id)
    if current_user.role not in join_requests.REQUEST_ROLES:
        raise PermissionDenied()
    from .views import _render_detail

    form = JoinRequestForm()
    form.team_role.choices = _role_choices(current_user)
    if not form.validate():
        return _render_detail(org, join_form=form, status=INVALID)
    form_page(form, lambda: _render_detail(org, join_form=form)[0])
    join_requests.ask_to_join(org, {"reason": form.reason.data, "team_role": form.team_role.data},
                              actor=current_user)
    flash(_("Uw verzoek om toe te treden is verstuurd; de strategisch accountmanager of een "
            "beheerder beslist erover."),
          "success")
    return _back(org.id)


def _load(org_id: int, request_id: int, may) -> tuple[Organisation, object]:
    """The organisation and its request, refused (403) before any input is looked at when
    ``may(user, request)`` says no."""
    org = get_organisation(org_id)
    request = join_requests.get_request(org.id, request_id)
    if not may(current_user, request):
        raise PermissionDenied()
    return org, request


def _decide(org: Organisation, request, action, done_message: str):
    try:
        with transaction.attempt():
            action(request)
    except ConflictError as e:
        flash(e.message or _("Over dit verzoek is al besloten."), "error")
        return _back(org.id)
    except ValidationError as e:
        flash(" ".join(map(str, e.errors.values())), "error")
        return _back(org.id)
    flash(done_message, "success")
    return _back(org.id)


def _is_requester(user, request) -> bool:
    return request.user_id == user.id


@bp.route("/<int:org_id>/join-requests/<int:request_id>/approve", methods=["POST"])
@login_required
def join_request_approve(org_id: int, request_id: int):
    """Approve: the requester joins the team (audited as any addition)."""
    org, request = _load(org_id, request_id, join_requests.may_decide)
    return _decide(org, request, lambda r: join_requests.approve(r, actor=current_user),
                   _("Het verzoek is goedgekeurd; de aanvrager zit nu in het accountteam."))


@bp.route("/<int:org_id>/join-requests/<int:request_id>/decline", methods=["POST"])
@login_required
def join_request_decline(org_id: int, request_id: int):
    org, request = _load(org_id, request_id, join_requests.may_decide)
    form = JoinDecisionForm()
    if not form.validate():
        flash(" ".join(str(m) for msgs in form.errors.values() for m in msgs), "error")
        return _back(org.id)
    return _decide(org, request,
                   lambda r: join_requests.decline(
                       r, {"decision_reason": form.decision_reason.data}, actor=current_user),
                   _("Het verzoek is afgewezen."))


@bp.route("/<int:org_id>/join-requests/<int:request_id>/withdraw", methods=["POST"])
@login_required
def join_request_withdraw(org_id: int, request_id: int):
    org, request = _load(org_id, request_id, _is_requester)
    return _decide(org, request, lambda r: join_requests.withdraw(r, actor=current_user),
                   _("Uw verzoek is ingetrokken."))
