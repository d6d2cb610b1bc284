"""The demo region's activity: contact moments, follow-ups, leads and programme participation."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..db import utcnow
from ..extensions import db
from ..interactions.models import Interaction, InteractionTopic, Task
from ..interactions.services import refresh_last_contact
from ..leads.models import Lead, LeadComment, LeadEvent
from ..organisations.size import SME_MAX_EMPLOYEES
from ..programmes.models import Participation, ParticipationEvent, Programme
from .demo_texts import (
    CONFIDENTIAL_SUBJECTS,
    DECLINE_REASONS,
    FOLLOW_UPS,
    INTERACTION_SUBJECTS,
    INTERACTION_TYPES,
    LEAD_COMMENTS,
    LEADS,
    PARTICIPATION_NOTES,
)

HISTORY_DAYS = 540  # the last 18 months
LEAD_STATUSES = ["new", "accepted", "in_progress", "won", "lost", "declined"]
LEAD_PATHS = {
    "new": [], "accepted": ["accepted"], "in_progress": ["accepted", "in_progress"],
    "won": ["accepted", "in_progress", "won"], "lost": ["accepted", "in_progress", "lost"],
    "declined": ["declined"],
}
PARTICIPATION_STATUSES = ["identified", "approached", "interested", "participating", "completed",
                          "declined"]
FUNNEL = ["identified", "approached", "interested", "participating", "completed"]
SCALE_SECTORS = {"4321", "4322", "4120", "4110", "3530", "3511"}


def _at(day: dt.date, rng) -> dt.datetime:
    """A working-hours moment on ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(rng.randint(7, 15), rng.choice([0, 15, 30, 45])),
                               tzinfo=dt.timezone.utc)


def seed_activity(rng, specs, orgs, users, teams, contacts) -> dict[str, int]:
    counts = _interactions(rng, orgs, users, teams, contacts)
    counts.update(_leads(rng, orgs, users))
    counts.update(_participations(rng, specs, orgs, users))
    return counts


def _interactions(rng, orgs, users, teams, contacts) -> dict[str, int]:
    today = dt.date.today()
    fallback = [users["regionaal"], users["bizdev"]]
    interactions, tasks = [], []
    for i, org in enumerate(orgs):
        team = teams.get(i, [])
        if org.status == "dissolved":
            n = rng.randint(0, 1)
        elif team and len(team) > 1:
            n = rng.randint(3, 9)
        elif team:
            n = rng.randint(1, 5)
        else:
            n = rng.randint(0, 2) if rng.random() < 0.4 else 0
        for _ in range(n):
            day = today - dt.timedelta(days=rng.randint(0, HISTORY_DAYS))
            confidential = rng.random() < 0.05
            subject, topics, notes = rng.choice(CONFIDENTIAL_SUBJECTS if confidential
                                                else INTERACTION_SUBJECTS)
            author = rng.choice(team or fallback)
            present = [author] + [u for u in team if u is not author and rng.random() < 0.3]
            people = contacts.get(i, [])
            kind = rng.choices(*INTERACTION_TYPES)[0]
            inter = Interaction(
                type=kind, date=day, organisation_id=org.id, author_id=author.id,
                subject=subject, notes=notes, confidential=confidential,
                created_at=_at(day, rng),
                topics=[InteractionTopic(topic=t) for t in topics],
                contacts=rng.sample(people, min(len(people), 1 if kind in ("call", "email") else 2)),
                users=present,
            )
            interactions.append(inter)
            if topics and rng.random() < 0.35:
                tasks.append((inter, topics[0], author))
    db.session.add_all(interactions)
    db.session.flush()
    # The kept "last contact" of each organisation, as logging a contact moment keeps it
    # (issue 14: every seeded account said "never contacted" although it had contact moments).
    refresh_last_contact(*{inter.organisation_id for inter in interactions})
    for inter, topic, author in tasks:
        due = inter.date + dt.timedelta(days=rng.randint(7, 45))
        status = "open"
        if due < today:
            status = rng.choices(["done", "cancelled", "open"], [70, 10, 20])[0]
        db.session.add(Task(
            title=FOLLOW_UPS[topic], due_date=due, status=status, assignee_id=author.id,
            created_by_id=author.id, organisation_id=inter.organisation_id, interaction_id=inter.id,
            completed_at=_at(due - dt.timedelta(days=rng.randint(0, 5)), rng) if status == "done" else None,
            created_at=inter.created_at,
        ))
    return {"interactions": len(interactions),
            "confidential_interactions": sum(1 for x in interactions if x.confidential),
            "tasks": len(tasks)}


