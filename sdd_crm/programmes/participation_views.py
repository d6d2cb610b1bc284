"""One participation: its status moves with their history, owner and notes (version-checked),
linked contact moments (only those the user may see), soft delete and restore (issue 5).

Every signed-in user reads; viewers never see notes or contact moments. Only
``can_manage_participations`` users get the forms and may POST (others 403).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import contains_eager

from ..auth.models import User
from ..extensions import db
from ..interactions.models import Interaction
from ..organisations.models import Organisation
from ..exceptions import NotFound, ValidationError
from ..forms import form_page
from ..i18n import format_day
from ..pagination import paginate
from ..views_common import confirm_soft_delete
from ..interactions.visibility import can_see_interactions, interaction_visible
from ..transaction import attempt
from . import bp
from .forms import (FIELD_MAP, EditParticipationForm, LinkInteractionForm, StatusForm,
                    VersionForm, options)
from .labels import participation_status_label
from .models import Participation, ParticipationEvent, Programme, participation_interaction
from .queries import get_participation_or_404, get_programme_or_404
from .services import (allowed_next, can_manage_participations, delete_participation,
                       link_interaction, restore_participation, unlink_interaction,
                       update_participation)
from .tally import verdicts_for
from .views import INVALID, owner_candidates, page_number, require_manager

CONFLICT_MESSAGE = _l(
    "Iemand anders heeft deze deelname intussen gewijzigd. Uw invoer staat hieronder nog; "
    "kies per gewijzigd veld welke waarde blijft en sla op.")
STATUS_CONFLICT_MESSAGE = _l(
    "Iemand anders heeft deze deelname intussen gewijzigd; de status is niet aangepast. Bekijk "
    "de huidige stand en kies opnieuw.")
LINKABLE_LIMIT = 50


@bp.route("/participations/<int:participation_id>")
@login_required
def participation_by_id(participation_id: int):
    """A short address for a participation (used by the organisation timeline)."""
    code = db.session.scalar(
        sa.select(Programme.code).join(Participation, Participation.programme_id == Programme.id)
        .where(Participation.id == participation_id))
    if code is None:
        raise NotFound()
    return redirect(url_for("programmes.participation", code=code,
                            participation_id=participation_id))


def _history(p):
    return db.session.execute(
        sa.select(ParticipationEvent, User.name)
        .outerjoin(User, User.id == ParticipationEvent.user_id)
        .where(ParticipationEvent.participation_id == p.id)
        .order_by(ParticipationEvent.at, ParticipationEvent.id)).all()


def _linked(p):
    """Linked contact moments this user may see (none for viewers)."""
    return list(db.session.scalars(
        sa.select(Interaction)
        .join(participation_interaction,
              participation_interaction.c.interaction_id == Interaction.id)
        .where(participation_interaction.c.participation_id == p.id,
               Interaction.deleted_at.is_(None), interaction_visible(current_user))
        .order_by(Interaction.date.desc(), Interaction.id.desc())))


def _linkable(p, linked):
    """The organisation's own contact moments this user may see and that are not linked yet."""
    stmt = (sa.select(Interaction).where(
        Interaction.organisation_id == p.organisation_id, Interaction.deleted_at.is_(None),
        interaction_visible(current_user))
        .order_by(Interaction.date.desc(), Interaction.id.desc()).limit(LINKABLE_LIMIT))
    if linked:
        stmt = stmt.where(Interaction.id.not_in([i.id for i in linked]))
    return list(db.session.scalars(stmt))


def _stored_edit_form(p):
    return EditParticipationForm(formdata=None, data={
        "owner_id": str(p.owner_id or ""), "notes": p.notes or "", "version": str(p.version)})


def _render_participation(programme, p, *, edit_form=None, status_form=None, link_form=None,
                          code=200):
    may_manage = can_manage_participations(current_user)
    sees_interactions = can_see_interactions(current_user)
    linked = _linked(p) if sees_interactions else []
    owners = owner_candidates() if may_manage else []
    if may_manage:
        edit_form = edit_form or _stored_edit_form(p)
        edit_form.set_owner_choices(owners)
        link_form = link_form or LinkInteractionForm(formdata=None)
        linkable = _linkable(p, linked)
        link_form.interaction_id.choices = options([("", _("— kies een contactmoment —"))] + [
            (str(i.id), f"{format_day(i.date)} · {i.subject}") for i in linkable])
    return render_template(
        "programmes/participation.html", programme=programme, p=p, history=_history(p),
        verdict=verdicts_for(programme, [p.id]).get(p.id), linked=linked,
        sees_interactions=sees_interactions, may_manage=may_manage,
        steps=allowed_next(p.status) if may_manage else [],
        edit_form=edit_form, link_form=link_form,
        status_errors=status_form.errors if status_form is not None else {}), code


def _load(code, participation_id):
    programme = get_programme_or_404(code)
    return programme, get_participation_or_404(programme, participation_id)


@bp.route("/<code>/participations/<int:participation_id>")
@login_required
def participation(code: str, participation_id: int):
    return _render_participation(*_load(code, participation_id))


