"""A small region with leads for the lead and notification tests.

The author is a local account manager of Zwijndrecht (GM0642). Three leads about a company in
Sliedrecht go to Sliedrecht (a municipality), to the regional team, and to a named colleague.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.leads.models import Lead, LeadEvent
from sdd_crm.leads.services import share_lead
from sdd_crm.notifications.models import Notification

# The people around a lead (DESIGN 4.4): five roles, a local AM of the receiving municipality
# and one of another, the author, and a named receiving user.
WHO = ("admin", "regional", "bizdev", "viewer", "local_receiving", "local_other", "author",
       "named")


@dataclass
class World:
    users: dict
    org: object
    leads: dict  # "municipality", "region", "named" → Lead


def build_world(make_user, make_org) -> World:
    users = {
        "admin": make_user("admin", name="Anna Admin"),
        "regional": make_user("regional_account_manager", name="Rob Regio"),
        "bizdev": make_user("business_developer", name="Bea Bizdev"),
        "viewer": make_user("viewer", name="Vera Viewer"),
        "local_receiving": make_user("local_account_manager", municipality="GM0610",
                                     name="Sanne Sliedrecht"),
        "local_other": make_user("local_account_manager", municipality="GM0505",
                                 name="Dirk Dordrecht"),
        "author": make_user("local_account_manager", municipality="GM0642",
                            name="Zoë Zwijndrecht"),
        "named": make_user("local_account_manager", municipality="GM0590",
                           name="Pim Papendrecht"),
    }
    org = make_org(actor=users["admin"], name="Baggerwerf Sliedrecht B.V.", city="Sliedrecht")
    author = users["author"]
    leads = {
        "municipality": share_lead({"organisation_id": org.id, "type": "expansion",
                                    "title": "Zoekt 2 hectare",
                                    "shared_with_municipality": "GM0610"}, actor=author),
        "region": share_lead({"organisation_id": org.id, "type": "risk",
                              "title": "Sluiting dreigt", "shared_with": "regional_team"},
                             actor=author),
        "named": share_lead({"organisation_id": org.id, "type": "subsidy",
                             "title": "Interesse in SCALE", "shared_with": "user",
                             "shared_with_user_id": users["named"].id}, actor=author),
    }
    db.session.commit()
    return World(users=users, org=org, leads=leads)


# Who sees which lead, and who is its receiving side (DESIGN 4.4).
SEES = {
    "municipality": {"admin", "regional", "author", "local_receiving"},
    "region": {"admin", "regional", "author"},
    "named": {"admin", "regional", "author", "named"},
}
RECEIVES = {"municipality": {"local_receiving"}, "region": {"regional"}, "named": {"named"}}


def events(lead: Lead) -> list[LeadEvent]:
    return db.session.scalars(sa.select(LeadEvent).where(LeadEvent.lead_id == lead.id)
                              .order_by(LeadEvent.id)).all()


def notifications_of(user) -> list[Notification]:
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).all()


def reload(lead: Lead) -> Lead:
    db.session.expire_all()
    return db.session.get(Lead, lead.id)
