"""A region of size ``n`` for the statement-count pins (tests/test_statement_counts.py).

:func:`build_region` makes its rows through the services that write them in the application
(so that aggregates, search indexes and notifications kept by those code paths are current):
more rows on every list as ``n`` grows, and more rows hanging off each of them, written by
different people (a lazy load per row of the same author would be hidden by the session's
identity map) — so a query per row, or per row of a row, shows as statements growing with ``n``:

* ``n`` organisations (Dordrecht), each with ``n`` SBI codes, ``n`` labels, an account team of
  the regional account manager (strategic) and ``n`` local account managers, ``n`` contacts,
  ``n`` clusters, a role in each of the ``n`` value chains (of ``n`` stages) and a supply link to
  the next; the first is the parent of the others, each has a look-alike twin (duplicates; the
  twins are accounts of the regional account manager without contact moments);
* the first organisation has ``n`` contact moments (each with all its contacts and ``n``
  colleagues present, topics, a follow-up task; every other one confidential), ``2n`` tasks and
  ``n`` leads, the others one of each: ``2n - 1`` on the lists (5 at n = 3, 17 at n = 9);
* the records a detail page is opened on (``ids``): the first organisation, its first contact,
  a confidential contact moment and its follow-up, the first lead (``n`` comments), the first
  value chain, the participation in SCALE (``n`` contact moments linked), the regional account
  manager (``n`` API tokens), an export job, a held import row, a duplicate pair;
* around them: ``n`` programmes with every organisation in them, ``n`` notifications, export and
  import jobs, held import rows, pairs marked "geen dubbel", join requests, soft-deleted records
  of each kind, contacts due for anonymisation, a finished duplicate search and criticality
  recompute.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db

MARK = "Telrij"  # in every organisation's name
WORDS = ("Aak", "Bons", "Coaster", "Damloper", "Ewer", "Fuut", "Galjoen", "Hoogaars", "IJsbreker",
         "Jol", "Kotter", "Logger")
SBI = ("3011", "3012", "3315", "2811", "2511", "2562", "2829", "3320", "4291", "5222", "7112",
       "3511")
TOPICS = ("expansion", "workforce", "innovation", "subsidy", "accommodation", "mobility",
          "energy", "risk")


@dataclass
class Region:
    n: int
    users: dict  # "admin", "regional", "bizdev" → User; "members", "askers" → [User]
    ids: dict  # URL parameter → value (the records the detail pages are opened on)
    extra: dict = field(default_factory=dict)


def build_region(n: int, make_user) -> Region:
    from sdd_crm.auth.services import create_token
    from sdd_crm.contacts.services import create_contact, delete_contact
    from sdd_crm.imports.models import ImportReview
    from sdd_crm.interactions.models import Task
    from sdd_crm.interactions.services import (
        create_interaction,
        create_task,
        delete_interaction,
        delete_task,
    )
    from sdd_crm.jobs.files import store_file
    from sdd_crm.jobs.models import Job
    from sdd_crm.leads.services import add_comment, change_status, share_lead
    from sdd_crm.notifications.services import notify
    from sdd_crm.organisations import join_requests
    from sdd_crm.organisations.dismissals import dismiss_pair
    from sdd_crm.organisations.duplicates import start_search
    from sdd_crm.organisations.services import (
        create_organisation,
        delete_organisation,
        set_account_team_member,
        update_organisation,
    )
    from sdd_crm.programmes.admin_services import create_programme
    from sdd_crm.programmes.models import Programme
    from sdd_crm.programmes.services import (
        add_participation,
        change_participation_status,
        delete_participation,
        link_interaction,
    )
    from sdd_crm.tasks.calendar import new_calendar_secret
    from sdd_crm.valuechains import recompute
    from sdd_crm.valuechains.network_services import (
        add_chain_role,
        add_organisation_to_cluster,
        create_supply_link,
    )
    from sdd_crm.valuechains.services import create_cluster, create_value_chain

    assert n <= len(WORDS)
    today = dt.date.today()
    with pytest.MonkeyPatch.context() as mp:
        # One recompute at the end instead of one after every commit.
        mp.setattr(recompute, "schedule_recompute", lambda *, reason="": None)

        admin = make_user("admin", name="Tel Beheerder")
        regional = make_user("regional_account_manager", name="Tel Regio")
        bizdev = make_user("business_developer", name="Tel Bizdev")
        viewer = make_user("viewer", name="Tel Kijker")
        members = [make_user("local_account_manager", municipality="GM0505",
                             name=f"Tel Collega {WORDS[i]}") for i in range(n)]
        askers = [make_user("regional_account_manager", name=f"Tel Aanvrager {WORDS[i]}")
                  for i in range(n)]

        # Clusters and value chains (every other one in the first cluster), each of n stages.
        clusters = [create_cluster({"name": f"Telcluster {WORDS[i]}"}, actor=admin)
                    for i in range(n)]
        chains = [create_value_chain({"name": f"Telketen {WORDS[i]}",
                                      "cluster_id": clusters[0 if i % 2 == 0 else i].id,
                                      "stages": [f"Telfase {WORDS[j]}" for j in range(n)]},
                                     actor=admin) for i in range(n)]
        chain = chains[0]

        orgs, twins = [], []
        for i in range(n):
            org = create_organisation({
                "name": f"{MARK} {WORDS[i]} B.V.", "org_type": "company", "city": "Dordrecht",
                "kvk_number": f"8{n}{i:06d}", "postcode": f"3311 A{chr(65 + i)}",
                "street": f"Wijnstraat {i + 1}", "employees": 60 + i,
                "sbi_codes": list(SBI[:n]),
                "tags": [f"teltag-{WORDS[j].lower()}" for j in range(n)],
                "website": f"https://telrij{i}.example"}, actor=admin)
            orgs.append(org)
            twins.append(create_organisation({
                "name": f"{MARK} {WORDS[i]}", "org_type": "company", "city": "Dordrecht",
                "postcode": f"3311 A{chr(65 + i)}", "employees": 5}, actor=admin))
        db.session.flush()
        head = orgs[0]
        for org in orgs[1:]:
            update_organisation(org, {"parent_id": head.id}, actor=admin, partial=True)
        for twin in twins:  # accounts without contact moments: they need attention
            set_account_team_member(twin, regional, "strategic", actor=admin)
        for i, org in enumerate(orgs):
            set_account_team_member(org, regional, "strategic", actor=admin)
            for member in members:
                set_account_team_member(org, member, "local", actor=admin)
            for cluster in clusters:
                add_organisation_to_cluster(org, cluster.id, actor=admin)
            add_chain_role({"organisation_id": org.id, "value_chain_id": chain.id,
                            "stage_id": chain.stages[i].id, "role": "tier1"}, actor=admin)
            for other in chains[1:]:
                add_chain_role({"organisation_id": org.id, "value_chain_id": other.id,
                                "stage_id": other.stages[i].id, "role": "tier2"}, actor=admin)
        links = [create_supply_link({
            "supplier_id": org.id, "customer_id": orgs[(i + 1) % n].id,
            "value_chain_id": chain.id, "supplied": f"telgoed {WORDS[i]}", "sole_source": True},
            actor=admin) for i, org in enumerate(orgs)]
        for i, org in enumerate(orgs):
            create_supply_link({"supplier_id": twins[i].id, "customer_id": org.id,
                                "supplied": "teldelen", "sole_source": i % 2 == 0}, actor=admin)
        db.session.commit()

        # People, contact moments, tasks and leads.
        contacts = {}
        for org in orgs:
            contacts[org.id] = [create_contact({
                "organisation_id": org.id, "first_name": "Telpersoon",
                "last_name": f"{WORDS[i]} {org.id}", "email": f"tel{org.id}x{i}@example.nl",
                "function": "Inkoper"}, actor=members[i]) for i in range(n)]
        db.session.flush()
        # The first organisation has n contact moments, tasks and leads, the others one each (the
        # lists grow from 2n - 1 to 6n - 1 rows); each by another colleague (a lazy load of the
        # author per row is not hidden by the session's identity map), the regional account
        # manager present at every contact moment.
        def own(j):
            return range(n) if j == 0 else (j,)

        interactions = {}
        for j, org in enumerate(orgs):
            interactions[org.id] = [create_interaction({
                "organisation_id": org.id, "type": ("visit", "call", "meeting")[i % 3],
                "date": today - dt.timedelta(days=i), "subject": f"Telgesprek {WORDS[i]}",
                "notes": "Telnotitie", "confidential": i % 2 == 1,
                "topics": list(TOPICS[:min(n, len(TOPICS))]),
                "contact_ids": [c.id for c in contacts[org.id]],
                "user_ids": [regional.id, *(m.id for m in members if m is not members[i])],
                "follow_ups": [{"title": f"Telvervolg {WORDS[i]}", "assignee_id": regional.id,
                                "due_date": today + dt.timedelta(days=i)}]},
                actor=members[i]) for i in own(j)]
        tasks, leads = {}, {}
        for j, org in enumerate(orgs):
            tasks[org.id] = [create_task({
                "title": f"Teltaak {WORDS[i]}", "organisation_id": org.id,
                "assignee_id": regional.id, "due_date": today + dt.timedelta(days=i - 1)},
                actor=members[i]) for i in own(j)]
            tasks[org.id] += [create_task({
                "title": f"Teltaak voor {WORDS[i]}", "organisation_id": org.id,
                "assignee_id": members[i].id, "due_date": today + dt.timedelta(days=i)},
                actor=regional) for i in own(j)]
            # To the regional team; the last one to a named colleague.
            leads[org.id] = [share_lead({
                "organisation_id": org.id, "type": ("expansion", "risk", "relocation")[i % 3],
                "title": f"Telsignaal {WORDS[i]}", "description": "Telomschrijving",
                **({"shared_with": "regional_team"} if i < n - 1 else
                   {"shared_with": "user", "shared_with_user_id": askers[j].id})},
                actor=members[i]) for i in own(j)]
        lead = leads[head.id][0]
        for i in range(n):  # the regional account managers see every lead
            add_comment(lead, f"Telreactie {WORDS[i]}", actor=askers[i])
        for j, org in enumerate(orgs):
            first = leads[org.id][0]
            change_status(first, "accepted",
                          actor=askers[j] if first.shared_with == "user" else regional)
            create_task({"title": f"Teltaak signaal {org.id}", "organisation_id": org.id,
                         "lead_id": leads[org.id][0].id, "assignee_id": regional.id},
                        actor=regional)
        db.session.commit()

        # Programmes: SCALE with every organisation, n contact moments linked to each; n more.
        scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
        participations = []
        for org in orgs:
            p = add_participation(scale, org.id, actor=bizdev, notes="Teldeelname",
                                  owner_id=askers[len(participations)].id)
            for interaction in interactions[org.id]:
                link_interaction(p, interaction.id, actor=admin)
            participations.append(p)
        for i, p in enumerate(participations[1:]):
            change_participation_status(p, ("approached", "participating")[i % 2], actor=bizdev)
        for twin in twins:  # deleted participations, for the programme's bin
            delete_participation(add_participation(scale, twin.id, actor=bizdev), actor=bizdev)
        programmes = [create_programme({
            "code": f"tel-{WORDS[i].lower()}", "name": f"Telprogramma {WORDS[i]}",
            "municipalities": ["GM0505", "GM0590"],
            "targets": [{"kind": "sme_count", "value": 10 + i}]}, actor=admin)
            for i in range(n)]
        for programme in programmes:
            for i, org in enumerate(orgs):
                add_participation(programme, org.id, actor=bizdev, owner_id=askers[i].id)
        db.session.commit()

        # Join requests, notifications, tokens, the calendar feed.
        for asker in askers:
            join_requests.ask_to_join(head, {"team_role": "local", "reason": "Telreden"},
                                      actor=asker)
        for i in range(n):
            notify([regional.id, admin.id], "task_assigned", f"Telmelding {WORDS[i]}",
                   link=f"/tasks/{tasks[head.id][0].id}")
        for i in range(n):
            create_token(regional, f"teltoken {WORDS[i]}")
        feed_secret = new_calendar_secret(regional)

        # Jobs: exports of the regional account manager, imports of the admin, with files.
        exports = []
        for i in range(n):
            job = Job(id=str(uuid.uuid4()), kind="export_list", status="finished", progress=100,
                      params={"export": "organisations", "format": "csv", "args": {}},
                      result={"rows": i}, created_by_id=regional.id,
                      finished_at=dt.datetime.now(dt.UTC))
            db.session.add(job)
            db.session.flush()
            store_file(job.id, "output", f"telexport{i}.csv", "text/csv", b"naam\r\nTelrij\r\n")
            exports.append(job)
        imports = []
        for i in range(n):
            job = Job(id=str(uuid.uuid4()), kind="import_organisations", status="finished",
                      progress=100, created_by_id=(admin, regional, bizdev)[i % 3].id,
                      params={"filename": f"tellijst{i}.csv", "kind": "organisations",
                              "dry_run": False, "mapping": {"naam": "name"}},
                      result={"created": i, "updated": 0, "held": 1},
                      finished_at=dt.datetime.now(dt.UTC))
            db.session.add(job)
            db.session.flush()
            store_file(job.id, "input", f"tellijst{i}.csv", "text/csv", b"naam\r\nTelrij\r\n")
            imports.append(job)
        reviews = []
        for i, org in enumerate(orgs):
            review = ImportReview(kind="organisations", source=f"tellijst{i}.csv", row_number=i + 2,
                                  row_hash=f"tel{i}", candidate_id=org.id, job_id=imports[i].id,
                                  data={"name": f"{MARK} {WORDS[i]}", "postcode": "3311 AA"})
            db.session.add(review)
            reviews.append(review)
        db.session.flush()

        # Soft-deleted records of each kind, contacts due for anonymisation.
        for i in range(n):
            gone = create_organisation({"name": f"Telweg {WORDS[i]} B.V.", "city": "Dordrecht"},
                                       actor=admin)
            db.session.flush()
            delete_organisation(gone, actor=admin)
            gone_contact = create_contact({"organisation_id": head.id, "last_name": f"Telweg {i}"},
                                          actor=admin)
            db.session.flush()
            delete_contact(gone_contact, actor=admin)
            gone_interaction = create_interaction({
                "organisation_id": orgs[i].id, "type": "call", "date": today,
                "subject": f"Telweg gesprek {i}"}, actor=regional)
            delete_interaction(gone_interaction, actor=regional)
            gone_task = create_task({"title": f"Telweg taak {i}", "organisation_id": orgs[i].id},
                                    actor=regional)
            delete_task(gone_task, actor=regional)
        stale = [create_contact({"organisation_id": org.id, "first_name": "Telslaper",
                                 "last_name": WORDS[i]}, actor=admin)
                 for i, org in enumerate(orgs)]
        db.session.flush()
        from sdd_crm.contacts.models import Contact

        db.session.execute(sa.update(Contact.__table__)
                           .where(Contact.__table__.c.id.in_([c.id for c in stale]))
                           .values(updated_at=dt.datetime(2015, 1, 1)))
        db.session.commit()

        # Pairs marked "geen dubbel"; a finished duplicate search (runs after the commit).
        for i in range(n):
            dismiss_pair(orgs[i].id, orgs[(i + 1) % n].id, actor=(admin, regional)[i % 2],
                         note=f"Telnotitie {i}")
        start_search(actor=admin)
        db.session.commit()

    # The criticality of every organisation, as a recompute stores it.
    from criticality_support import recompute as run_recompute

    run_recompute(actor=admin)
    db.session.commit()

    first_interaction = interactions[head.id][1]  # confidential: the regional AM is in the team
    task = db.session.scalar(sa.select(Task).where(Task.interaction_id == first_interaction.id))
    ids = {
        "org_id": head.id, "contact_id": contacts[head.id][0].id,
        "interaction_id": first_interaction.id, "task_id": task.id, "lead_id": lead.id,
        "cluster_id": clusters[0].id, "chain_id": chain.id, "link_id": links[0].id,
        "code": "scale", "participation_id": participations[0].id, "job_id": exports[0].id,
        "review_id": reviews[0].id, "a_id": min(head.id, twins[0].id),
        "b_id": max(head.id, twins[0].id), "user_id": regional.id, "secret": feed_secret,
    }
    users = {"admin": admin, "regional": regional, "bizdev": bizdev, "viewer": viewer,
             "members": members,
             "askers": askers}
    return Region(n=n, users=users, ids=ids,
                  extra={"programme_codes": [p.code for p in programmes],
                         "import_job_id": imports[0].id})
