"""Merging a duplicate organisation into the surviving one (issue 6; data-hub's company merge).

Everything that points at the merged record moves to the survivor, in the caller's one
transaction. This module moves the organisation's own records; the features above it move
theirs in a receiver of ``signals.organisations_merged`` (contacts, interactions and tasks, leads,
participations, cluster memberships, roles and supply links, import reviews), counting what they
move in ``result.moved`` and explaining clashes in ``result.notes``. In all: contacts,
interactions, tasks, leads, participations, establishments, SBI codes,
tags, the account team, cluster memberships, roles in chains, supply links, subsidiaries,
earlier merged records (so a chain A→B→C resolves in one step), import reviews and 'geen
dubbel' marks (a mark between the two themselves is dropped: they were one after all). What would
clash is resolved, never silently dropped: a duplicate is soft-deleted where it stood (on the
merged record) with the reason in its audit trail or notes. Its criticality assessments stay
with the merged record (its own history); the survivor is recomputed after the commit.

The merged record stays readable: ``merged_into_id`` points at the survivor, its detail page
says so, and its audit history is shown with the survivor's (``history_ids``) — the audit log
itself is never rewritten. Only admins and regional account managers merge: a merge changes
what every municipality sees and the programme counts (DESIGN 4.2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from ..audit.events import record
from ..db import utcnow
from ..extensions import db
from ..permissions import can_merge
from ..signals import organisation_changed, organisations_merged
from ..organisations.models import Organisation, OrganisationSbi
from .size import size_class
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ConflictError, ValidationError
from .dismissals import repoint_for_merge
from .queries import final_survivor  # noqa: F401  (re-exported for the duplicate views)
from .queries import with_merged_records
from .services import _audit_team, _member_label

# Fields the user may take from either record on the compare page; the address goes as a whole
# (a street from one record and a postcode from the other would be nobody's address).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("name",), "org_type": ("org_type",), "legal_form": ("legal_form",),
    "employees": ("employees",), "annual_turnover_eur": ("annual_turnover_eur",),
    "balance_sheet_total_eur": ("balance_sheet_total_eur",),
    "address": ("street", "postcode", "city", "municipality_code"),
    "website": ("website",), "phone": ("phone",), "email": ("email",),
    "description": ("description",), "status": ("status",),
}
CHUNK = 500
# Every column that points at an organisation, and so every one a merge handles, here or in a
# feature's receiver of ``organisations_merged`` (a test checks this against the models: a new
# reference must be handled before it can be merged).
HANDLED_REFERENCES = {
    ("contact", "organisation_id"), ("interaction", "organisation_id"),
    ("task", "organisation_id"), ("lead", "organisation_id"),
    ("participation", "organisation_id"), ("establishment", "organisation_id"),
    ("organisation_sbi", "organisation_id"), ("organisation_tag", "organisation_id"),
    ("account_team_member", "organisation_id"), ("organisation_cluster", "organisation_id"),
    ("chain_role", "organisation_id"), ("supply_link", "supplier_id"),
    ("supply_link", "customer_id"), ("organisation", "parent_id"),
    ("organisation", "merged_into_id"), ("import_review", "candidate_id"),
    ("import_review", "resolved_organisation_id"),
    ("duplicate_dismissal", "organisation_a_id"), ("duplicate_dismissal", "organisation_b_id"),
    ("criticality_assessment", "organisation_id"),  # kept: the merged record's own history
    ("account_team_request", "organisation_id"),
}


@dataclass
class MergeResult:
    survivor_id: int
    merged_id: int
    moved: Counter = field(default_factory=Counter)  # kind → number of records moved
    notes: list[str] = field(default_factory=list)  # Dutch: every clash and how it was resolved
    filled: list[str] = field(default_factory=list)  # field groups taken from the merged record


def history_ids(org_id: int) -> list[int]:
    """The organisation and every record merged into it (directly or through a chain): the
    ids whose audit events make up its history."""
    return sorted(with_merged_records({org_id}))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check(survivor: Organisation, merged: Organisation, actor, expected_versions, choices) -> None:
    if not can_merge(actor):
        raise PermissionDenied()
    if survivor.id == merged.id:
        raise ValidationError(_("Een organisatie kan niet met zichzelf worden samengevoegd."))
    for org in (survivor, merged):
        if org.deleted_at is not None:
            raise ValidationError(_("%(name)s is verwijderd; een beheerder kan haar eerst "
                                    "herstellen.", name=org.name))
        if org.merged_into_id is not None:
            raise ValidationError(_("%(name)s is al samengevoegd met een andere organisatie.",
                                    name=org.name))
    unknown = set(choices or {}) - set(FIELD_GROUPS)
    if unknown or any(v not in ("survivor", "merged") for v in (choices or {}).values()):
        raise ValidationError(_("Ongeldige keuze van gegevens."))
    if expected_versions is not None:
        check_version(survivor, expected_versions[0])
        check_version(merged, expected_versions[1])


def _lock(survivor: Organisation, merged: Organisation) -> None:
    """Both rows locked until the commit (PostgreSQL), then read afresh: two people merging the
    same record at once get one merge and one conflict."""
    if db.session.get_bind().dialect.name != "sqlite":
        ids = sorted((survivor.id, merged.id))
        db.session.execute(sa.select(Organisation.id).where(Organisation.id.in_(ids))
                           .order_by(Organisation.id).with_for_update())
        for org in (survivor, merged):
            db.session.refresh(org)


def takes_merged(group: str, survivor: Organisation, merged: Organisation) -> bool:
    """Without a choice, does the survivor take the merged record's value of ``group``? Only
    where it has none — for the address: no street and postcode, or the same postcode with a
    part missing (then only the missing parts are filled)."""
    mine = [getattr(survivor, f) for f in FIELD_GROUPS[group]]
    theirs = [getattr(merged, f) for f in FIELD_GROUPS[group]]
    if mine == theirs or all(_blank(v) for v in theirs):
        return False
    if all(_blank(v) for v in mine):
        return True
    if group != "address":
        return False
    if _blank(survivor.street) and _blank(survivor.postcode):
        return True
    return survivor.postcode == merged.postcode and any(
        _blank(m) and not _blank(t) for m, t in zip(mine, theirs))


def _fill_fields(survivor: Organisation, merged: Organisation, choices, result: MergeResult) -> None:
    """Take the merged record's values where the survivor has none, or where the user chose so."""
    for group, fields in FIELD_GROUPS.items():
        choice = (choices or {}).get(group)
        theirs = [getattr(merged, f) for f in fields]
        if choice == "merged" and [getattr(survivor, f) for f in fields] != theirs:
            for f, value in zip(fields, theirs):
                setattr(survivor, f, value)
            result.filled.append(group)
        elif choice is None and takes_merged(group, survivor, merged):
            # An address without street and postcode is replaced whole (its place may be
            # another's); otherwise only what is missing is filled in.
            whole = group == "address" and _blank(survivor.street) and _blank(survivor.postcode)
            for f, value in zip(fields, theirs):
                if whole or _blank(getattr(survivor, f)):
                    setattr(survivor, f, value)
            result.filled.append(group)
    if survivor.manual_critical is None and merged.manual_critical is not None:
        survivor.manual_critical = merged.manual_critical
        survivor.manual_critical_reason = merged.manual_critical_reason
        result.filled.append("manual_critical")
    survivor.size_class = size_class(survivor.employees, survivor.annual_turnover_eur,
                                     survivor.balance_sheet_total_eur)