def _safe_next(default: str) -> str:
    """Go back where the user came from (the filtered pipeline), never off this site."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme \
            and not parts.netloc and "\\" not in target:
        return target
    return default


@bp.route("/<code>/participations/<int:participation_id>/status", methods=["POST"])
@login_required
def change_status(code: str, participation_id: int):
    """One step along the pipeline (from the participation page or a pipeline row)."""
    require_manager()
    programme, p = _load(code, participation_id)
    form = StatusForm()
    if not form.validate():
        return _render_participation(programme, p, status_form=form, code=INVALID)
    old = p.status
    form_page(form, lambda: _render_participation(programme, p, status_form=form)[0],
              conflict_message=STATUS_CONFLICT_MESSAGE)
    update_participation(p, actor=current_user, expected_version=form.version.data or None,
                         status=form.status.data)
    flash(_("%(name)s: %(from)s → %(to)s.", name=p.organisation.name,
            **{"from": participation_status_label(old),
               "to": participation_status_label(p.status)}), "success")
    return redirect(_safe_next(url_for("programmes.participation", code=programme.code,
                                       participation_id=p.id)))


@bp.route("/<code>/participations/<int:participation_id>/edit", methods=["POST"])
@login_required
def edit(code: str, participation_id: int):
    """Owner and notes, checked against the version the user saw."""
    require_manager()
    programme, p = _load(code, participation_id)
    form = EditParticipationForm()
    form.set_owner_choices(owner_candidates())
    if not form.validate():
        return _render_participation(programme, p, edit_form=form, code=INVALID)
    form_page(form, lambda: _render_participation(programme, p, edit_form=form)[0],
              conflict_message=CONFLICT_MESSAGE, field_map=FIELD_MAP,
              current=lambda: _stored_edit_form(p))
    update_participation(p, actor=current_user, expected_version=form.version.data or None,
                         owner_id=form.owner_id.data or None, notes=form.notes.data or None)
    flash(_("De deelname is opgeslagen."), "success")
    return redirect(url_for("programmes.participation", code=programme.code,
                            participation_id=p.id))


@bp.route("/<code>/participations/<int:participation_id>/interactions", methods=["POST"])
@login_required
def link(code: str, participation_id: int):
    require_manager()
    programme, p = _load(code, participation_id)
    form = LinkInteractionForm()
    if not form.validate():
        return _render_participation(programme, p, link_form=form, code=INVALID)
    form_page(form, lambda: _render_participation(programme, p, link_form=form)[0],
              field_map=FIELD_MAP)
    link_interaction(p, form.interaction_id.data, actor=current_user)
    flash(_("Het contactmoment is gekoppeld."), "success")
    return redirect(url_for("programmes.participation", code=programme.code,
                            participation_id=p.id, _anchor="contactmomenten"))


@bp.route("/<code>/participations/<int:participation_id>/interactions/<int:interaction_id>/remove",
          methods=["POST"])
@login_required
def unlink(code: str, participation_id: int, interaction_id: int):
    require_manager()
    programme, p = _load(code, participation_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        unlink_interaction(p, interaction_id, actor=current_user)
    except ValidationError:
        raise NotFound() from None
    flash(_("De koppeling met het contactmoment is verwijderd."), "success")
    return redirect(url_for("programmes.participation", code=programme.code,
                            participation_id=p.id, _anchor="contactmomenten"))


@bp.route("/<code>/participations/<int:participation_id>/delete", methods=["GET", "POST"])
@login_required
def delete(code: str, participation_id: int):
    """Soft delete after a confirmation page; it can be restored."""
    require_manager()
    programme, p = _load(code, participation_id)
    return confirm_soft_delete(
        p, delete=delete_participation, form_cls=VersionForm,
        template="programmes/participation_delete.html", context={"programme": programme, "p": p},
        conflict_message=_("Iemand anders heeft deze deelname intussen gewijzigd. Bekijk de "
                           "huidige stand voordat u haar verwijdert."),
        success_message=_("%(name)s is uit %(programme)s verwijderd. U vindt de deelname terug "
                          "onder 'Verwijderde deelnemers' en kunt haar daar herstellen.",
                          name=p.organisation.name, programme=programme.name),
        next_url=url_for("programmes.pipeline", code=programme.code))


@bp.route("/<code>/deleted")
@login_required
def deleted(code: str):
    """Deleted participations of live organisations, newest first, to restore."""
    require_manager()
    programme = get_programme_or_404(code)
    page = paginate(
        sa.select(Participation)
        .join(Organisation, Organisation.id == Participation.organisation_id)
        .where(Participation.programme_id == programme.id, Participation.deleted_at.is_not(None),
               Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None))
        .options(contains_eager(Participation.organisation))
        .order_by(Participation.deleted_at.desc(), Participation.id.desc()),
        page_number(), current_app.config["PAGE_SIZE"])
    return render_template("programmes/participations_deleted.html", programme=programme,
                           page=page, page_url=lambda n: url_for(
                               "programmes.deleted", code=programme.code, page=n))


@bp.route("/<code>/participations/<int:participation_id>/restore", methods=["POST"])
@login_required
def restore(code: str, participation_id: int):
    """Bring a deleted participation back as it was (status, owner, notes, links, history)."""
    require_manager()
    programme = get_programme_or_404(code)
    p = get_participation_or_404(programme, participation_id, include_deleted=True)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            restore_participation(p, actor=current_user)
    except ValidationError as e:  # refused before anything changed: back to the list, with why
        flash(" ".join(map(str, e.errors.values())), "error")
        return redirect(url_for("programmes.deleted", code=programme.code))
    flash(_("De deelname van %(name)s is hersteld.", name=p.organisation.name), "success")
    return redirect(url_for("programmes.participation", code=programme.code,
                            participation_id=p.id))
