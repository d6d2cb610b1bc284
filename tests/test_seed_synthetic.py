"""``flask seed synthetic``: a large realistic data set in bulk (issue 12, point 1), here small."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth.models import User
from sdd_crm.contacts.models import Contact
from sdd_crm.extensions import db
from sdd_crm.interactions.models import (
    Interaction,
    InteractionTopic,
    Task,
    interaction_contact,
    interaction_user,
)
from sdd_crm.jobs.models import Job
from sdd_crm.leads.models import Lead, LeadEvent
from sdd_crm.organisations.models import (
    AccountTeamMember,
    Establishment,
    Organisation,
    OrganisationSbi,
)
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme
from sdd_crm.seeds.synthetic import SYNTHETIC_PASSWORD, SYNTHETIC_USERS, synthetic_email
from sdd_crm.valuechains.models import (
    ChainRole,
    CriticalityAssessment,
    OrganisationCluster,
    SupplyLink,
    ValueChain,
    ValueChainStage,
)

N_ORGS, N_INTERACTIONS = 300, 3000


def scalar(stmt):
    return db.session.scalar(stmt)


def count(model_or_table, *where) -> int:
    return scalar(sa.select(sa.func.count()).select_from(model_or_table).where(*where)) or 0


def test_seed_synthetic_builds_every_kind_in_bulk_and_only_once(app, runner, login, make_org):
    audit_before = count(AuditEvent)
    result = runner.invoke(args=["seed", "synthetic", "--organisations", str(N_ORGS),
                                 "--interactions", str(N_INTERACTIONS), "--seed", "7"])
    assert result.exit_code == 0, result.output
    # Counts and elapsed seconds per phase, users and their password printed at the end.
    assert "organisations" in result.output and " s" in result.output
    assert SYNTHETIC_PASSWORD in result.output
    for key, _role, _m in SYNTHETIC_USERS:
        assert synthetic_email(key) in result.output

    _assert_counts()
    _assert_distributions()
    _assert_references_hold()
    _assert_last_contact_kept()
    # Bulk inserts bypass the audit listeners: no per-row history for synthetic data.
    assert count(AuditEvent) - audit_before < 50

    _assert_pages_open(app, login)

    # A second run refuses: the database already holds organisations.
    again = runner.invoke(args=["seed", "synthetic", "--organisations", "10", "--interactions", "10"])
    assert again.exit_code != 0
    assert f"al {N_ORGS} organisaties" in again.output
    assert count(Organisation) == N_ORGS
    # The ids handed out afterwards follow on (PostgreSQL: the sequences were moved past them).
    assert make_org(name="Na de synthetische gegevens B.V.").id > N_ORGS


def _assert_counts():
    assert count(Organisation) == N_ORGS
    assert count(Interaction) == N_INTERACTIONS
    roles = {u.role for u in db.session.scalars(
        sa.select(User).where(User.email.like("%@synthetisch.sdd-crm.nl")))}
    assert roles == {"admin", "regional_account_manager", "local_account_manager",
                     "business_developer", "viewer"}
    for model in (Establishment, OrganisationSbi, OrganisationCluster, Contact, AccountTeamMember,
                  InteractionTopic, interaction_contact, interaction_user, Task, Lead, LeadEvent,
                  ValueChain, ValueChainStage, ChainRole, SupplyLink, Participation,
                  ParticipationEvent, Job, CriticalityAssessment):
        assert count(model) > 0, model
    assert N_ORGS <= count(Contact) <= 3 * N_ORGS
    # Jobs history: finished and failed, plus the recompute the command ran.
    statuses = set(db.session.scalars(sa.select(Job.status)))
    assert {"finished", "failed"} <= statuses


def _assert_distributions():
    by_municipality = Counter(db.session.scalars(sa.select(Organisation.municipality_code)))
    assert len(by_municipality) >= 7
    assert max(by_municipality.values()) < 0.6 * N_ORGS
    assert {"GM0512", "GM1978"} & set(by_municipality)  # a few outside the Drechtsteden

    kvk = list(db.session.scalars(sa.select(Organisation.kvk_number)))
    assert len(set(kvk)) == N_ORGS and all(len(k) == 8 and k.isdigit() for k in kvk)

    confidential = count(Interaction, Interaction.confidential.is_(True))
    assert 0.02 * N_INTERACTIONS < confidential < 0.10 * N_INTERACTIONS

    per_org = sorted(db.session.execute(sa.select(sa.func.count()).select_from(Interaction)
                                        .group_by(Interaction.organisation_id)).scalars(), reverse=True)
    assert per_org[0] > 10 * (N_INTERACTIONS / N_ORGS)  # some organisations have very many
    median = per_org[len(per_org) // 2]
    assert median < N_INTERACTIONS / N_ORGS  # most have few
    assert count(Organisation, Organisation.last_contact_on.is_(None)) > 0  # and some none

    assert count(Contact, Contact.objection.is_(True)) > 0
    assert count(Contact, Contact.lawful_basis == "consent") > 0
    task_statuses = set(db.session.scalars(sa.select(Task.status)))
    assert {"open", "done"} <= task_statuses
    assert count(Task, Task.status == "open", Task.due_date < sa.func.current_date()) > 0

    assert set(db.session.scalars(sa.select(Lead.shared_with))) == {"municipality", "regional_team", "user"}
    assert len(set(db.session.scalars(sa.select(Lead.from_municipality_code)))) >= 4

    # The regional manager the issue benchmarks as has about 200 accounts.
    regional = scalar(sa.select(User).where(User.email == synthetic_email("regionaal")))
    accounts = count(AccountTeamMember, AccountTeamMember.user_id == regional.id)
    assert accounts == 200
    scale = scalar(sa.select(Programme).where(Programme.code == "scale"))
    assert count(Participation, Participation.programme_id == scale.id) > 0
    assert count(SupplyLink, SupplyLink.sole_source.is_(True)) > 0
    assert set(db.session.scalars(sa.select(ChainRole.role))) >= {"oem", "tier1", "tier2"}


def _assert_references_hold():
    """Foreign keys hold (SQLite enforces them too, but checked here for both databases)."""
    O = Organisation
    orphans = [
        count(Contact, ~Contact.organisation_id.in_(sa.select(O.id))),
        count(Interaction, ~Interaction.organisation_id.in_(sa.select(O.id))),
        count(Interaction, ~Interaction.author_id.in_(sa.select(User.id))),
        count(interaction_contact, ~interaction_contact.c.contact_id.in_(sa.select(Contact.id))),
        count(interaction_contact, ~interaction_contact.c.interaction_id.in_(sa.select(Interaction.id))),
        count(interaction_user, ~interaction_user.c.user_id.in_(sa.select(User.id))),
        count(Task, ~Task.interaction_id.in_(sa.select(Interaction.id))),
        count(SupplyLink, ~SupplyLink.supplier_id.in_(sa.select(O.id))),
        count(ChainRole, ~ChainRole.stage_id.in_(sa.select(ValueChainStage.id))),
        count(Participation, ~Participation.organisation_id.in_(sa.select(O.id))),
        count(LeadEvent, ~LeadEvent.lead_id.in_(sa.select(Lead.id))),
    ]
    assert orphans == [0] * len(orphans)
    # A contact moment's people belong to its organisation.
    mismatched = scalar(sa.select(sa.func.count()).select_from(interaction_contact)
                        .join(Interaction, Interaction.id == interaction_contact.c.interaction_id)
                        .join(Contact, Contact.id == interaction_contact.c.contact_id)
                        .where(Contact.organisation_id != Interaction.organisation_id))
    assert mismatched == 0


def _assert_last_contact_kept():
    latest = dict(db.session.execute(
        sa.select(Interaction.organisation_id, sa.func.max(Interaction.date))
        .where(Interaction.deleted_at.is_(None)).group_by(Interaction.organisation_id)).all())
    kept = dict(db.session.execute(sa.select(Organisation.id, Organisation.last_contact_on)).all())
    assert {k: v for k, v in kept.items() if v is not None} == latest


def _assert_pages_open(app, login):
    regional = scalar(sa.select(User).where(User.email == synthetic_email("regionaal")))
    local = scalar(sa.select(User).where(User.email == synthetic_email("lokaal.dordrecht")))
    org_id = scalar(sa.select(Interaction.organisation_id).group_by(Interaction.organisation_id)
                    .order_by(sa.func.count().desc()).limit(1))
    local_org = scalar(sa.select(Organisation.id).where(Organisation.municipality_code == "GM0505")
                       .limit(1))
    for user, org in ((regional, org_id), (local, local_org)):
        client = app.test_client()
        login(user, password=SYNTHETIC_PASSWORD, c=client)
        for url in ("/", "/organisations/", "/interactions/", "/accounts/", "/tasks/", "/leads/",
                    "/programmes/", "/chains/critical", f"/organisations/{org}"):
            resp = client.get(url)
            assert resp.status_code == 200, (user.email, url, resp.status_code)
