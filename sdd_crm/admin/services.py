"""Administrator actions: managing users and their tokens, restoring soft-deleted records.

Services flush; the view commits once. Each raises ``ValidationError`` with a Dutch message
when the action would do harm (an admin locking themselves out, an orphaned contact).
"""

from __future__ import annotations

from flask_babel import gettext as _

from ..auth.models import Role, User
from ..auth.services import create_token, revoke_tokens, update_user
from ..auth.sessions import DEACTIVATED, SIGNED_OUT_EVERYWHERE, current_session, revoke_user_sessions
from ..audit.events import record
from ..contacts.services import restore_contact
from ..extensions import db
from ..interactions.services import restore_interaction, restore_task
from ..leads.services import restore_comment, restore_lead
from ..organisations.services import restore_establishment, restore_organisation
from ..programmes.admin_services import restore_programme
from ..programmes.services import restore_participation
from ..valuechains.network_services import restore_chain_role, restore_supply_link
from ..valuechains.services import restore_cluster, restore_value_chain
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ValidationError


def _require_admin(actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied()


def edit_user(user: User, *, actor, expected_version, name, role, municipality_code, active,
              password=None) -> User:
    """Change a user's name, role, municipality, active flag (and password); stale → ConflictError."""
    _require_admin(actor)
    check_version(user, expected_version)
    if user.id == actor.id and (role != Role.ADMIN or not active):
        # Otherwise an administrator could lock the last way in to these screens.
        raise ValidationError(_("U kunt uw eigen beheerrechten niet intrekken of uw eigen account "
                                "niet deactiveren."))
    return update_user(user, name=name, role=role, municipality_code=municipality_code or None,
                       active=active, password=password or None,
                       keep_session=current_session() if user.id == actor.id else None)


def deactivate_user(user: User, *, actor) -> int:
    """Deactivate a user, revoke their API tokens and end their sessions; returns the number of
    tokens revoked."""
    _require_admin(actor)
    if user.id == actor.id:
        raise ValidationError(_("U kunt uw eigen account niet deactiveren."))
    n = revoke_tokens(user)
    revoke_user_sessions(user, reason=DEACTIVATED)
    user.active = False
    db.session.flush()
    return n


def sign_out_everywhere(user: User, *, actor) -> int:
    """End every session of ``user`` at once ("Overal afmelden"), audited; returns how many.

    An administrator signing themselves out everywhere keeps the session they do it from."""
    _require_admin(actor)
    keep = current_session() if user.id == actor.id else None
    n = revoke_user_sessions(user, reason=SIGNED_OUT_EVERYWHERE, keep=keep)
    record("sign_out_everywhere", "user", user.id, detail={"sessions_ended": n})
    db.session.flush()
    return n


def revoke_user_tokens(user: User, *, actor) -> int:
    _require_admin(actor)
    n = revoke_tokens(user)
    db.session.flush()
    return n


def issue_token(user: User, name: str, *, actor) -> str:
    """A new API token for ``user``; only its hash is kept, so it is shown this once."""
    _require_admin(actor)
    if not user.active:
        raise ValidationError(_("Deze gebruiker is gedeactiveerd; een token zou niet werken."))
    return create_token(user, name.strip())


# --- The bin: each kind's restore is its own feature's service (the rules live there) ---------
# Each refuses (ValidationError, in Dutch) while the record's parent is still in the bin; the
# audit listener writes the "restore" event. Listed by kind in ``admin.recycle_bin.KINDS``.

def restore_deleted_organisation(org, *, actor) -> None:
    """Restore from the bin; a KvK number now held by another organisation blocks it."""
    restore_organisation(org, actor=actor)


def restore_deleted_contact(contact, *, actor) -> None:
    """Restore a contact; its organisation must be restored first (no contact of a deleted one)."""
    restore_contact(contact, actor=actor)


def restore_deleted_interaction(interaction, *, actor) -> None:
    """Restore a contact moment (and the organisation's last contact date); organisation first."""
    restore_interaction(interaction, actor=actor)
    db.session.flush()


def restore_deleted_task(task, *, actor) -> None:
    """Restore a task; a task of a deleted organisation waits for that organisation."""
    restore_task(task, actor=actor)


def restore_deleted_lead(lead, *, actor) -> None:
    """Restore a lead; a lead about a deleted organisation waits for that organisation."""
    restore_lead(lead, actor=actor)


def restore_deleted_lead_comment(comment, *, actor) -> None:
    """Restore a comment on a lead; a comment on a deleted lead waits for the lead."""
    restore_comment(comment, actor=actor)


def restore_deleted_establishment(est, *, actor) -> None:
    restore_establishment(est, actor=actor)


def restore_deleted_cluster(cluster, *, actor) -> None:
    restore_cluster(cluster, actor=actor)


def restore_deleted_value_chain(chain, *, actor) -> None:
    """A chain of a deleted cluster waits for the cluster."""
    restore_value_chain(chain, actor=actor)


def restore_deleted_chain_role(role, *, actor) -> None:
    """A role waits for its organisation and its chain, and must not duplicate a live one."""
    restore_chain_role(role, actor=actor)


def restore_deleted_supply_link(link, *, actor) -> None:
    """A link waits for both organisations and its chain, and must not duplicate a live one."""
    restore_supply_link(link, actor=actor)


def restore_deleted_programme(programme, *, actor) -> None:
    restore_programme(programme, actor=actor)


def restore_deleted_participation(participation, *, actor) -> None:
    """A participation waits for its organisation and its programme."""
    _require_admin(actor)
    restore_participation(participation, actor=actor)
