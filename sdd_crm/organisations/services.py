"""Business rules for organisations: validation, normalisation, size class, create/update/delete.

Called alike by the HTML views, the API, the CLI and jobs. Services flush; the caller commits.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import normalise, numbers
from ..audit.events import record
from ..db import utcnow
from ..extensions import db
from ..permissions import can_create_organisation
from .permissions import can_edit_organisation, can_manage_account_team, is_in_account_team
from .size import size_class
from ..reference.models import Municipality, Place
from ..signals import organisation_changed
from ..validation import has_control_characters
from ..exceptions import PermissionDenied, ValidationError, check_version
from .models import (
    AccountTeamMember,
    Establishment,
    Organisation,
    OrganisationSbi,
    OrgStatus,
    OrgType,
    Tag,
    TeamRole,
)


# Field name → maximum length, checked here so SQLite refuses what PostgreSQL would (DESIGN 6).
MAX_LENGTHS = {
    "name": 200, "legal_form": 100, "street": 200, "city": 100, "website": 255,
    "email": 254, "description": 5000,
}
TEXT_FIELDS = ("name", "legal_form", "street", "city", "description")
MULTILINE_FIELDS = ("description",)  # tab and line breaks are text there, not in a name
MAX_EMPLOYEES = 10_000_000
MAX_AMOUNT = decimal.Decimal("9999999999999.99")  # Numeric(15, 2)
EDITABLE_FIELDS = (
    "name", "org_type", "kvk_number", "establishment_number", "legal_form", "sbi_codes",
    "employees", "annual_turnover_eur", "balance_sheet_total_eur", "street", "postcode",
    "city", "municipality", "website", "phone", "email", "description", "parent_id",
    "status", "tags",
)


def municipality_for_place(place: str | None) -> str | None:
    """The CBS code of the municipality a place (woonplaats) lies in, or None."""
    if not place:
        return None
    return db.session.scalar(
        sa.select(Place.municipality_code).where(sa.func.lower(Place.name) == place.strip().lower())
    )


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _int(value, field, errors, *, minimum=0, maximum=MAX_EMPLOYEES):
    """A whole number typed in Dutch (``1.250`` = 1250; ``12.5`` and ``12,5`` refused)."""
    if _blank(value):
        return None
    try:
        return numbers.parse_integer(value, minimum=minimum, maximum=maximum)
    except numbers.NumberError as exc:
        errors[field] = exc.message
        return None


def _amount(value, field, errors):
    """An amount in euros typed in Dutch (``€ 1.250.000,-``) or as ``1250000.50``."""
    if _blank(value):
        return None
    try:
        return numbers.parse_amount(value, maximum=MAX_AMOUNT)
    except numbers.NumberError as exc:
        errors[field] = exc.message
        return None


def clean_organisation_data(data: Mapping[str, Any], *, organisation: Organisation | None = None,
                            partial: bool = False) -> dict[str, Any]:
    """Validate and normalise organisation input; raises ValidationError with Dutch messages.

    ``partial``: only the keys present are checked (PATCH); otherwise every field is taken.
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    unknown = set(data) - set(EDITABLE_FIELDS) - {"version"}
    if unknown:
        for key in sorted(unknown):
            errors[key] = _("Onbekend veld.")

    def present(key):
        return (key in data) if partial else True

    for key in TEXT_FIELDS:
        if present(key):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                errors[key] = _("Vul tekst in.")
                continue
            value = (value or "").strip() or None
            if value and has_control_characters(value, multiline=key in MULTILINE_FIELDS):
                errors[key] = _("De tekst bevat ongeldige tekens.")
                continue
            if value and len(value) > MAX_LENGTHS[key]:
                errors[key] = _("Hoogstens %(n)s tekens.", n=MAX_LENGTHS[key])
                continue
            out[key] = value
    if present("name") and not out.get("name") and "name" not in errors:
        errors["name"] = _("Vul de naam van de organisatie in.")

    if present("org_type"):
        value = data.get("org_type") or OrgType.COMPANY
        if value not in {t.value for t in OrgType}:
            errors["org_type"] = _("Kies een geldig type organisatie.")
        out["org_type"] = value
    if present("status"):
        value = data.get("status") or OrgStatus.ACTIVE
        if value not in {s.value for s in OrgStatus}:
            errors["status"] = _("Kies een geldige status.")
        out["status"] = value

    normalisers = {
        "kvk_number": normalise.kvk_number,
        "establishment_number": normalise.establishment_number,
        "postcode": normalise.postcode,
        "phone": normalise.phone,
        "email": normalise.email,
        "website": normalise.website,
    }
    for key, fn in normalisers.items():
        if present(key):
            value = data.get(key)
            if _blank(value):
                out[key] = None
                continue
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                errors[key] = _("Vul tekst in.")
                continue
            if has_control_characters(value, multiline=False):
                errors[key] = _("De tekst bevat ongeldige tekens.")
                continue
            if len(str(value)) > MAX_LENGTHS.get(key, 100):
                errors[key] = _("Hoogstens %(n)s tekens.", n=MAX_LENGTHS.get(key, 100))
                continue
            try:
                out[key] = fn(str(value))
            except ValueError as e:
                errors[key] = str(e)

    if present("employees"):
        out["employees"] = _int(data.get("employees"), "employees", errors)
    for key in ("annual_turnover_eur", "balance_sheet_total_eur"):
        if present(key):
            out[key] = _amount(data.get(key), key, errors)

    if present("municipality"):
        code = data.get("municipality")
        if _blank(code):
            out["municipality_code"] = None
        elif (not isinstance(code, str) or has_control_characters(code)
              or db.session.get(Municipality, code.strip().upper()) is None):
            errors["municipality"] = _("Onbekende gemeente; gebruik de CBS-code, zoals GM0505.")
        else:
            out["municipality_code"] = code.strip().upper()

    if present("parent_id"):
        parent_id = data.get("parent_id")
        if _blank(parent_id):
            out["parent_id"] = None
        else:
            try:
                parent_id = int(parent_id)
            except (TypeError, ValueError):
                errors["parent_id"] = _("Kies een bestaande organisatie.")
            else:
                # Outside the database's integer range no record exists (and the driver refuses).
                parent = db.session.get(Organisation, parent_id) if 0 < parent_id <= 2**31 - 1 \
                    else None
                if parent is None or parent.deleted_at is not None:
                    errors["parent_id"] = _("Kies een bestaande organisatie.")
                elif organisation is not None and _would_cycle(organisation.id, parent):
                    errors["parent_id"] = _("Een organisatie kan niet onder zichzelf vallen.")
                else:
                    out["parent_id"] = parent_id

    if present("sbi_codes"):
        codes = data.get("sbi_codes") or []
        if isinstance(codes, str):
            codes = [c for c in codes.replace(";", ",").split(",") if c.strip()]
        if not isinstance(codes, list) or len(codes) > 20:
            errors["sbi_codes"] = _("Geef een lijst van hoogstens 20 SBI-codes.")
        else:
            parsed = []
            for item in codes:
                try:
                    if isinstance(item, Mapping):
                        code, version = normalise.sbi_code(item.get("code"))
                        version = str(item.get("version") or version)
                        if version not in ("2008", "2025"):
                            raise ValueError(_("SBI-versie is 2008 of 2025."))
                    else:
                        code, version = normalise.sbi_code(item)
                except ValueError as e:
                    errors["sbi_codes"] = str(e)
                    break
                if (code, version) not in parsed:
                    parsed.append((code, version))
            out["sbi_codes"] = parsed

    if present("tags"):
        tags = data.get("tags") or []
        if isinstance(tags, str):
            tags = [t for t in tags.split(",")]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = _("Geef een lijst met labels.")
        elif any(has_control_characters(t, multiline=False) for t in tags):
            errors["tags"] = _("De tekst bevat ongeldige tekens.")
        else:
            tags = sorted({t.strip() for t in tags if t.strip()})
            if any(len(t) > 60 for t in tags) or len(tags) > 30:
                errors["tags"] = _("Hoogstens 30 labels van elk hoogstens 60 tekens.")
            out["tags"] = tags

    # The municipality follows from the place when it is not given (DESIGN 4.5).
    if "municipality" not in errors and not out.get("municipality_code") and "city" in out:
        out["municipality_code"] = municipality_for_place(out["city"])

    if "kvk_number" in out and out["kvk_number"] and "kvk_number" not in errors:
        existing = db.session.scalar(
            sa.select(Organisation).where(Organisation.kvk_number == out["kvk_number"])
        )
        if existing is not None and existing is not organisation:
            if existing.deleted_at is not None:
                errors["kvk_number"] = _(
                    "Dit KvK-nummer hoort bij een verwijderde organisatie (%(name)s); een beheerder kan die herstellen.",
                    name=existing.name)
            else:
                errors["kvk_number"] = _("Dit KvK-nummer is al geregistreerd (%(name)s).", name=existing.name)
    if out.get("establishment_number") and "establishment_number" not in errors:
        existing = db.session.scalar(
            sa.select(Establishment).where(
                Establishment.establishment_number == out["establishment_number"])
        )
        if existing is not None and (organisation is None or existing.organisation_id != organisation.id):
            errors["establishment_number"] = _("Dit vestigingsnummer is al geregistreerd.")

    if errors:
        raise ValidationError(errors)
    return out


