"""A small region for the contact-moment, task and timeline tests (DESIGN 4.4).

Two organisations in two municipalities, each with a confidential and a public contact moment
written by a local account manager of a third municipality; one colleague is in the account
team of the Dordrecht organisation only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sdd_crm.extensions import db
from sdd_crm.interactions.services import create_interaction
from sdd_crm.organisations.services import set_account_team_member

# Who sees which contact moment (keys of World.interactions) — DESIGN 4.4 spelled out.
PUBLIC = {"dordrecht_public", "sliedrecht_public"}
EVERYTHING = PUBLIC | {"dordrecht_secret", "sliedrecht_secret"}
EXPECTED_VISIBLE = {
    "admin": EVERYTHING,
    "regional_account_manager": PUBLIC,
    "local_account_manager": PUBLIC,  # of Dordrecht, yet not in the team: no secrets
    "local_sliedrecht": PUBLIC,  # of Sliedrecht: the Sliedrecht secret stays hidden too
    "business_developer": PUBLIC,
    "viewer": set(),  # never reads interactions (403)
    "author": EVERYTHING,
    "team_member": PUBLIC | {"dordrecht_secret"},  # in the Dordrecht account team only
}
SUBJECTS = {
    "dordrecht_public": "Vacatures lassers besproken",
    "dordrecht_secret": "Overname door Chinese investeerder",
    "sliedrecht_public": "Nieuwe kade in gebruik",
    "sliedrecht_secret": "Faillissement dreigt",
}


@dataclass
class World:
    users: dict
    dordrecht: object
    sliedrecht: object
    interactions: dict


def build_world(make_user, make_org) -> World:
    users = {
        "admin": make_user("admin", name="Anna Beheer"),
        "regional_account_manager": make_user("regional_account_manager", name="Rik Regio"),
        "local_account_manager": make_user("local_account_manager", municipality="GM0505",
                                           name="Lies Dordrecht"),
        "local_sliedrecht": make_user("local_account_manager", municipality="GM0610",
                                      name="Sem Sliedrecht"),
        "business_developer": make_user("business_developer", name="Bas Developer"),
        "viewer": make_user("viewer", name="Vera Viewer"),
        "author": make_user("local_account_manager", municipality="GM0642", name="Auke Auteur"),
        "team_member": make_user("local_account_manager", municipality="GM0590",
                                 name="Tom Team"),
    }
    admin = users["admin"]
    dordrecht = make_org(actor=admin, name="Dordtse Scheepswerf B.V.", city="Dordrecht",
                         kvk_number="11112222")
    sliedrecht = make_org(actor=admin, name="Sliedrechtse Baggeraars B.V.", city="Sliedrecht",
                          kvk_number="33334444")
    set_account_team_member(dordrecht, users["team_member"], "local", actor=admin)
    today = dt.date.today()
    interactions = {}
    for org, place in ((dordrecht, "dordrecht"), (sliedrecht, "sliedrecht")):
        for kind, confidential in (("public", False), ("secret", True)):
            key = f"{place}_{kind}"
            interactions[key] = create_interaction(
                {"organisation_id": org.id, "type": "visit", "date": today - dt.timedelta(days=3),
                 "subject": SUBJECTS[key], "notes": f"Verslag {key}", "topics": ["risk"],
                 "confidential": confidential},
                actor=users["author"])
    db.session.commit()
    return World(users=users, dordrecht=dordrecht, sliedrecht=sliedrecht,
                 interactions=interactions)