def _take_kvk(survivor: Organisation, merged: Organisation, result: MergeResult) -> str | None:
    """A survivor without a KvK number takes the merged one (which must let go of it first: the
    number is unique). Returns the merged record's number as it was, for the audit."""
    old = merged.kvk_number
    if old and not survivor.kvk_number:
        merged.kvk_number = None
        db.session.flush()
        survivor.kvk_number = old
        result.filled.append("kvk_number")
    return old


def _ancestors(org: Organisation) -> set[int]:
    seen: set[int] = set()
    parent_id = org.parent_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = db.session.get(Organisation, parent_id)
        parent_id = parent.parent_id if parent is not None else None
    return seen


def _move_organisation_links(survivor: Organisation, merged: Organisation,
                             result: MergeResult) -> None:
    """Subsidiaries and earlier merged records of the merged record → the survivor."""
    if survivor.parent_id == merged.id:
        survivor.parent_id = merged.parent_id if merged.parent_id != survivor.id else None
    elif survivor.parent_id is None and merged.parent_id not in (None, survivor.id):
        survivor.parent_id = merged.parent_id
        result.filled.append("parent_id")
    pointing = db.session.scalars(sa.select(Organisation).where(
        sa.or_(Organisation.parent_id == merged.id, Organisation.merged_into_id == merged.id),
        Organisation.id != survivor.id)).all()
    for org in pointing:
        if org.merged_into_id == merged.id:
            org.merged_into_id = survivor.id
            result.moved["merged_records"] += 1
        if org.parent_id == merged.id:
            org.parent_id = survivor.id
            result.moved["subsidiaries"] += 1
    db.session.flush()
    ancestors = _ancestors(survivor)
    for org in pointing:
        if org.parent_id == survivor.id and org.id in ancestors:
            org.parent_id = None  # it stood above the survivor: a loop is nobody's group
            result.notes.append(_("%(name)s is niet als dochter van %(survivor)s gekoppeld: zij "
                                  "staat er al boven.", name=org.name, survivor=survivor.name))