def _would_cycle(org_id: int, parent: Organisation) -> bool:
    seen = set()
    node = parent
    while node is not None and node.id not in seen:
        if node.id == org_id:
            return True
        seen.add(node.id)
        node = node.parent
    return False


def _apply(org: Organisation, clean: dict[str, Any]) -> None:
    # No autoflush: a half-applied organisation must not be flushed by the tag lookup
    # (that would bump its version twice and write a spurious audit event).
    with db.session.no_autoflush:
        for key, value in clean.items():
            if key in ("sbi_codes", "tags", "establishment_number"):
                continue
            setattr(org, key, value)
        extra: dict[str, list] = {}
        if "sbi_codes" in clean:
            before = [f"{s.code} ({s.version})" for s in org.sbi_codes]
            wanted = clean["sbi_codes"]
            current = {(s.code, s.version): s for s in org.sbi_codes}
            org.sbi_codes = [
                current.get((code, version)) or OrganisationSbi(code=code, version=version)
                for code, version in wanted
            ]
            for i, s in enumerate(org.sbi_codes):
                s.is_main = i == 0
            after = [f"{code} ({version})" for code, version in wanted]
            if before != after:
                extra["sbi_codes"] = [before, after]
        if "tags" in clean:
            before = [t.name for t in org.tags]
            org.tags = [_get_or_create_tag(name) for name in clean["tags"]]
            after = [t.name for t in org.tags]
            if sorted(before) != sorted(after):
                extra["tags"] = [before, after]
        org.size_class = size_class(org.employees, org.annual_turnover_eur, org.balance_sheet_total_eur)
        if "establishment_number" in clean:
            _set_main_establishment(org, clean["establishment_number"])
        else:
            main = main_establishment(org)
            if main is not None:
                _copy_address(org, main)
        if extra and org.id is not None:
            # Collections are not columns: touch the row so its version rises (stale edits are
            # caught) and hand the audit log what changed.
            org.updated_at = utcnow()
            org._audit_extra = extra


