"""Administrator actions: managing users and their tokens, restoring soft-deleted records.

Services flush; the view commits once. Each raises ``ValidationError`` with a Dutch message
when the action would do harm (an admin locking themselves out, an orphaned contact).
"""

from __future__ import annotations

from flask_babel import gettext as _

from ..auth.models import Role, User
from ..auth.services import create_token, revoke_tokens, update_user
from ..contacts.services import restore_contact
from ..extensions import db
from ..interactions.services import restore_interaction
from ..organisations.services import restore_organisation
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
                       active=active, password=password or None)


def deactivate_user(user: User, *, actor) -> int:
    """Deactivate a user and revoke their API tokens; returns the number of tokens revoked."""
    _require_admin(actor)
    if user.id == actor.id:
        raise ValidationError(_("U kunt uw eigen account niet deactiveren."))
    n = revoke_tokens(user)
    user.active = False
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


def restore_deleted_organisation(org, *, actor) -> None:
    """Restore from the bin; a KvK number now held by another organisation blocks it."""
    restore_organisation(org, actor=actor)


def restore_deleted_contact(contact, *, actor) -> None:
    """Restore a contact; its organisation must be restored first (no contact of a deleted one)."""
    _require_admin(actor)
    if contact.organisation is not None and contact.organisation.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze contactpersoon hoort "
                                "daarbij.", name=contact.organisation.name))
    restore_contact(contact, actor=actor)



def _deleted_organisation(record):
    """The record's organisation if that is still in the bin, else None."""
    org = record.organisation
    return org if org is not None and org.deleted_at is not None else None


def restore_deleted_interaction(interaction, *, actor) -> None:
    """Restore a contact moment (and the organisation's last contact date); organisation first."""
    _require_admin(actor)
    if (org := _deleted_organisation(interaction)) is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; dit contactmoment hoort "
                                "daarbij.", name=org.name))
    restore_interaction(interaction, actor=actor)
    db.session.flush()


def restore_deleted_task(task, *, actor) -> None:
    """Restore a task; a task of a deleted organisation waits for that organisation."""
    _require_admin(actor)
    if (org := _deleted_organisation(task)) is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze taak hoort daarbij.",
                                name=org.name))
    task.deleted_at = None
    task.deleted_by_id = None
    db.session.flush()


def restore_deleted_lead(lead, *, actor) -> None:
    """Restore a lead; a lead about a deleted organisation waits for that organisation."""
    _require_admin(actor)
    if (org := _deleted_organisation(lead)) is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze lead hoort daarbij.",
                                name=org.name))
    lead.deleted_at = None
    lead.deleted_by_id = None
    db.session.flush()