def repoint_records(model, survivor: Organisation, merged: Organisation, result: MergeResult,
                    kind: str) -> None:
    """Move every ``model`` row of the merged record (deleted ones too) to the survivor, through
    the ORM so every record's own audit trail shows the move; in chunks, flushed as they go.
    For the features' receivers of ``organisations_merged`` (contacts, interactions, leads)."""
    ids = db.session.scalars(sa.select(model.id).where(model.organisation_id == merged.id)
                             .order_by(model.id)).all()
    for start in range(0, len(ids), CHUNK):
        for record in db.session.scalars(sa.select(model).where(
                model.id.in_(ids[start:start + CHUNK]))):
            record.organisation_id = survivor.id
        db.session.flush()
    result.moved[kind] += len(ids)


def _move_establishments(survivor: Organisation, merged: Organisation,
                         result: MergeResult) -> None:
    """All establishments move; the merged record's main one stays the main one only when the
    survivor has none and it lies at the survivor's address."""
    has_main = any(e.is_main and e.deleted_at is None for e in survivor.establishments)
    for est in list(merged.establishments):
        if est.is_main and (has_main or est.deleted_at is not None
                            or est.postcode != survivor.postcode):
            est.is_main = False
        has_main = has_main or est.is_main
        est.organisation = survivor
        result.moved["establishments"] += 1


def _move_sbi_and_tags(survivor: Organisation, merged: Organisation, result: MergeResult) -> None:
    before_sbi = [f"{s.code} ({s.version})" for s in survivor.sbi_codes]
    before_tags = [t.name for t in survivor.tags]
    merged_sbi = [f"{s.code} ({s.version})" for s in merged.sbi_codes]
    merged_tags = [t.name for t in merged.tags]
    have = {(s.code, s.version) for s in survivor.sbi_codes}
    has_main = any(s.is_main for s in survivor.sbi_codes)
    for sbi in merged.sbi_codes:
        if (sbi.code, sbi.version) in have:
            continue
        survivor.sbi_codes.append(OrganisationSbi(code=sbi.code, version=sbi.version,
                                                  is_main=sbi.is_main and not has_main))
        has_main = has_main or sbi.is_main
        result.moved["sbi_codes"] += 1
    for tag in merged.tags:
        if tag not in survivor.tags:
            survivor.tags.append(tag)
            result.moved["tags"] += 1
    merged.sbi_codes = []
    merged.tags = []
    extra_s, extra_m = {}, {}
    if merged_sbi:
        extra_s["sbi_codes"] = [before_sbi, [f"{s.code} ({s.version})" for s in survivor.sbi_codes]]
        extra_m["sbi_codes"] = [merged_sbi, []]
    if merged_tags:
        extra_s["tags"] = [before_tags, [t.name for t in survivor.tags]]
        extra_m["tags"] = [merged_tags, []]
    survivor._audit_extra, merged._audit_extra = extra_s, extra_m


def _move_team(survivor: Organisation, merged: Organisation, result: MergeResult,
               actor) -> None:
    """One strategic account manager per organisation, each user once. Every change is audited
    on the organisations as the team service does (``team_remove`` on the merged record,
    ``team_add`` or ``team_role`` on the survivor); a membership held twice is deleted
    explicitly, with its values in its own ``delete`` event."""
    members = {m.user_id: m for m in survivor.team}
    has_strategic = any(m.team_role == "strategic" for m in survivor.team)
    for member in list(merged.team):
        label, role = _member_label(member.user), member.team_role
        _audit_team(merged, "team_remove", {"member": [label, None], "team_role": [role, None]},
                    actor)
        existing = members.get(member.user_id)
        if existing is not None:
            if member.team_role == "strategic" and not has_strategic:
                _audit_team(survivor, "team_role", {"member": [label, label],
                                                    "team_role": [existing.team_role, "strategic"]},
                            actor)
                existing.team_role, has_strategic = "strategic", True
            merged.team.remove(member)  # the same person twice: one membership is enough
            member._audit_extra = {"organisation_id": [merged.id, None],
                                   "user_id": [member.user_id, None], "team_role": [role, None]}
            db.session.delete(member)  # explicitly: an orphan alone is unseen by the audit log
            result.notes.append(_("%(user)s stond in beide accountteams; één keer bewaard.",
                                  user=member.user.name))
            continue
        if member.team_role == "strategic":
            if has_strategic:
                member.team_role = "local"
                result.notes.append(_("%(user)s was strategisch accountmanager van %(merged)s en "
                                      "is nu lokaal accountmanager; %(survivor)s had er al een.",
                                      user=member.user.name, merged=merged.name,
                                      survivor=survivor.name))
            has_strategic = True
        merged.team.remove(member)
        survivor.team.append(member)
        _audit_team(survivor, "team_add", {"member": [None, label],
                                           "team_role": [None, member.team_role]}, actor)
        result.moved["account_team"] += 1
    db.session.flush()