def _get_or_create_tag(name: str) -> Tag:
    tag = db.session.scalar(sa.select(Tag).where(sa.func.lower(Tag.name) == name.lower()))
    if tag is None:  # created earlier in this transaction but not flushed yet?
        tag = next((t for t in db.session.new
                    if isinstance(t, Tag) and t.name.lower() == name.lower()), None)
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def main_establishment(org: Organisation) -> Establishment | None:
    for est in org.establishments:
        if est.is_main and est.deleted_at is None:
            return est
    return None


def _copy_address(org: Organisation, est: Establishment) -> None:
    est.street, est.postcode, est.city = org.street, org.postcode, org.city
    est.municipality_code = org.municipality_code


def _set_main_establishment(org: Organisation, number: str | None) -> None:
    main = main_establishment(org)
    if number is None:
        if main is not None:
            main.establishment_number = None
            _copy_address(org, main)
        return
    existing = next((e for e in org.establishments if e.establishment_number == number), None)
    if existing is not None and existing is not main:
        if main is not None:
            main.is_main = False
        existing.is_main = True
        _copy_address(org, existing)
        return
    if main is None:
        main = Establishment(is_main=True, organisation=org)
        db.session.add(main)
    main.establishment_number = number
    _copy_address(org, main)


def create_organisation(data: Mapping[str, Any], *, actor, source: str | None = None) -> Organisation:
    """Create an organisation; raises ValidationError or PermissionDenied.

    ``source`` records where the data came from (an import, a user); people cannot set it."""
    clean = clean_organisation_data(data)
    if actor.role == "local_account_manager" and not clean.get("municipality_code"):
        # Without a municipality it would not be theirs: they could not edit it afterwards.
        raise ValidationError({"municipality": _(
            "Kies uw gemeente (of vul een plaats in uw gemeente in): u kunt alleen organisaties "
            "in uw eigen gemeente toevoegen.")})
    if not can_create_organisation(actor, clean.get("municipality_code")):
        if actor.role == "local_account_manager":
            raise ValidationError({"municipality": _(
                "U kunt alleen organisaties in uw eigen gemeente toevoegen.")})
        raise PermissionDenied()
    org = Organisation(source=(source or f"gebruiker:{actor.email}")[:200])
    db.session.add(org)
    _apply(org, clean)
    db.session.flush()
    return org