def _leads(rng, orgs, users, n_leads: int = 40) -> dict[str, int]:
    now = utcnow()
    locals_ = [u for u in users.values() if u.role == "local_account_manager"]
    local_by_code = {u.municipality_code: u for u in locals_}
    receivers_user = [users["regionaal"], users["regionaal.energie"], users["bizdev"]]
    leads = []
    for k in range(n_leads):
        author = rng.choice(locals_) if k % 8 else users["regionaal"]
        home = author.municipality_code
        candidates = [o for o in orgs if o.org_type == "company" and o.status == "active"
                      and (home is None or o.municipality_code == home)]
        org = rng.choice(candidates)
        kind, title, description = rng.choice(LEADS)
        r = rng.random()
        if r < 0.45:
            shared_with = "municipality"
            target = rng.choice([c for c in local_by_code if c != (home or org.municipality_code)])
            receiver = local_by_code[target]
        elif r < 0.85:
            shared_with, target, receiver = "regional_team", None, users["regionaal"]
        else:
            shared_with, target = "user", None
            receiver = rng.choice([u for u in receivers_user if u is not author])
        # The first six leads take each status once, so every state is there to see.
        status = LEAD_STATUSES[k] if k < len(LEAD_STATUSES) else rng.choices(
            LEAD_STATUSES, [20, 15, 25, 15, 10, 15])[0]
        created = now - dt.timedelta(days=rng.randint(5, HISTORY_DAYS), hours=rng.randint(0, 8))
        lead = Lead(
            organisation_id=org.id, type=kind, title=title, description=description,
            author_id=author.id, from_municipality_code=home or org.municipality_code,
            shared_with=shared_with,
            shared_with_user_id=receiver.id if shared_with == "user" else None,
            shared_with_municipality_code=target, status=status, created_at=created,
            decline_reason=rng.choice(DECLINE_REASONS) if status == "declined" else None,
        )
        events = [dict(user_id=author.id, at=created, from_status=None, to_status="new")]
        at, previous = created, "new"
        for step in LEAD_PATHS[status]:
            at = min(now, at + dt.timedelta(days=rng.randint(1, 30)))
            events.append(dict(user_id=receiver.id, at=at, from_status=previous, to_status=step,
                               note=lead.decline_reason if step == "declined" else None))
            previous = step
        if len(events) > 1:
            lead.responded_at = events[1]["at"]
        comment = None
        if status == "in_progress" and rng.random() < 0.6:
            comment = dict(author_id=receiver.id, body=rng.choice(LEAD_COMMENTS), created_at=at)
        leads.append((lead, events, comment))
    db.session.add_all(lead for lead, _, _ in leads)
    db.session.flush()
    for lead, events, comment in leads:
        db.session.add_all(LeadEvent(lead_id=lead.id, **e) for e in events)
        if comment:
            db.session.add(LeadComment(lead_id=lead.id, **comment))
    return {"leads": len(leads)}


def _participations(rng, specs, orgs, users) -> dict[str, int]:
    programmes = {p.code: p for p in db.session.scalars(sa.select(Programme))}
    owner = users["bizdev"]
    made = 0
    scale = programmes.get("scale")
    if scale is not None:
        region = {m.code for m in scale.municipalities}
        companies = [i for i, o in enumerate(orgs) if o.org_type == "company"]
        fits = [i for i in companies if orgs[i].municipality_code in region
                and orgs[i].status == "active" and (orgs[i].employees or 0) < SME_MAX_EMPLOYEES
                and (set(specs[i]["data"]["sbi_codes"]) & SCALE_SECTORS or rng.random() < 0.25)]
        chosen = rng.sample(fits, min(len(fits), 170))
        # Cases the progress count must exclude, each with its reason (DESIGN 4.2).
        outside = [i for i in companies if orgs[i].municipality_code not in region]
        large = [i for i in companies if (orgs[i].employees or 0) >= SME_MAX_EMPLOYEES and i not in chosen]
        dissolved = [i for i in companies if orgs[i].status == "dissolved"]
        unknown = [i for i in companies if orgs[i].employees is None and i not in chosen]
        edge = rng.sample(outside, min(2, len(outside))) + rng.sample(large, min(2, len(large))) \
            + dissolved[:1] + unknown[:1]
        plan = [(i, PARTICIPATION_STATUSES[n] if n < len(PARTICIPATION_STATUSES) else rng.choices(
            PARTICIPATION_STATUSES, [20, 20, 18, 22, 12, 8])[0]) for n, i in enumerate(chosen)]
        plan += [(i, "participating") for i in dict.fromkeys(edge) if i not in chosen]
        made += _add_participations(rng, scale, orgs, plan, owner)
    for code, cluster, n in (("maritiem-masterplan", "Maritieme maakindustrie", 25),
                             ("regio-deal", None, 15)):
        programme = programmes.get(code)
        if programme is None:
            continue
        region = {m.code for m in programme.municipalities}
        fits = [i for i, o in enumerate(orgs) if o.org_type == "company" and o.status == "active"
                and o.municipality_code in region and (cluster is None or cluster in specs[i]["clusters"])]
        plan = [(i, rng.choices(PARTICIPATION_STATUSES, [25, 20, 20, 20, 5, 10])[0])
                for i in rng.sample(fits, min(n, len(fits)))]
        made += _add_participations(rng, programme, orgs, plan, owner)
    return {"participations": made}


def _add_participations(rng, programme, orgs, plan, owner) -> int:
    now = utcnow()
    made = []
    for i, status in plan:
        if status == "declined":
            path = FUNNEL[:rng.randint(2, 3)] + ["declined"]
        else:
            path = FUNNEL[:FUNNEL.index(status) + 1]
        at = now - dt.timedelta(days=rng.randint(30, HISTORY_DAYS))
        moments = []
        for _ in path:
            moments.append(at)
            at = min(now, at + dt.timedelta(days=rng.randint(7, 60)))
        participation = Participation(
            programme_id=programme.id, organisation_id=orgs[i].id, status=status,
            status_changed_at=moments[-1], owner_id=owner.id, created_at=moments[0],
            notes=rng.choice(PARTICIPATION_NOTES) if rng.random() < 0.3 else None)
        made.append((participation, path, moments))
    db.session.add_all(p for p, _, _ in made)
    db.session.flush()
    db.session.add_all(
        ParticipationEvent(participation_id=p.id, user_id=owner.id, at=when,
                           from_status=path[n - 1] if n else None, to_status=step)
        for p, path, moments in made for n, (step, when) in enumerate(zip(path, moments, strict=True)))
    return len(made)