def move_dismissals(survivor: Organisation, merged: Organisation, result: MergeResult,
                    actor) -> None:
    """'Geen dubbel' marks on the merged record go to the survivor (see dismissals.py)."""
    moved, dropped, self_pairs = repoint_for_merge(survivor, merged, actor)
    if moved:
        result.moved["dismissals"] += moved
    if dropped:
        result.moved["dropped_dismissals"] += dropped
    for name in self_pairs:
        result.notes.append(_("%(merged)s en %(survivor)s waren gemarkeerd als geen dubbel; die "
                              "markering is vervallen.", merged=name, survivor=survivor.name))


def _move_join_requests(survivor: Organisation, merged: Organisation,
                        result: MergeResult) -> None:
    """Requests to join the merged record's team now ask for the survivor's. An open request of
    someone already in the survivor's team, or already asking there, is withdrawn (one open
    request per person and organisation), with the reason."""
    from .models import AccountTeamRequest, JoinRequestStatus

    requests = list(db.session.scalars(
        sa.select(AccountTeamRequest).where(AccountTeamRequest.organisation_id == merged.id)))
    if not requests:
        return
    members = {m.user_id for m in survivor.team}
    asking = set(db.session.scalars(
        sa.select(AccountTeamRequest.user_id).where(
            AccountTeamRequest.organisation_id == survivor.id,
            AccountTeamRequest.status == JoinRequestStatus.OPEN)))
    for request in requests:
        if request.status == JoinRequestStatus.OPEN:
            if request.user_id in members or request.user_id in asking:
                request.status = JoinRequestStatus.WITHDRAWN
                request.decided_at = utcnow()
                request.decision_reason = _("Samengevoegd met %(survivor)s.", survivor=survivor.name)
            else:
                asking.add(request.user_id)
        request.organisation_id = survivor.id
        result.moved["join_requests"] += 1
    db.session.flush()


def _audit_merge(survivor: Organisation, merged: Organisation, old_kvk, result: MergeResult,
                 actor) -> None:
    """A "merge" event on both records, next to the field-level "update" events."""
    moved = dict(sorted(result.moved.items()))
    record("merge", "organisation", survivor.id, user=actor,
           changes={"merged_from": [None, f"#{merged.id} {merged.name}"],
                    "moved": [None, moved], "notes": [None, result.notes]})
    record("merge", "organisation", merged.id, user=actor,
           changes={"merged_into_id": [None, survivor.id],
                    "kvk_number": [old_kvk, merged.kvk_number]})


def merge_organisations(survivor: Organisation, merged: Organisation, *, actor,
                        expected_versions: tuple | None = None,
                        choices: Mapping[str, str] | None = None) -> MergeResult:
    """Merge ``merged`` into ``survivor`` (see the module docstring); flushes, the caller commits.

    ``expected_versions``: the (survivor, merged) versions the user saw (ConflictError when
    either changed). ``choices``: field group → "survivor" or "merged" (FIELD_GROUPS); a group
    not chosen takes the merged record's value only where the survivor has none.
    Raises PermissionDenied, ValidationError (itself, deleted, already merged), ConflictError.
    """
    _check(survivor, merged, actor, expected_versions, choices)
    _lock(survivor, merged)
    _check(survivor, merged, actor, expected_versions, choices)  # as it is now, under the lock
    result = MergeResult(survivor.id, merged.id)
    try:
        with db.session.no_autoflush:
            _fill_fields(survivor, merged, choices, result)
        old_kvk = _take_kvk(survivor, merged, result)
        _move_organisation_links(survivor, merged, result)
        _move_establishments(survivor, merged, result)
        _move_sbi_and_tags(survivor, merged, result)
        _move_team(survivor, merged, result, actor)
        _move_join_requests(survivor, merged, result)
        # Contacts, interactions, tasks, leads, participations, the supply network and import
        # reviews: each feature moves its own records (their receivers of this signal).
        organisations_merged.send(survivor, merged=merged, result=result, actor=actor)
        move_dismissals(survivor, merged, result, actor)
        merged.merged_into_id = survivor.id
        survivor.updated_at = utcnow()  # its version rises: a compare page open elsewhere is stale
        db.session.flush()
    except StaleDataError:
        raise ConflictError() from None
    _audit_merge(survivor, merged, old_kvk, result, actor)
    db.session.flush()
    organisation_changed.send(survivor.id, reason="merge")
    return result