# What the criticality engine reads from an organisation (DESIGN 4.3: employment share, and
# whether it is live); a change is announced (``organisation_changed``: the value chains schedule
# a recompute after the commit). A new organisation is not: it has no links or roles yet (adding
# them schedules one), and an import announces one change for the whole batch.
CRITICALITY_INPUTS = ("employees", "status", "municipality_code", "org_type")


def update_organisation(org: Organisation, data: Mapping[str, Any], *, actor,
                        expected_version=None, partial: bool = False) -> Organisation:
    """Update an organisation the actor may edit, refusing a stale version (409)."""
    if not can_edit_organisation(actor, org):
        raise PermissionDenied()
    check_version(org, expected_version)
    if org.merged_into_id is not None:
        raise ValidationError({"_": _("Deze organisatie is samengevoegd met een andere; wijzig "
                                      "die.")})
    clean = clean_organisation_data(data, organisation=org, partial=partial)
    if (
        actor.role == "local_account_manager"
        and "municipality_code" in clean
        and clean["municipality_code"] != org.municipality_code
        and clean["municipality_code"] != actor.municipality_code
        and not is_in_account_team(actor, org.id)
    ):
        raise ValidationError({"municipality": _(
            "U kunt een organisatie niet naar een andere gemeente verplaatsen.")})
    before = [getattr(org, key) for key in CRITICALITY_INPUTS]
    _apply(org, clean)
    db.session.flush()
    if before != [getattr(org, key) for key in CRITICALITY_INPUTS]:
        organisation_changed.send(org.id, reason="organisation")
    return org


def delete_organisation(org: Organisation, *, actor, expected_version=None) -> None:
    """Soft delete: hidden everywhere, restorable by an admin."""
    if not can_edit_organisation(actor, org):
        raise PermissionDenied()
    check_version(org, expected_version)
    org.deleted_at = utcnow()
    org.deleted_by_id = actor.id
    db.session.flush()
    organisation_changed.send(org.id, reason="organisation_deleted")


def restore_organisation(org: Organisation, *, actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied()
    if org.kvk_number:
        clash = db.session.scalar(sa.select(Organisation.id).where(
            Organisation.kvk_number == org.kvk_number, Organisation.id != org.id,
            Organisation.deleted_at.is_(None)))
        if clash:
            raise ValidationError(_("Een andere organisatie heeft dit KvK-nummer inmiddels."))
    org.deleted_at = None
    org.deleted_by_id = None
    db.session.flush()
    organisation_changed.send(org.id, reason="organisation_restored")


def restore_establishment(est: Establishment, *, actor) -> None:
    """An admin takes an establishment out of the bin; one of a deleted organisation waits for
    it. A main establishment comes back as a side one when the organisation has another main."""
    if not actor.is_admin:
        raise PermissionDenied()
    org = est.organisation
    if org.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze vestiging hoort "
                                "daarbij.", name=org.name))
    if est.is_main and any(e.is_main and e.deleted_at is None and e.id != est.id
                           for e in org.establishments):
        est.is_main = False
    est.deleted_at = None
    est.deleted_by_id = None
    db.session.flush()


