"""The load mix of ``benchmarks/load.py`` (issue 12 point 5): account managers at work.

Each simulated user signs in through the login form (with its CSRF token) as one of the
synthetic account managers and then, with a short think time between actions, opens the
dashboard, *Mijn accounts*, the organisation list, searches by part of a name or a KvK number,
opens organisations (mostly its own accounts), the contact-moment list, and logs a contact
moment through the full form (GET the form, POST it back with its CSRF token, follow the
redirect). Every response must be the expected one: a page 200, a saved form 302 to the new
contact moment; anything else (a redirect to the login page, a validation error 422, a 500) is
counted as a failure.

What to visit comes from a plan written by ``benchmarks/load.py`` (users, organisation ids,
search terms, task weights), named by the environment variable ``SDD_CRM_LOAD_PLAN``. At the end
the final figures go to the JSON file named by ``SDD_CRM_LOAD_RESULTS``, if set (locust's own
CSV files are written once a second, so they can miss the last requests):

    SDD_CRM_LOAD_PLAN=plan.json locust -f benchmarks/locustfile.py --headless -u 20 -t 60s -H URL
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from locust import HttpUser, between, constant, events
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also as `locust -f` alone
from benchmarks.load_forms import contact_moment_data, error_text, page_form  # noqa: E402

PLAN = json.loads(Path(os.environ["SDD_CRM_LOAD_PLAN"]).read_text(encoding="utf-8"))
# Simulated users take the accounts in turn, so 20 users share the 10 account managers evenly.
_ACCOUNTS = itertools.cycle(PLAN["users"])
# Saving a contact moment lands on its organisation's timeline (issue 14: the one form).
SAVED_URL = re.compile(r"^/organisations/(\d+)$")


class AccountManagerSession(HttpUser):
    """One account manager's session: signing in and the actions of the mix."""

    abstract = True
    wait_time = between(*PLAN["think"]) if PLAN["think"][1] > 0 else constant(0)

    def on_start(self):
        self.account = next(_ACCOUNTS)
        self.rng = random.Random()
        form = None
        with self.client.get("/login", name="login: form", allow_redirects=False,
                             catch_response=True) as r:
            form = page_form(r.text, "/login", "/login") if r.status_code == 200 else None
            if form is None:
                r.failure(f"login form: {r.status_code}, no form")
        if form is None:
            raise StopUser  # counted as a failure above; a user that cannot sign in stops
        data = form.data(email=self.account["email"], password=PLAN["password"])
        with self.client.post("/login", data=data, name="login: sign in",
                              allow_redirects=False, catch_response=True) as r:
            target = urlsplit(r.headers.get("Location", "")).path
            # Straight to the dashboard: no code step (the plan holds no users that need one).
            if r.status_code != 302 or target != "/":
                r.failure(f"sign-in of {self.account['email']}: {r.status_code} → {target or '-'}")
                raise StopUser

    # --- helpers -------------------------------------------------------------------------------

    def page(self, path: str, name: str):
        """GET a page that must answer 200 itself (a redirect means: signed out)."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.headers.get('Location', '')}".strip())

    def organisation(self, own_share: float) -> int:
        """An organisation id: one of the user's accounts, of the home municipality, or any."""
        mine, nearby = self.account["accounts"], self.account["nearby"]
        roll = self.rng.random()
        if mine and roll < own_share:
            return self.rng.choice(mine)
        if nearby and roll < own_share + (1 - own_share) / 2:
            return self.rng.choice(nearby)
        return self.rng.choice(PLAN["organisations"])

    # --- the mix ---------------------------------------------------------------------------------

    def dashboard(self):
        self.page("/", "dashboard /")

    def my_accounts(self):
        self.page("/accounts/", "Mijn accounts /accounts/")

    def organisation_list(self):
        municipality = self.account["municipality"]
        if municipality and self.rng.random() < 0.4:
            self.page(f"/organisations/?municipality={municipality}",
                      "organisation list /organisations/?municipality=…")
        else:
            self.page("/organisations/", "organisation list /organisations/")

    def search(self):
        term = self.rng.choice(PLAN["search_terms"])
        self.page(f"/organisations/?q={term}", "search by name /organisations/?q=…")

    def search_kvk(self):
        kvk = self.rng.choice(PLAN["kvk_numbers"])
        self.page(f"/organisations/?q={kvk}", "search by KvK /organisations/?q=<kvk>")

    def organisation_detail(self):
        self.page(f"/organisations/{self.organisation(0.6)}",
                  "organisation detail /organisations/<id>")

    def interaction_list(self):
        if self.rng.random() < 0.3:
            self.page("/interactions/?author=me", "contact moments /interactions/?author=me")
        else:
            self.page("/interactions/", "contact moments /interactions/")

    def autocomplete(self):
        term = self.rng.choice(PLAN["search_terms"])
        self.page(f"/interactions/organisations.json?q={term}",
                  "organisation suggestions /interactions/organisations.json?q=…")

    def log_contact_moment(self):
        org_id = self.organisation(0.8)
        with self.client.get(f"/interactions/new?organisation_id={org_id}", allow_redirects=False,
                             name="contact moment form /interactions/new",
                             catch_response=True) as r:
            form = page_form(r.text, r.url, "/interactions/new") if r.status_code == 200 else None
            if form is None:
                r.failure(f"{r.status_code}: no contact-moment form")
                return
        data = contact_moment_data(form, self.rng)
        with self.client.post("/interactions/new", data=data, allow_redirects=False,
                              name="log contact moment /interactions/new",
                              catch_response=True) as saved:
            target = urlsplit(saved.headers.get("Location", "")).path
            if saved.status_code != 302 or not SAVED_URL.match(target):
                saved.failure(f"{saved.status_code} {target} {error_text(saved.text)}".strip())
                return
        self.page(target, "timeline after saving /organisations/<id>")


class AccountManager(AccountManagerSession):
    """The simulated user: the plan's weights by task name (load.py's MIX, the one source)."""

    tasks = {getattr(AccountManagerSession, name): weight
             for name, weight in PLAN["weights"].items() if weight > 0}


# --- The final figures, for load.py ---------------------------------------------------------------

_environment = None


@events.init.add_listener
def _remember(environment, **_kwargs):
    global _environment
    _environment = environment


def _figures(entry) -> dict:
    done = entry.num_requests > 0
    return {"method": entry.method or "", "name": entry.name, "requests": entry.num_requests,
            "failures": entry.num_failures, "rps": entry.total_rps,
            **{f"p{p}": entry.get_response_time_percentile(p / 100) if done else None
               for p in (50, 95, 99)}}


@events.quit.add_listener
def _write_results(exit_code, **_kwargs):
    """After every user has stopped: each request type, the total, the errors."""
    path = os.environ.get("SDD_CRM_LOAD_RESULTS")
    if not path or _environment is None:
        return
    stats = _environment.stats
    errors = [f"{e.occurrences}× {e.method} {e.name}: {e.parse_error(e.error)}".strip()
              for e in stats.errors.values()]
    errors += [f"{x['count']}× exception in the locustfile: {x['msg']}".strip()
               for x in _environment.runner.exceptions.values()]
    Path(path).write_text(json.dumps({
        "exit_code": exit_code,
        "entries": [_figures(e) for e in stats.entries.values()
                    if e.num_requests or e.num_failures],
        "total": _figures(stats.total),
        "errors": errors,
    }, indent=1), encoding="utf-8")