def _member_label(user) -> str:
    return f"{user.name} (#{user.id})"


def _audit_team(org: Organisation, action: str, changes: dict, actor) -> None:
    """An account-team change recorded on the organisation itself (DESIGN 4.4), so it shows in
    the organisation's history next to its field changes. The session listener still writes
    the member row's own create/update/delete event."""
    record(action, "organisation", org.id, changes=changes, user=actor)


def set_account_team_member(org: Organisation, user, team_role: str, *, actor) -> AccountTeamMember:
    """Add a user to the account team or change their role; only admins and the organisation's
    current strategic account manager may (DESIGN 4.4), anyone else gets PermissionDenied.

    Making someone else the strategic manager is a hand-over: the previous strategic manager is
    not removed but stays in the team as a local account manager (removing them is a separate,
    explicit step), and one ``team_handover`` event on the organisation records it (previous →
    new). An addition is a ``team_add`` event, a role change a ``team_role`` event, each with the
    member (name and id) and the role before → after.
    """
    if not can_manage_account_team(actor, org):
        raise PermissionDenied()
    if org.merged_into_id is not None:
        raise ValidationError({"_": _("Deze organisatie is samengevoegd met een andere; wijzig "
                                      "die.")})
    if team_role not in {r.value for r in TeamRole}:
        raise ValidationError({"team_role": _("Kies een geldige rol in het accountteam.")})
    if team_role == TeamRole.STRATEGIC and user.role not in ("regional_account_manager", "admin"):
        raise ValidationError({"user_id": _(
            "De strategisch accountmanager is een regionaal accountmanager.")})
    if team_role == TeamRole.LOCAL and user.role not in ("local_account_manager", "regional_account_manager", "admin"):
        raise ValidationError({"user_id": _("Kies een accountmanager.")})
    member = next((m for m in org.team if m.user_id == user.id), None)
    before_role = member.team_role if member is not None else None
    if before_role == team_role:
        return member
    previous = None
    if team_role == TeamRole.STRATEGIC:
        previous = next((m for m in org.team
                         if m.team_role == TeamRole.STRATEGIC and m.user_id != user.id), None)
        if previous is not None:
            previous.team_role = TeamRole.LOCAL.value
            db.session.flush()  # one strategic manager at a time (unique index)
    if member is None:
        member = AccountTeamMember(user_id=user.id, team_role=team_role)
        org.team.append(member)
    else:
        member.team_role = team_role
    if previous is not None:
        _audit_team(org, "team_handover", {
            "strategic_manager": [_member_label(previous.user), _member_label(user)],
            "previous_manager_role": [TeamRole.STRATEGIC.value, TeamRole.LOCAL.value],
            "new_manager_role": [before_role, team_role],
        }, actor)
    elif before_role is None:
        _audit_team(org, "team_add", {"member": [None, _member_label(user)],
                                      "team_role": [None, team_role]}, actor)
    else:
        _audit_team(org, "team_role", {"member": [_member_label(user), _member_label(user)],
                                       "team_role": [before_role, team_role]}, actor)
    db.session.flush()
    return member


def remove_account_team_member(org: Organisation, member_id: int, *, actor) -> None:
    """Remove a member; only admins and the current strategic manager may (PermissionDenied
    otherwise). Audited on the organisation as ``team_remove`` (member, role before → none)."""
    if not can_manage_account_team(actor, org):
        raise PermissionDenied()
    member = next((m for m in org.team if m.id == member_id), None)
    if member is None:
        raise ValidationError(_("Dit teamlid bestaat niet."))
    _audit_team(org, "team_remove", {"member": [_member_label(member.user), None],
                                     "team_role": [member.team_role, None]}, actor)
    member._audit_extra = {"organisation_id": [org.id, None], "user_id": [member.user_id, None],
                           "team_role": [member.team_role, None]}
    org.team.remove(member)
    db.session.delete(member)  # explicitly: an orphan alone is deleted unseen by the audit log
    db.session.flush()
