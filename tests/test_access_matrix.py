"""The access matrix (issue 11 point 4, DESIGN 4.4): every route of the application's URL map —
HTML and API, every method — tried as every actor, on records of two municipalities, and
compared with the expected-access table :data:`EXPECTED` kept here.

Actors: anonymous, an admin, a regional account manager, two local account managers
(``local_home`` of Papendrecht GM0590 and ``local_other`` of Dordrecht GM0505), a business
developer and a viewer.

The records (:func:`build_world`, built once per test): in Papendrecht,
owned by ``local_home``, an organisation with an account team (whose strategic manager is none
of the actors), a contact person, a **confidential contact moment** with a follow-up task, a
public one, a **lead shared with none of the actors** (and one for the regional team), a join
request, a value chain, a programme participation with both contact moments linked,
``local_home``'s **export job with its file**, notification, session and calendar feed; the
business developer's import preview and a held import row; soft-deleted records of every kind
for the restore routes. The same organisation, contact, confidential contact moment and task
exist in Dordrecht, owned by ``local_other`` — the ``[dordrecht]`` variant of the routes about
those records, expected as the route's own entry with the two local account managers swapped.
URL parameters are filled from these records (:func:`params_for`); writes carry a body valid
enough for the access rule to decide (:func:`bodies`).

What fails, with a readable list of every problem:

* a route (method + rule) of the URL map without an entry in :data:`EXPECTED` (a new route must
  say who may use it), or an entry for a route that no longer exists;
* a **leak**: an answer (2xx, 3xx other than to the login page, or the form/JSON shown again
  with messages) where the table refuses the actor;
* a **wrong refusal**: 401/403/404 or a redirect to the login page where the table allows;
* a refusal in the wrong form: anonymous is sent to the login page (HTML) or gets 401 (API); a
  signed-in actor gets 403, or 404 for a record they may not know exists;
* a **refused write that changed something**: every table but the audit trail is compared
  with its state before (columns that every request touches — when a token or a session was
  last used — left out); :func:`answers` entries also check the actors who get a polite "no"
  (a message, not a 403) for what they sent;
* a server error (5xx) anywhere;
* **content**: a marker of a confidential contact moment, its task, the lead, a deleted record
  or a contact person's name and e-mail in any answer to an actor who may not read it — pages,
  lists, search, timelines, API lists, exports, job files, the calendar feed —, for the routes
  and for :data:`PROBES` (lists and searches with query strings).

:func:`test_guessed_ids_find_nothing` adds that a hidden record's id gets exactly the answer of
an id that does not exist.

Every request runs in a savepoint that is rolled back afterwards, so an allowed write never
changes what the next request is tried on. To see what the application answers, run with
``ACCESS_MATRIX_DUMP=/tmp/matrix.json``: the observed verdicts are written there.

Adding a route: add its line to :data:`EXPECTED` (with the access groups below); a new URL
parameter needs a value in :func:`build_world`'s ``ids``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from flask import url_for

from sdd_crm.extensions import db, limiter

# --- actors and access groups -----------------------------------------------------------------

ANON, ADMIN, REGIONAL, LOCAL_HOME, LOCAL_OTHER, BIZDEV, VIEWER = (
    "anonymous", "admin", "regional", "local_home", "local_other", "bizdev", "viewer")
ROLES = (ANON, ADMIN, REGIONAL, LOCAL_HOME, LOCAL_OTHER, BIZDEV, VIEWER)

NOBODY = frozenset()
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANON}
# Everyone but viewers: those who log contact moments, tasks and leads and see personal data.
WORKERS = SIGNED_IN - {VIEWER}
ADMINS = frozenset({ADMIN})
# Who edits every organisation (DESIGN 4.4); local account managers only their municipality's.
EDIT_ALL = frozenset({ADMIN, REGIONAL, BIZDEV})
EDIT_HOME = EDIT_ALL | {LOCAL_HOME}
# Who manages clusters, value chains and merges.
MANAGERS = frozenset({ADMIN, REGIONAL})
# Who sees the confidential contact moment (author, account team, admins) and its task.
SEES_SECRET = frozenset({ADMIN, LOCAL_HOME})
SEES_DORDT_SECRET = frozenset({ADMIN, LOCAL_OTHER})  # the same in Dordrecht
# Who sees the lead (author, receiving side — nobody of the actors —, regional AMs and admins).
SEES_LEAD = frozenset({ADMIN, REGIONAL, LOCAL_HOME})
# Who imports (admins, regional account managers, business developers).
IMPORTERS = frozenset({ADMIN, REGIONAL, BIZDEV})
# Own things: the export job and the notification belong to local_home; the import preview to
# the business developer; the join request to the regional account manager.
OWNER_HOME = frozenset({ADMIN, LOCAL_HOME})
OWNER_ONLY_HOME = frozenset({LOCAL_HOME})


# Account managers: who can be in an account team and so may ask to join one.
ACCOUNT_MANAGERS = frozenset({REGIONAL, LOCAL_HOME, LOCAL_OTHER})


def only(*roles: str) -> frozenset:
    return frozenset(roles)


class Access(frozenset):
    """The actors a route answers, of whom only ``changes`` may change anything with the body
    sent — the others get an answer (a message: "kies een bestaand record", "u kunt alleen
    organisaties in uw eigen gemeente toevoegen"), the same as for a record that does not exist,
    and the data must be unchanged."""

    changes: frozenset


def answers(roles, *, changes) -> Access:
    access = Access(roles)
    access.changes = frozenset(changes)
    assert access.changes <= access
    return access


# --- the expected-access table: "METHOD rule" → the actors allowed -----------------------------
# Allowed: any answer but a refusal (a page, a redirect, a file, JSON, or the form shown again
# with messages). Refused: anonymous → the login page (HTML) or 401 (API); signed in → 403, or
# 404 for a record they may not know exists. "[public]": the same route on the contact moment
# that is not confidential, a task that follows nothing, a lead for the regional team.

EXPECTED: dict[str, frozenset] = {
    # Sign-in, own account, language, public files.
    "GET /login": EVERYONE,
    "POST /login": EVERYONE,
    "GET /login/code": EVERYONE,  # without a password step first: back to /login
    "POST /login/code": EVERYONE,
    "POST /logout": EVERYONE,
    "POST /language/<lang>": EVERYONE,
    "GET /static/<path:filename>": EVERYONE,
    "GET /healthz": EVERYONE,
    "GET /api/v1/openapi.json": EVERYONE,
    # The calendar feed: the secret in the address is the key (local_home's).
    "GET /tasks/calendar/<secret>.ics": EVERYONE,
    "GET /account": SIGNED_IN,
    "POST /account/password": SIGNED_IN,
    "POST /account/language": SIGNED_IN,
    "POST /account/notifications": SIGNED_IN,
    # "Forgot password": the same answer for everyone (signed in: sent on to /account).
    "GET /password/forgot": EVERYONE,
    "POST /password/forgot": EVERYONE,
    "GET /password/reset": EVERYONE,
    "POST /password/reset": EVERYONE,
    # Ending local_home's other session: only local_home; anyone else is told it does not exist.
    "POST /account/sessions/<int:session_id>/end": answers(SIGNED_IN, changes={LOCAL_HOME}),
    "GET /account/two-factor": SIGNED_IN,
    "POST /account/two-factor": SIGNED_IN,
    "GET /account/two-factor/disable": SIGNED_IN,
    "POST /account/two-factor/disable": SIGNED_IN,
    "GET /account/two-factor/recovery-codes": SIGNED_IN,
    "POST /account/two-factor/recovery-codes": SIGNED_IN,
    "POST /account/two-factor/start": SIGNED_IN,
    "GET /privacy": SIGNED_IN,
    "GET /": SIGNED_IN,
    "GET /search": SIGNED_IN,  # the global search; each kind filtered by who may see it
    "GET /accounts/": WORKERS,
    "GET /notifications/": SIGNED_IN,
    "POST /notifications/<int:notification_id>/open": only(LOCAL_HOME),
    "GET /notifications/<int:notification_id>/open": only(LOCAL_HOME),  # a link (issue 14)
    "POST /notifications/<int:notification_id>/read": only(LOCAL_HOME),
    "POST /notifications/read-all": SIGNED_IN,
    "GET /jobs/": SIGNED_IN,
    # local_home's export job and its file (holds the confidential contact moment).
    "GET /jobs/schedule": ADMINS,
    "GET /jobs/<job_id>": OWNER_HOME,
    "GET /jobs/<job_id>/files/<role>": OWNER_HOME,
    "GET /jobs/<job_id>/status": OWNER_HOME,
    "GET /api/v1/jobs/<string(maxlength=36):job_id>": OWNER_HOME,
    "GET /api/v1/jobs/<string(maxlength=36):job_id>/files/<string(maxlength=16):role>": OWNER_HOME,

    # Administration, the audit trail, the recycle bin, GDPR duties: admins only.
    "GET /admin/": ADMINS,
    "GET /admin/audit": ADMINS,
    "GET /api/v1/audit": ADMINS,
    "GET /admin/deleted": ADMINS,
    "POST /admin/deleted/<kind>/<int:record_id>/restore": ADMINS,
    "GET /admin/programmes": ADMINS,
    "GET /admin/programmes/new": ADMINS,
    "POST /admin/programmes/new": ADMINS,
    "GET /admin/programmes/<code>/edit": ADMINS,
    "POST /admin/programmes/<code>/edit": ADMINS,
    "POST /admin/programmes/<code>/delete": ADMINS,
    "POST /admin/programmes/<code>/restore": ADMINS,
    "GET /admin/retention": ADMINS,
    "POST /admin/retention": ADMINS,
    "GET /admin/users": ADMINS,
    "GET /admin/users/new": ADMINS,
    "POST /admin/users/new": ADMINS,
    "GET /admin/users/<int:user_id>": ADMINS,
    "GET /admin/users/<int:user_id>/edit": ADMINS,
    "POST /admin/users/<int:user_id>/edit": ADMINS,
    "POST /admin/users/<int:user_id>/deactivate": ADMINS,
    "POST /admin/users/<int:user_id>/revoke-tokens": ADMINS,
    "POST /admin/users/<int:user_id>/sign-out-everywhere": ADMINS,
    "POST /admin/users/<int:user_id>/tokens": ADMINS,
    "POST /admin/users/<int:user_id>/two-factor/reset": ADMINS,
    "GET /contacts/<int:contact_id>/export.json": ADMINS,
    "GET /contacts/<int:contact_id>/erase": ADMINS,
    "POST /contacts/<int:contact_id>/erase": ADMINS,
    "GET /api/v1/contacts/<int:contact_id>/export": ADMINS,
    "POST /api/v1/contacts/<int:contact_id>/erase": ADMINS,
    "POST /api/v1/organisations/<int:org_id>/restore": ADMINS,
    "POST /api/v1/contacts/<int:contact_id>/restore": ADMINS,
    "POST /api/v1/interactions/<int:interaction_id>/restore": ADMINS,
    "POST /api/v1/tasks/<int:task_id>/restore": ADMINS,
    "POST /api/v1/leads/<int:lead_id>/restore": ADMINS,
    "POST /api/v1/clusters/<int:cluster_id>/restore": ADMINS,
    "POST /api/v1/value-chains/<int:chain_id>/restore": ADMINS,
    "POST /api/v1/value-chains/<int:chain_id>/roles/<int:role_id>/restore": ADMINS,
    "POST /api/v1/supply-links/<int:link_id>/restore": ADMINS,
    "POST /api/v1/programmes/<string(maxlength=40):code>/restore": ADMINS,
    "POST /api/v1/programmes/<string(maxlength=40):code>/participations/"
    "<int:participation_id>/restore": ADMINS,

    # Organisations: everyone signed in reads; local AMs edit their own municipality's.
    "GET /organisations/": SIGNED_IN,
    "GET /organisations/<int:org_id>": SIGNED_IN,
    "GET /organisations/new": WORKERS,
    # local_other may open the form, but not add a company of Papendrecht.
    "POST /organisations/new": answers(WORKERS, changes=EDIT_HOME),
    "GET /organisations/<int:org_id>/edit": EDIT_HOME,
    "POST /organisations/<int:org_id>/edit": EDIT_HOME,
    "GET /organisations/<int:org_id>/delete": EDIT_HOME,
    "POST /organisations/<int:org_id>/delete": EDIT_HOME,
    "GET /api/v1/organisations": SIGNED_IN,
    "POST /api/v1/organisations": answers(WORKERS, changes=EDIT_HOME),
    "GET /api/v1/organisations/<int:org_id>": SIGNED_IN,
    "PATCH /api/v1/organisations/<int:org_id>": EDIT_HOME,
    "DELETE /api/v1/organisations/<int:org_id>": EDIT_HOME,
    # The account team: admins and the strategic manager only (nobody widens their own
    # access); account managers outside the team ask to join (regional has asked already,
    # local_home is in the team: both are told so and nothing changes).
    "POST /organisations/<int:org_id>/team": ADMINS,
    "POST /organisations/<int:org_id>/team/<int:member_id>/remove": ADMINS,
    "POST /organisations/<int:org_id>/join-requests": answers(ACCOUNT_MANAGERS,
                                                              changes={LOCAL_OTHER}),
    "POST /organisations/<int:org_id>/join-requests/<int:request_id>/approve": ADMINS,
    "POST /organisations/<int:org_id>/join-requests/<int:request_id>/decline": ADMINS,
    "POST /organisations/<int:org_id>/join-requests/<int:request_id>/withdraw": only(REGIONAL),

    # Contacts: personal data, not for viewers; edited with the organisation.
    "GET /contacts/": WORKERS,
    "GET /contacts/new": WORKERS,
    "POST /contacts/new": WORKERS,
    "GET /contacts/<int:contact_id>": WORKERS,
    "GET /contacts/<int:contact_id>/edit": EDIT_HOME,
    "POST /contacts/<int:contact_id>/edit": EDIT_HOME,
    "GET /contacts/<int:contact_id>/delete": EDIT_HOME,
    "POST /contacts/<int:contact_id>/delete": EDIT_HOME,
    "GET /api/v1/contacts": WORKERS,
    "POST /api/v1/contacts": EDIT_HOME,
    "GET /api/v1/contacts/<int:contact_id>": WORKERS,
    "PATCH /api/v1/contacts/<int:contact_id>": EDIT_HOME,
    "DELETE /api/v1/contacts/<int:contact_id>": EDIT_HOME,

    # Contact moments: the confidential one for its author, the account team and admins; a
    # contact moment is changed by its author and admins.
    "GET /interactions/": WORKERS,
    "GET /interactions/new": WORKERS,
    "POST /interactions/new": WORKERS,
    "GET /interactions/visit": WORKERS,
    "POST /interactions/visit": WORKERS,
    "GET /interactions/organisations.json": WORKERS,
    "GET /interactions/<int:interaction_id>": SEES_SECRET,
    "GET /interactions/<int:interaction_id> [public]": WORKERS,
    "GET /interactions/<int:interaction_id>/edit": SEES_SECRET,
    "POST /interactions/<int:interaction_id>/edit": SEES_SECRET,
    "GET /interactions/<int:interaction_id>/edit [public]": OWNER_HOME,
    "POST /interactions/<int:interaction_id>/edit [public]": OWNER_HOME,
    "GET /interactions/<int:interaction_id>/delete": SEES_SECRET,
    "POST /interactions/<int:interaction_id>/delete": SEES_SECRET,
    "GET /interactions/<int:interaction_id>/delete [public]": OWNER_HOME,
    "POST /interactions/<int:interaction_id>/delete [public]": OWNER_HOME,
    "GET /api/v1/interactions": WORKERS,
    "POST /api/v1/interactions": WORKERS,
    "GET /api/v1/interactions/<int:interaction_id>": SEES_SECRET,
    "PATCH /api/v1/interactions/<int:interaction_id>": SEES_SECRET,
    "DELETE /api/v1/interactions/<int:interaction_id>": SEES_SECRET,
    "GET /api/v1/interactions/<int:interaction_id> [public]": WORKERS,
    "PATCH /api/v1/interactions/<int:interaction_id> [public]": OWNER_HOME,
    "DELETE /api/v1/interactions/<int:interaction_id> [public]": OWNER_HOME,

    # Tasks: the follow-up of the confidential contact moment is hidden like it; a task is
    # changed by its assignee, its creator and admins.
    "GET /tasks/": WORKERS,
    "GET /tasks/new": WORKERS,
    # Linking a new task to the confidential contact moment: only who sees it.
    "POST /tasks/new": answers(WORKERS, changes=SEES_SECRET),
    "GET /tasks/calendar": WORKERS,
    "POST /tasks/calendar": WORKERS,
    "GET /tasks/<int:task_id>": SEES_SECRET,
    "GET /tasks/<int:task_id> [public]": WORKERS,
    "GET /tasks/<int:task_id>/edit": OWNER_HOME,
    "POST /tasks/<int:task_id>/edit": OWNER_HOME,
    "GET /tasks/<int:task_id>/edit [public]": OWNER_HOME,
    "POST /tasks/<int:task_id>/edit [public]": OWNER_HOME,
    "GET /tasks/<int:task_id>/delete": OWNER_HOME,
    "POST /tasks/<int:task_id>/delete": OWNER_HOME,
    "GET /tasks/<int:task_id>/delete [public]": OWNER_HOME,
    "POST /tasks/<int:task_id>/delete [public]": OWNER_HOME,
    "POST /tasks/<int:task_id>/complete": OWNER_HOME,
    "POST /tasks/<int:task_id>/complete [public]": OWNER_HOME,
    "POST /tasks/<int:task_id>/reopen": OWNER_HOME,
    "POST /tasks/<int:task_id>/reopen [public]": OWNER_HOME,
    "GET /api/v1/tasks": WORKERS,
    "POST /api/v1/tasks": answers(WORKERS, changes=SEES_SECRET),
    "GET /api/v1/tasks/<int:task_id>": SEES_SECRET,
    "PATCH /api/v1/tasks/<int:task_id>": OWNER_HOME,
    "DELETE /api/v1/tasks/<int:task_id>": OWNER_HOME,
    "GET /api/v1/tasks/<int:task_id> [public]": WORKERS,
    "PATCH /api/v1/tasks/<int:task_id> [public]": OWNER_HOME,
    "DELETE /api/v1/tasks/<int:task_id> [public]": OWNER_HOME,

    # Leads: the author, the receiving side, regional AMs and admins see them; only the
    # receiving side (nobody of the actors for the lead to Sliedrecht; the regional AM for the
    # [public] one to the regional team) moves them on; the author and admins edit them.
    "GET /leads/": WORKERS,
    "GET /leads/new": WORKERS,
    "POST /leads/new": WORKERS,
    "GET /leads/response-times": MANAGERS,
    "GET /leads/<int:lead_id>": SEES_LEAD,
    "GET /leads/<int:lead_id> [public]": SEES_LEAD,
    "POST /leads/<int:lead_id>/comments": SEES_LEAD,
    "POST /leads/<int:lead_id>/comments [public]": SEES_LEAD,
    "GET /leads/<int:lead_id>/edit": OWNER_HOME,
    "POST /leads/<int:lead_id>/edit": OWNER_HOME,
    "GET /leads/<int:lead_id>/edit [public]": OWNER_HOME,
    "POST /leads/<int:lead_id>/edit [public]": OWNER_HOME,
    "POST /leads/<int:lead_id>/status": NOBODY,
    "POST /leads/<int:lead_id>/status [public]": only(REGIONAL),
    "GET /api/v1/leads": WORKERS,
    "POST /api/v1/leads": WORKERS,
    "GET /api/v1/leads/<int:lead_id>": SEES_LEAD,
    "GET /api/v1/leads/<int:lead_id> [public]": SEES_LEAD,
    "PATCH /api/v1/leads/<int:lead_id>": NOBODY,  # the body moves it on (status)
    "PATCH /api/v1/leads/<int:lead_id> [public]": only(REGIONAL),
    "POST /api/v1/leads/<int:lead_id>/comments": SEES_LEAD,
    "POST /api/v1/leads/<int:lead_id>/comments [public]": SEES_LEAD,

    # Clusters, value chains, criticality: everyone signed in reads; admins and regional AMs
    # manage clusters and chains; roles and supply links go with editing the organisations.
    "GET /chains/": SIGNED_IN,
    "GET /chains/new": MANAGERS,
    "POST /chains/new": MANAGERS,
    "GET /chains/<int:chain_id>": SIGNED_IN,
    "GET /chains/<int:chain_id>/edit": MANAGERS,
    "POST /chains/<int:chain_id>/edit": MANAGERS,
    "GET /chains/<int:chain_id>/delete": MANAGERS,
    "POST /chains/<int:chain_id>/delete": MANAGERS,
    "GET /chains/<int:chain_id>/gaps": SIGNED_IN,
    "GET /chains/<int:chain_id>/network": SIGNED_IN,
    "GET /chains/<int:chain_id>/roles": SIGNED_IN,
    "POST /chains/<int:chain_id>/stages": MANAGERS,
    "GET /chains/<int:chain_id>/stages/<int:stage_id>/edit": MANAGERS,
    "POST /chains/<int:chain_id>/stages/<int:stage_id>/edit": MANAGERS,
    "POST /chains/<int:chain_id>/stages/<int:stage_id>/delete": MANAGERS,
    "POST /chains/<int:chain_id>/stages/<int:stage_id>/move": MANAGERS,
    "GET /chains/clusters/new": MANAGERS,
    "POST /chains/clusters/new": MANAGERS,
    "GET /chains/clusters/<int:cluster_id>": SIGNED_IN,
    "GET /chains/clusters/<int:cluster_id>/edit": MANAGERS,
    "POST /chains/clusters/<int:cluster_id>/edit": MANAGERS,
    "GET /chains/clusters/<int:cluster_id>/delete": MANAGERS,
    "POST /chains/clusters/<int:cluster_id>/delete": MANAGERS,
    "GET /chains/critical": SIGNED_IN,
    "GET /chains/gaps": SIGNED_IN,
    "GET /chains/criticality/<int:org_id>": SIGNED_IN,
    "POST /chains/criticality/<int:org_id>/flag": MANAGERS,
    "POST /chains/criticality/recompute": MANAGERS,
    "GET /chains/criticality/settings": ADMINS,
    "POST /chains/criticality/settings": ADMINS,
    "GET /chains/what-if/<int:org_id>": SIGNED_IN,
    "GET /chains/links/": SIGNED_IN,
    "GET /chains/links/new": WORKERS,
    # A supply link between two Papendrecht companies: who edits them.
    "POST /chains/links/new": EDIT_HOME,
    "GET /chains/links/<int:link_id>/edit": EDIT_HOME,
    "POST /chains/links/<int:link_id>/edit": EDIT_HOME,
    "POST /chains/links/<int:link_id>/delete": EDIT_HOME,
    "GET /chains/roles/new": WORKERS,
    "POST /chains/roles/new": EDIT_HOME,
    "POST /chains/roles/<int:role_id>/delete": EDIT_HOME,
    "GET /chains/organisations/<int:org_id>/clusters": EDIT_HOME,
    "POST /chains/organisations/<int:org_id>/clusters": EDIT_HOME,
    "POST /chains/organisations/<int:org_id>/clusters/primary": EDIT_HOME,
    "POST /chains/organisations/<int:org_id>/clusters/remove": EDIT_HOME,
    "GET /api/v1/clusters": SIGNED_IN,
    "POST /api/v1/clusters": MANAGERS,
    "GET /api/v1/clusters/<int:cluster_id>": SIGNED_IN,
    "PATCH /api/v1/clusters/<int:cluster_id>": MANAGERS,
    "DELETE /api/v1/clusters/<int:cluster_id>": MANAGERS,
    "GET /api/v1/value-chains": SIGNED_IN,
    "POST /api/v1/value-chains": MANAGERS,
    "GET /api/v1/value-chains/<int:chain_id>": SIGNED_IN,
    "PATCH /api/v1/value-chains/<int:chain_id>": MANAGERS,
    "DELETE /api/v1/value-chains/<int:chain_id>": MANAGERS,
    "POST /api/v1/value-chains/<int:chain_id>/stages": MANAGERS,
    "PATCH /api/v1/value-chains/<int:chain_id>/stages/<int:stage_id>": MANAGERS,
    "DELETE /api/v1/value-chains/<int:chain_id>/stages/<int:stage_id>": MANAGERS,
    "GET /api/v1/value-chains/<int:chain_id>/roles": SIGNED_IN,
    "POST /api/v1/value-chains/<int:chain_id>/roles": EDIT_HOME,
    "DELETE /api/v1/value-chains/<int:chain_id>/roles/<int:role_id>": EDIT_HOME,
    "GET /api/v1/supply-links": SIGNED_IN,
    "POST /api/v1/supply-links": EDIT_HOME,
    "GET /api/v1/supply-links/<int:link_id>": SIGNED_IN,
    "PATCH /api/v1/supply-links/<int:link_id>": EDIT_HOME,
    "DELETE /api/v1/supply-links/<int:link_id>": EDIT_HOME,
    "POST /api/v1/organisations/<int:org_id>/criticality-flag": MANAGERS,
    "POST /api/v1/criticality/recompute": MANAGERS,

    # Programmes: everyone signed in reads the pipeline and progress; business developers,
    # regional AMs and admins work the pipeline; admins define programmes.
    "GET /programmes/": SIGNED_IN,
    "GET /programmes/<code>": SIGNED_IN,
    "GET /programmes/<code>/progress": SIGNED_IN,
    "GET /programmes/<code>/progress/unapproached": SIGNED_IN,
    "GET /programmes/<code>/deleted": IMPORTERS,
    "POST /programmes/<code>/export": IMPORTERS,
    "POST /programmes/<code>/move": IMPORTERS,
    "GET /programmes/bulk-add": IMPORTERS,
    "POST /programmes/bulk-add": IMPORTERS,
    "GET /programmes/participations/new": IMPORTERS,
    "POST /programmes/participations/new": IMPORTERS,
    "GET /programmes/participations/<int:participation_id>": SIGNED_IN,
    "GET /programmes/<code>/participations/<int:participation_id>": SIGNED_IN,
    "POST /programmes/<code>/participations/<int:participation_id>/edit": IMPORTERS,
    "POST /programmes/<code>/participations/<int:participation_id>/status": IMPORTERS,
    "GET /programmes/<code>/participations/<int:participation_id>/delete": IMPORTERS,
    "POST /programmes/<code>/participations/<int:participation_id>/delete": IMPORTERS,
    "POST /programmes/<code>/participations/<int:participation_id>/restore": IMPORTERS,
    # Linking the confidential contact moment: only who sees it; others are told it does not
    # exist. Unlinking it: the same.
    "POST /programmes/<code>/participations/<int:participation_id>/interactions":
        answers(IMPORTERS, changes=ADMINS),
    "POST /programmes/<code>/participations/<int:participation_id>/interactions/"
    "<int:interaction_id>/remove": ADMINS,
    "POST /programmes/<code>/participations/<int:participation_id>/interactions/"
    "<int:interaction_id>/remove [public]": IMPORTERS,
    "GET /api/v1/programmes": SIGNED_IN,
    "POST /api/v1/programmes": ADMINS,
    "GET /api/v1/programmes/<string(maxlength=40):code>": SIGNED_IN,
    "PATCH /api/v1/programmes/<string(maxlength=40):code>": ADMINS,
    "DELETE /api/v1/programmes/<string(maxlength=40):code>": ADMINS,
    "GET /api/v1/programmes/<string(maxlength=40):code>/progress": SIGNED_IN,
    "POST /api/v1/programmes/<string(maxlength=40):code>/export": IMPORTERS,
    "GET /api/v1/programmes/<string(maxlength=40):code>/participations": SIGNED_IN,
    "POST /api/v1/programmes/<string(maxlength=40):code>/participations": IMPORTERS,
    "GET /api/v1/programmes/<string(maxlength=40):code>/participations/<int:participation_id>":
        SIGNED_IN,
    "PATCH /api/v1/programmes/<string(maxlength=40):code>/participations/"
    "<int:participation_id>": IMPORTERS,
    "DELETE /api/v1/programmes/<string(maxlength=40):code>/participations/"
    "<int:participation_id>": IMPORTERS,
    "POST /api/v1/programmes/<string(maxlength=40):code>/participations/"
    "<int:participation_id>/interactions": answers(IMPORTERS, changes=ADMINS),
    "DELETE /api/v1/programmes/<string(maxlength=40):code>/participations/"
    "<int:participation_id>/interactions/<int:interaction_id>": ADMINS,
    "DELETE /api/v1/programmes/<string(maxlength=40):code>/participations/"
    "<int:participation_id>/interactions/<int:interaction_id> [public]": IMPORTERS,

    # Imports, held rows, duplicates and exports.
    "GET /imports/": IMPORTERS,
    "POST /imports/": IMPORTERS,
    # The business developer's import preview: theirs and admins'.
    "GET /imports/<job_id>/mapping": only(ADMIN, BIZDEV),
    "POST /imports/<job_id>/mapping": only(ADMIN, BIZDEV),
    "POST /imports/<job_id>/run": only(ADMIN, BIZDEV),
    # Undoing an import that ran (issue 14): admins only.
    "GET /imports/<job_id>/undo": ADMINS,
    "POST /imports/<job_id>/undo": ADMINS,
    "GET /imports/review": IMPORTERS,
    "GET /imports/review/<int:review_id>": IMPORTERS,
    "POST /imports/review/<int:review_id>/create": IMPORTERS,
    "POST /imports/review/<int:review_id>/merge": IMPORTERS,
    "GET /imports/duplicates": MANAGERS,
    "POST /imports/duplicates/search": MANAGERS,
    "GET /imports/duplicates/dismissed": ADMINS,
    "GET /imports/duplicates/<int:a_id>/<int:b_id>": MANAGERS,
    "POST /imports/duplicates/<int:a_id>/<int:b_id>": MANAGERS,
    "POST /imports/duplicates/<int:a_id>/<int:b_id>/dismiss": MANAGERS,
    "POST /imports/duplicates/<int:a_id>/<int:b_id>/undo-dismissal": ADMINS,
    # Exports of the lists: what each one sees (the content check guards the rows).
    "GET /imports/export/<kind>.<fmt>": WORKERS,
    "GET /imports/export/participations/<code>.<fmt>": WORKERS,
}

# Lists, searches, filters, timelines and exports with query strings, tried as every actor on
# top of the routes themselves: no server error, and no marker an actor may not read
# (ids guessed across municipalities find nothing: the confidential contact moment and its
# task, the lead, deleted records).
PROBES = (
    "/?q={marker}",
    "/interactions/?q=Geheimoverleg",
    "/interactions/?organisation_id={org_id}",
    "/interactions/?organisation=Matrixwerf&confidential=1",
    "/interactions/?author={home_id}",
    "/interactions/organisations.json?q=Matrixwerf",
    "/organisations/?q=Matrixwerf",
    "/organisations/{org_id}?kind=interaction",
    "/organisations/{org_id}?kind=task",
    "/organisations/{org_id}?kind=lead",
    "/organisations/{org_id}?kind=change",
    "/contacts/?q=Vlieringmaker",
    "/search?q=Geheimoverleg",
    "/search?q=Matrixwerf",
    "/search?q=Vlieringma",  # part of the name: the page repeats what was typed
    "/search?q=Matrixwerf&kind=interactions",
    "/search?q=Matrixwerf&kind=leads",
    "/search?q=Matrixwerf&kind=contacts",
    "/search?q=Kraanvogel",
    "/search?q=Grutto",
    "/search?q=Smienthav",
    "/tasks/?tab=open&scope=created",
    "/tasks/?tab=week",
    "/tasks/new?interaction_id={interaction_id}",
    "/interactions/new?organisation_id={org_id}",
    "/leads/?tab=all",
    "/leads/?tab=sent",
    "/leads/new?organisation_id={org_id}",
    "/programmes/scale/participations/{participation_id}",
    "/chains/criticality/{org_id}",
    "/accounts/?user_id={home_id}",
    "/api/v1/interactions?organisation_id={org_id}",
    "/api/v1/interactions?page=1&per_page=100",
    "/api/v1/tasks?organisation_id={org_id}",
    "/api/v1/tasks?assignee={home_id}",
    "/api/v1/leads?box=all",
    "/api/v1/leads?organisation_id={org_id}",
    "/api/v1/contacts?organisation_id={org_id}",
    "/api/v1/programmes/scale/participations/{participation_id}",
    "/imports/export/interactions.csv",
    "/imports/export/interactions.csv?q=Geheimoverleg",
    "/imports/export/contacts.csv",
    "/imports/export/organisations.csv",
    "/imports/export/participations/scale.csv",
    "/jobs/{job_id}/files/output",
)

# Whose eyes an answer is for, when it is not the actor's: the calendar feed is local_home's
# (the secret in its address is theirs), whoever fetches it.
CONTENT_AS = {"GET /tasks/calendar/<secret>.ics": LOCAL_HOME}

# Routes whose success is the login page: signing out; the code step without a password step.
SIGN_OUT = {"POST /logout", "GET /login/code", "POST /login/code"}


# --- markers: what an actor must never read ------------------------------------------------------

SECRET_SUBJECT = "Geheimoverleg Matrixwerf"
SECRET_NOTES = "Overnamebod Zwaluwstaart vertrouwelijk"
SECRET_TASK = "Terugkoppeling Zwaluwstaart"
LEAD_TITLE = "Verhuisplan Kraanvogel"
LEAD_TASK = "Kraanvogel terugbellen"
CONTACT_NAME = "Vlieringmaker"
CONTACT_EMAIL = "p.vlieringmaker@matrixwerf.example"
PUBLIC_NOTES = "Vacaturegesprek Reigersbek"
DELETED_SUBJECT = "Verwijderd gesprek Ooievaar"
# The mirror in Dordrecht, owned by local_other.
DORDT_SUBJECT = "Dordts geheim Grutto"
DORDT_NOTES = "Faillissementsdreiging Kievit"
DORDT_TASK = "Nabellen over Kievit"
DORDT_CONTACT = "Smienthaver"

MARKERS = {
    SECRET_SUBJECT: SEES_SECRET, SECRET_NOTES: SEES_SECRET, SECRET_TASK: SEES_SECRET,
    LEAD_TITLE: SEES_LEAD, LEAD_TASK: SEES_LEAD, CONTACT_NAME: WORKERS, CONTACT_EMAIL: WORKERS, PUBLIC_NOTES: WORKERS,
    DELETED_SUBJECT: ADMINS,
    DORDT_SUBJECT: SEES_DORDT_SECRET, DORDT_NOTES: SEES_DORDT_SECRET,
    DORDT_TASK: SEES_DORDT_SECRET, DORDT_CONTACT: WORKERS,
}


# --- the records ------------------------------------------------------------------------------

@dataclass
class World:
    users: dict
    user_ids: dict
    ids: dict  # URL parameter name → value (records of Papendrecht, owned by local_home)
    deleted: dict  # URL parameter name → id of a soft-deleted record (restore routes)
    variants: dict  # variant name → URL parameters tried again with these values
    extra: dict = field(default_factory=dict)


def build_world(app, make_user, make_org, make_contact, login) -> World:
    from sdd_crm.imports.models import ImportReview
    from sdd_crm.interactions.models import Interaction, Task
    from sdd_crm.interactions.services import (
        create_interaction, create_task, delete_interaction, delete_task)
    from sdd_crm.contacts.services import delete_contact
    from sdd_crm.jobs.files import store_file
    from sdd_crm.jobs.models import Job
    from sdd_crm.leads.services import share_lead
    from sdd_crm.notifications.services import notify
    from sdd_crm.organisations import join_requests
    from sdd_crm.organisations.models import AccountTeamMember
    from sdd_crm.organisations.services import delete_organisation, set_account_team_member
    from sdd_crm.programmes.models import Programme
    from sdd_crm.programmes.admin_services import create_programme, delete_programme
    from sdd_crm.programmes.services import (
        add_participation, delete_participation, link_interaction)
    from sdd_crm.tasks.calendar import new_calendar_secret
    from sdd_crm.valuechains.network_services import (
        add_chain_role, create_supply_link, delete_chain_role, delete_supply_link)
    from sdd_crm.valuechains.services import (
        create_cluster, create_value_chain, delete_cluster, delete_value_chain)

    u = {
        ADMIN: make_user("admin", name="Matrix Beheerder"),
        REGIONAL: make_user("regional_account_manager", name="Matrix Regio"),
        LOCAL_HOME: make_user("local_account_manager", municipality="GM0590",
                              name="Matrix Papendrecht"),
        LOCAL_OTHER: make_user("local_account_manager", municipality="GM0505",
                               name="Matrix Dordrecht"),
        BIZDEV: make_user("business_developer", name="Matrix Bizdev"),
        VIEWER: make_user("viewer", name="Matrix Kijker"),
        "strategic": make_user("regional_account_manager", name="Matrix Strateeg"),
        # The Sliedrecht lead's receiving side (a lead goes only where someone receives it).
        "sliedrecht": make_user("local_account_manager", municipality="GM0610",
                                name="Matrix Sliedrecht"),
    }
    admin, home = u[ADMIN], u[LOCAL_HOME]
    today = dt.date.today()
    org = make_org(actor=home, name="Matrixwerf Papendrecht B.V.", city="Papendrecht",
                   kvk_number="90000001", employees=40)
    twin = make_org(actor=home, name="Matrixwerf Papendrecht", city="Papendrecht",
                    kvk_number="90000002")
    set_account_team_member(org, u["strategic"], "strategic", actor=admin)
    set_account_team_member(org, home, "local", actor=u["strategic"])
    member_id = db.session.scalar(sa.select(AccountTeamMember.id).where(
        AccountTeamMember.organisation_id == org.id, AccountTeamMember.user_id == home.id))
    contact = make_contact(org, actor=home, first_name="Pieter", last_name=CONTACT_NAME,
                           email=CONTACT_EMAIL)
    secret = create_interaction({
        "organisation_id": org.id, "type": "visit", "date": today, "subject": SECRET_SUBJECT,
        "notes": SECRET_NOTES, "confidential": True, "contact_ids": [contact.id],
        # The regional AM was there, but is not in the account team: still not theirs to read.
        "user_ids": [u[REGIONAL].id],
        "follow_ups": [{"title": SECRET_TASK, "assignee_id": home.id,
                        "due_date": today + dt.timedelta(days=3)}]}, actor=home)
    create_interaction({"organisation_id": org.id, "type": "call", "date": today,
                        "subject": "Openbaar gesprek", "notes": PUBLIC_NOTES,
                        "contact_ids": [contact.id]}, actor=home)
    public = db.session.scalar(sa.select(Interaction).where(
        Interaction.subject == "Openbaar gesprek"))
    task = db.session.scalar(sa.select(Task).where(Task.interaction_id == secret.id))
    open_task = create_task({"title": "Offerte nabellen", "organisation_id": org.id,
                             "assignee_id": home.id}, actor=home)
    to_region = share_lead({"organisation_id": org.id, "type": "expansion",
                            "title": "Zoekt een grotere hal", "shared_with": "regional_team"},
                           actor=home)
    lead = share_lead({"organisation_id": org.id, "type": "relocation", "title": LEAD_TITLE,
                       "shared_with_municipality": "GM0610"}, actor=home)
    # A task following the lead is hidden with it.
    create_task({"title": LEAD_TASK, "organisation_id": org.id, "lead_id": lead.id,
                 "assignee_id": home.id, "due_date": today}, actor=home)
    join = join_requests.ask_to_join(org, {"team_role": "local", "reason": "Ik ken ze goed."},
                                     actor=u[REGIONAL])
    # The mirror in Dordrecht, owned by local_other: the "[dordrecht]" variant.
    other = u[LOCAL_OTHER]
    dordt = make_org(actor=other, name="Matrixhaven Dordrecht B.V.", city="Dordrecht",
                     kvk_number="90000003")
    set_account_team_member(dordt, u["strategic"], "strategic", actor=admin)
    set_account_team_member(dordt, other, "local", actor=u["strategic"])
    dordt_contact = make_contact(dordt, actor=other, first_name="Dirk", last_name=DORDT_CONTACT)
    dordt_secret = create_interaction({
        "organisation_id": dordt.id, "type": "visit", "date": today, "subject": DORDT_SUBJECT,
        "notes": DORDT_NOTES, "confidential": True, "contact_ids": [dordt_contact.id],
        "follow_ups": [{"title": DORDT_TASK, "assignee_id": other.id}]}, actor=other)
    db.session.flush()
    dordt_task = db.session.scalar(sa.select(Task).where(Task.interaction_id == dordt_secret.id))
    join_requests.ask_to_join(dordt, {"team_role": "local", "reason": "Ook deze."},
                              actor=u[REGIONAL])
    cluster = create_cluster({"name": "Matrixcluster", "description": "Test"}, actor=admin)
    chain = create_value_chain({"name": "Matrixketen", "cluster_id": cluster.id,
                                "stages": ["Ontwerp", "Bouw"]}, actor=admin)
    stage = chain.stages[0]
    role = add_chain_role({"organisation_id": org.id, "value_chain_id": chain.id,
                           "stage_id": stage.id, "role": "tier1"}, actor=admin)
    link = create_supply_link({"supplier_id": org.id, "customer_id": twin.id,
                               "value_chain_id": chain.id, "supplied": "staal",
                               "sole_source": True}, actor=admin)
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    participation = add_participation(programme, org.id, actor=u[BIZDEV])
    # local_home's export of the contact moments (holds the confidential one) and its file.
    export = Job(id=str(uuid.uuid4()), kind="export_list", status="finished", progress=100,
                 params={"export": "interactions", "format": "csv", "args": {}},
                 created_by_id=home.id)
    db.session.add(export)
    db.session.flush()
    store_file(export.id, "output", "contactmomenten.csv", "text/csv",
               f"onderwerp;notities\r\n{SECRET_SUBJECT};{SECRET_NOTES}\r\n".encode())
    # The business developer's import preview (finished dry run) with its input.
    preview = Job(id=str(uuid.uuid4()), kind="import_organisations", status="finished",
                  progress=100, created_by_id=u[BIZDEV].id,
                  params={"filename": "lijst.csv", "kind": "organisations", "dry_run": True,
                          "mapping": {"naam": "name", "plaats": "city"}},
                  result={"created": 1})
    db.session.add(preview)
    db.session.flush()
    store_file(preview.id, "input", "lijst.csv", "text/csv",
               b"naam;plaats\r\nMatrixnieuw B.V.;Papendrecht\r\n")
    # An import that ran (the business developer's) and what it created: for the undo.
    from sdd_crm.db import utcnow
    from sdd_crm.imports.models import ImportChange

    imported = make_org(actor=u[BIZDEV], name="Matrixgeimporteerd B.V.", city="Papendrecht")
    import_run = Job(id=str(uuid.uuid4()), kind="import_organisations", status="finished",
                     progress=100, created_by_id=u[BIZDEV].id, finished_at=utcnow(),
                     params={"filename": "lijst.csv", "kind": "organisations",
                             "dry_run": False, "mapping": {"naam": "name", "plaats": "city"}},
                     result={"created": 1})
    db.session.add(import_run)
    db.session.flush()
    db.session.add(ImportChange(job_id=import_run.id, entity_type="organisation",
                                entity_id=imported.id, action="create", changes={},
                                record_version=imported.version))
    review = ImportReview(kind="organisations", source="lijst.csv", row_number=2, row_hash="m1",
                          candidate_id=org.id, data={"name": "Matrixwerf", "postcode": "3351 AA"})
    db.session.add(review)
    [notification] = notify([home.id], "task_assigned", "Matrixmelding", link=f"/tasks/{task.id}")
    feed_secret = new_calendar_secret(home)
    # Both contact moments linked to the participation (an unlink is tried on each).
    link_interaction(participation, secret.id, actor=admin)
    link_interaction(participation, public.id, actor=admin)
    # Soft-deleted records of every kind, for the restore screens: only admins see them.
    gone = make_org(actor=home, name="Matrix Verdwenen B.V.", city="Papendrecht")
    gone_contact = make_contact(org, actor=home, last_name="Weggewerkt")
    gone_interaction = create_interaction({"organisation_id": org.id, "type": "call",
                                           "date": today, "subject": DELETED_SUBJECT},
                                          actor=home)
    gone_task = create_task({"title": "Vervallen taak", "organisation_id": org.id}, actor=home)
    gone_lead = share_lead({"organisation_id": org.id, "type": "risk", "title": "Vervallen",
                            "shared_with": "regional_team"}, actor=home)
    gone_cluster = create_cluster({"name": "Matrix vervallen cluster"}, actor=admin)
    gone_chain = create_value_chain({"name": "Matrix vervallen keten", "cluster_id": cluster.id,
                                     "stages": ["Een"]}, actor=admin)
    gone_role = add_chain_role({"organisation_id": twin.id, "value_chain_id": chain.id,
                                "stage_id": stage.id, "role": "customer"}, actor=admin)
    gone_link = create_supply_link({"supplier_id": twin.id, "customer_id": org.id,
                                    "supplied": "hout"}, actor=admin)
    gone_participation = add_participation(programme, twin.id, actor=u[BIZDEV])
    gone_programme = create_programme({
        "code": "matrix-weg", "name": "Matrix vervallen programma", "municipalities": ["GM0590"],
        "targets": [{"kind": "sme_count", "value": 5}]}, actor=admin)
    db.session.flush()
    delete_task(gone_task, actor=home)
    delete_interaction(gone_interaction, actor=home)
    delete_contact(gone_contact, actor=home)
    gone_lead.deleted_at = dt.datetime.now(dt.timezone.utc)
    gone_lead.deleted_by_id = admin.id
    delete_organisation(gone, actor=home)
    delete_cluster(gone_cluster, actor=admin)
    delete_value_chain(gone_chain, actor=admin)
    delete_chain_role(gone_role, actor=admin)
    delete_supply_link(gone_link, actor=admin)
    delete_participation(gone_participation, actor=admin)
    delete_programme(gone_programme, actor=admin)
    db.session.commit()
    # local_home signed in elsewhere: a session of theirs for the session screens.
    login(home, c=app.test_client())
    session_id = db.session.scalar(sa.text(
        "SELECT max(id) FROM user_session WHERE user_id = :u"), {"u": home.id})

    ids = {
        "org_id": org.id, "contact_id": contact.id, "interaction_id": secret.id,
        "task_id": task.id, "lead_id": lead.id, "member_id": member_id, "request_id": join.id,
        "cluster_id": cluster.id, "chain_id": chain.id, "stage_id": stage.id,
        "role_id": role.id, "link_id": link.id, "code": "scale",
        "participation_id": participation.id, "job_id": export.id, "role": "output",
        "review_id": review.id, "a_id": min(org.id, twin.id), "b_id": max(org.id, twin.id),
        "notification_id": notification.id, "user_id": home.id, "secret": feed_secret,
        "lang": "en", "kind": "interactions", "fmt": "csv", "filename": "css/app.css",
        "session_id": session_id,
    }
    deleted = {"org_id": gone.id, "contact_id": gone_contact.id,
               "interaction_id": gone_interaction.id, "task_id": gone_task.id,
               "lead_id": gone_lead.id, "record_id": gone_interaction.id,
               "cluster_id": gone_cluster.id, "chain_id": gone_chain.id, "role_id": gone_role.id,
               "link_id": gone_link.id, "participation_id": gone_participation.id,
               "code": gone_programme.code}
    from sdd_crm.contacts.models import Contact
    from sdd_crm.leads.models import Lead
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.programmes.models import Participation
    from sdd_crm.valuechains.models import Cluster, SupplyLink, ValueChain

    versions = {}
    for param, model in (("org_id", Organisation), ("contact_id", Contact),
                         ("interaction_id", Interaction), ("task_id", Task), ("lead_id", Lead),
                         ("cluster_id", Cluster), ("chain_id", ValueChain),
                         ("link_id", SupplyLink), ("participation_id", Participation)):
        for record_id, version in db.session.execute(sa.select(model.id, model.version)):
            versions[(param, record_id)] = version
    versions[("code", "scale")] = programme.version
    variants = {"public": {"interaction_id": public.id, "task_id": open_task.id,
                           "lead_id": to_region.id},
                "dordrecht": {"org_id": dordt.id, "contact_id": dordt_contact.id,
                              "interaction_id": dordt_secret.id, "task_id": dordt_task.id}}
    fields = {
        "org": {o.id: {"name": o.name, "city": o.city, "kvk_number": o.kvk_number}
                for o in (org, dordt)},
        "contact": {c.id: {"first_name": c.first_name, "last_name": c.last_name,
                           "email": c.email or ""} for c in (contact, dordt_contact)},
        "kvk_of_interaction": {secret.id: "90000001", public.id: "90000001",
                               dordt_secret.id: "90000003"},
    }
    return World(users=u, user_ids={k: v.id for k, v in u.items()}, ids=ids, deleted=deleted,
                 variants=variants,
                 extra={"preview_job_id": preview.id, "twin_id": twin.id, "versions": versions,
                        "fields": fields, "import_job_id": import_run.id})


def params_for(rule, world: World, variant: str | None = None) -> dict:
    """URL parameter values for ``rule``: the Papendrecht records; soft-deleted ones for the
    restore routes; the business developer's import preview for the import steps."""
    values = dict(world.ids)
    if rule.rule.endswith("/restore") and rule.arguments:
        # The record restored is the last parameter of the address (the others stay live).
        last = [a for a in rule.arguments if f"{a}>" in rule.rule.rsplit("<", 1)[-1]][0]
        if last not in world.deleted:
            raise AssertionError(f"{rule.rule}: no soft-deleted record for {last!r}; add one "
                                 "to build_world's deleted (tests/test_access_matrix.py)")
        values[last] = world.deleted[last]
    if rule.rule.startswith("/imports/<"):
        values["job_id"] = world.extra["preview_job_id"]
    if rule.rule == "/imports/<job_id>/undo":  # an import that ran, not a preview
        values["job_id"] = world.extra["import_job_id"]
    if variant:
        values.update(world.variants[variant])
    missing = [a for a in rule.arguments if a not in values]
    if missing:
        raise AssertionError(f"{rule.rule}: no value for URL parameter(s) {missing}; add them "
                             "to build_world's ids (tests/test_access_matrix.py)")
    return {a: values[a] for a in rule.arguments}


# --- request bodies for writes: enough to pass the form checks, so the access rule decides -----

def bodies(world: World, role: str, i: dict) -> dict[str, dict]:
    """A valid body for each write worth one (API writes all; the HTML forms whose rule
    depends on what is sent) — ``i`` are the URL parameters the route is tried with. Without a
    body a write is sent empty: the access check comes first."""
    x = world.extra
    versions = world.extra["versions"]
    v = {name: versions.get((param, i.get(param)), 1) for name, param in (
        ("org", "org_id"), ("contact", "contact_id"), ("interaction", "interaction_id"),
        ("task", "task_id"), ("lead", "lead_id"), ("cluster", "cluster_id"),
        ("chain", "chain_id"), ("link", "link_id"), ("programme", "code"),
        ("participation", "participation_id"))}
    me = world.user_ids.get(role, world.user_ids[LOCAL_OTHER])
    today = dt.date.today().isoformat()
    return {
        # The API: creates, changes, deletes.
        "POST /api/v1/organisations": {"name": "Matrix Nieuw B.V.", "org_type": "company",
                                       "city": "Papendrecht"},
        "PATCH /api/v1/organisations/<int:org_id>": {"version": v["org"], "employees": 41},
        "POST /api/v1/organisations/<int:org_id>/criticality-flag": {
            "critical": True, "reason": "Enige leverancier van de regio."},
        "POST /api/v1/contacts": {"organisation_id": i["org_id"], "last_name": "Nieuwkomer"},
        "PATCH /api/v1/contacts/<int:contact_id>": {"version": v["contact"],
                                                    "function": "Directeur"},
        "POST /api/v1/interactions": {"organisation_id": i["org_id"], "type": "call",
                                      "date": today, "subject": "Matrix belletje"},
        "PATCH /api/v1/interactions/<int:interaction_id>": {"version": v["interaction"],
                                                            "subject": "Overschreven"},
        # A task following the confidential contact moment: only who sees it may.
        "POST /api/v1/tasks": {"title": "Matrix taak", "organisation_id": i["org_id"],
                               "interaction_id": i["interaction_id"]},
        "PATCH /api/v1/tasks/<int:task_id>": {"version": v["task"], "title": "Overschreven"},
        "POST /api/v1/leads": {"organisation_id": i["org_id"], "type": "expansion",
                               "title": "Matrix signaal", "shared_with": "regional_team"},
        "PATCH /api/v1/leads/<int:lead_id>": {"version": v["lead"], "status": "accepted"},
        "POST /api/v1/leads/<int:lead_id>/comments": {"body": "Ik weet er meer van."},
        "POST /api/v1/clusters": {"name": "Matrix nieuw cluster"},
        "PATCH /api/v1/clusters/<int:cluster_id>": {"version": v["cluster"],
                                                    "description": "Gewijzigd"},
        "POST /api/v1/value-chains": {"name": "Matrix nieuwe keten", "cluster_id": i["cluster_id"]},
        "PATCH /api/v1/value-chains/<int:chain_id>": {"version": v["chain"],
                                                      "description": "Gewijzigd"},
        "POST /api/v1/value-chains/<int:chain_id>/stages": {"name": "Afbouw"},
        "PATCH /api/v1/value-chains/<int:chain_id>/stages/<int:stage_id>": {"name": "Schetsen"},
        "POST /api/v1/value-chains/<int:chain_id>/roles": {
            "organisation_id": x["twin_id"], "stage_id": i["stage_id"], "role": "tier2"},
        "POST /api/v1/supply-links": {"supplier_id": x["twin_id"], "customer_id": i["org_id"],
                                      "supplied": "koper"},
        "PATCH /api/v1/supply-links/<int:link_id>": {"version": v["link"], "supplied": "brons"},
        "POST /api/v1/programmes": {
            "code": "matrixprog", "name": "Matrixprogramma", "municipalities": ["GM0590"],
            "targets": [{"kind": "sme_count", "value": 10}]},
        "PATCH /api/v1/programmes/<string(maxlength=40):code>": {
            "version": v["programme"], "description": "Gewijzigd"},
        "POST /api/v1/programmes/<string(maxlength=40):code>/participations": {
            "organisation_id": x["twin_id"]},
        "PATCH /api/v1/programmes/<string(maxlength=40):code>/participations/"
        "<int:participation_id>": {"version": v["participation"], "notes": "Gewijzigd"},
        # Linking the confidential contact moment to a participation.
        "POST /api/v1/programmes/<string(maxlength=40):code>/participations/"
        "<int:participation_id>/interactions": {"interaction_id": i["interaction_id"]},
        # HTML forms.
        "POST /organisations/new": {"name": "Matrix Nieuw B.V.", "org_type": "company",
                                    "city": "Papendrecht", "status": "active"},
        "POST /tasks/new": {"title": "Matrix taak", "assignee_id": str(me),
                            "organisation": "90000001",
                            "interaction_id": str(i["interaction_id"])},
        "POST /chains/links/new": {"supplier": "90000002", "customer": "90000001",
                                   "value_chain_id": str(i["chain_id"]), "supplied": "koper"},
        "POST /chains/roles/new": {"organisation": "90000002", "value_chain_id": str(i["chain_id"]),
                                   "stage_id": str(i["stage_id"]), "role": "tier2"},
        "POST /organisations/<int:org_id>/edit": {
            **x["fields"]["org"].get(i["org_id"], {}), "version": v["org"], "org_type": "company",
            "status": "active", "employees": "41"},
        "POST /organisations/<int:org_id>/delete": {"version": v["org"]},
        "POST /organisations/<int:org_id>/team": {"user_id": str(me), "team_role": "local"},
        "POST /organisations/<int:org_id>/join-requests": {"team_role": "local",
                                                           "reason": "Ik ken ze."},
        "POST /contacts/<int:contact_id>/edit": {
            **x["fields"]["contact"].get(i["contact_id"], {}), "version": v["contact"],
            "function": "Directeur", "lawful_basis": "public_task", "preferred_language": "nl"},
        "POST /contacts/<int:contact_id>/delete": {"version": v["contact"]},
        "POST /interactions/<int:interaction_id>/edit": {
            "version": v["interaction"], "type": "visit", "date": today,
            "organisation": x["fields"]["kvk_of_interaction"].get(i["interaction_id"], "90000001"),
            "subject": "Overschreven", "confidential": "y"},
        "POST /interactions/<int:interaction_id>/delete": {"version": v["interaction"]},
        "POST /tasks/<int:task_id>/edit": {"version": v["task"], "title": "Overschreven",
                                           "assignee_id": str(world.user_ids[LOCAL_HOME])},
        "POST /tasks/<int:task_id>/delete": {"version": v["task"]},
        "POST /leads/<int:lead_id>/edit": {"version": v["lead"], "title": "Overschreven",
                                           "type": "relocation"},
        "POST /leads/<int:lead_id>/status": {"version": v["lead"], "status": "accepted"},
        "POST /leads/<int:lead_id>/comments": {"body": "Ik weet er meer van."},
        "POST /organisations/<int:org_id>/join-requests/<int:request_id>/decline": {
            "decision_reason": "Nee."},
        "POST /programmes/<code>/participations/<int:participation_id>/interactions": {
            "interaction_id": str(i["interaction_id"])},
    }


# --- the runner --------------------------------------------------------------------------------

OBSERVED: dict = {}
SAFE = {"GET", "HEAD", "OPTIONS"}
# A refusal may write these (the audit trail of the refusal itself); nothing else. Columns that
# every request touches (when a token or a session was last used) are left out of the compare.
UNCHECKED_TABLES = {"audit_event", "alembic_version"}
UNCHECKED_COLUMNS = {"api_token": {"last_used_at", "updated_at"}, "user_session": {"last_seen_at"},
                     "user": {"last_login_at", "failed_login_count", "last_failed_login_at"}}


# Routes tried a second time with other records: "public" = a contact moment that is not
# confidential, a task that follows none, and a lead shared with the regional team (all by
# local_home). Their entries read "METHOD rule [public]".
VARIANT_PARAMS = {"public": ("interaction_id", "task_id", "lead_id")}
# And once more on the mirror in Dordrecht — an organisation, contact, confidential contact
# moment and its task owned by local_other — for the routes about those records only. The
# expectation is the route's own with the two local account managers swapped.
MIRROR = "dordrecht"
MIRROR_PARAMS = {"org_id", "contact_id", "interaction_id", "task_id"}


def route_keys(app) -> dict[str, tuple]:
    """"METHOD rule" (and "METHOD rule [variant]") → (rule, variant or None)."""
    keys = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            keys[f"{method} {rule.rule}"] = (rule, None)
            if "restore" in rule.rule:
                continue
            for variant, names in VARIANT_PARAMS.items():
                if set(names) & set(rule.arguments):
                    keys[f"{method} {rule.rule} [{variant}]"] = (rule, variant)
            if rule.arguments and set(rule.arguments) <= MIRROR_PARAMS:
                keys[f"{method} {rule.rule} [{MIRROR}]"] = (rule, MIRROR)
    return keys


def snapshot() -> dict[str, list]:
    """Every row of every table (but those a refusal may write), as text."""
    connection = db.session.connection()
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in UNCHECKED_TABLES:
            continue
        skip = UNCHECKED_COLUMNS.get(table.name, set())
        columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name not in skip)
        out[table.name] = sorted(map(repr, connection.exec_driver_sql(
            f'SELECT {columns} FROM "{table.name}"').all()))
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


@dataclass
class Outcome:
    status: int
    location: str
    body: str
    changed: list[str]
    verdict: str = ""


def classify(role: str, is_api: bool, outcome: Outcome, key: str = "") -> str:
    """"allowed", "refused" or "bad-refusal" (a refusal in a form the app does not use)."""
    status = outcome.status
    to_login = status in (301, 302, 303) and outcome.location.split("?")[0].endswith("/login")
    if key in SIGN_OUT and to_login:
        return "allowed"
    if role == ANON:
        if (is_api and status == 401) or (not is_api and to_login):
            return "refused"
        if status in (401, 403, 404) or to_login:
            return "bad-refusal"
        return "allowed"
    if status in (403, 404):
        return "refused"
    if status == 401 or to_login:
        return "bad-refusal"
    return "allowed"


class Runner:
    def __init__(self, app, client, role: str, world: World, headers: dict):
        self.app, self.client, self.role, self.world = app, client, role, world
        self.headers = headers
        self.connection = db.session.get_bind()
        db.session.commit()
        db.session.close()
        self.baseline = snapshot()
        db.session.close()

    def request(self, method: str, url: str, *, is_api: bool, key: str, body=None,
                expected: frozenset | None = None) -> Outcome:
        """One request inside a savepoint that is rolled back afterwards; a write that was
        refused (or is not in the table for this actor) is compared with the baseline."""
        cookies = dict(self.client._cookies)
        savepoint = self.connection.begin_nested()
        limiter.reset()
        try:
            kwargs = {"headers": self.headers if is_api else {}}
            if body is not None:
                kwargs["json" if is_api else "data"] = body
            resp = self.client.open(url, method=method, **kwargs)
            outcome = Outcome(resp.status_code, resp.headers.get("Location", ""),
                              resp.get_data().decode("utf-8", "replace"), [])
            outcome.verdict = classify(self.role, is_api, outcome, key)
            changers = getattr(expected, "changes", expected)
            if method not in SAFE and (outcome.verdict != "allowed" or changers is None
                                       or self.role not in changers):
                outcome.changed = changed_tables(self.baseline, snapshot())
            return outcome
        finally:
            db.session.rollback()
            db.session.remove()
            if savepoint.is_active:
                savepoint.rollback()
            self.client._cookies.clear()
            self.client._cookies.update(cookies)


def mirrored(access: frozenset) -> frozenset:
    """The same rule on the Dordrecht mirror: local_home and local_other swap places."""
    swap = {LOCAL_HOME: LOCAL_OTHER, LOCAL_OTHER: LOCAL_HOME}
    roles = {swap.get(r, r) for r in access}
    if isinstance(access, Access):
        return answers(roles, changes={swap.get(r, r) for r in access.changes})
    return frozenset(roles)


def expected_for(key: str) -> frozenset | None:
    if key in EXPECTED:
        return EXPECTED[key]
    suffix = f" [{MIRROR}]"
    if key.endswith(suffix) and key.removesuffix(suffix) in EXPECTED:
        return mirrored(EXPECTED[key.removesuffix(suffix)])
    return None


def leaked_markers(role: str, text: str, key: str = "") -> list[str]:
    role = CONTENT_AS.get(key, role)
    unescaped = html.unescape(text)
    return [m for m, who in MARKERS.items() if role not in who and m in unescaped]


@pytest.fixture
def world(app, make_user, make_org, make_contact, login):
    return build_world(app, make_user, make_org, make_contact, login)


def _client_for(role, app, login, world, api_headers):
    client = app.test_client()
    headers = {}
    if role != ANON:
        from sdd_crm.auth.models import User

        user = db.session.get(User, world.user_ids[role])
        login(user, c=client)
        headers = api_headers(user)
    return client, headers


def test_every_route_has_an_entry(app):
    keys = route_keys(app)
    missing = sorted(k for k in keys if expected_for(k) is None)
    stale = sorted(k for k in EXPECTED if k not in keys)
    assert not missing and not stale, (
        "The access table (tests/test_access_matrix.py EXPECTED) must name every route:\n"
        + "".join(f"  missing: {k!r}\n" for k in missing)
        + "".join(f"  no longer a route: {k!r}\n" for k in stale))


def run_role(app, login, api_headers, world: World, role: str) -> list[str]:
    """Every route as ``role``: the problems found (empty when all is as the table says)."""
    client, headers = _client_for(role, app, login, world, api_headers)
    runner = Runner(app, client, role, world, headers)
    problems: list[str] = []
    for key, (rule, variant) in sorted(route_keys(app).items()):
        method = key.split(" ", 1)[0]
        params = params_for(rule, world, variant)
        with app.test_request_context():
            url = url_for(rule.endpoint, **params)
        is_api = rule.rule.startswith("/api/")
        body = bodies(world, role, {**world.ids, **params}).get(f"{method} {rule.rule}")
        if body is None and method not in SAFE:
            body = {}
        expected = expected_for(key)
        outcome = runner.request(method, url, is_api=is_api, key=key, body=body,
                                 expected=expected)
        verdict = outcome.verdict
        OBSERVED.setdefault(key, {})[role] = f"{verdict} {outcome.status}"
        if outcome.status in (400, 409, 422, 428) and os.environ.get("ACCESS_MATRIX_DUMP"):
            OBSERVED.setdefault("_messages", {})[f"{role} {key}"] = outcome.body
        where = f"{role:11} {method:6} {url}  ({key})"
        if outcome.status >= 500:
            problems.append(f"SERVER ERROR {outcome.status}: {where}")
            continue
        if verdict == "bad-refusal":
            problems.append(f"REFUSED IN THE WRONG FORM ({outcome.status} "
                            f"{outcome.location}): {where}")
        if expected is not None:
            if verdict == "allowed" and role not in expected:
                problems.append(f"LEAK ({outcome.status}): {where}")
            elif verdict == "refused" and role in expected:
                problems.append(f"WRONGLY REFUSED ({outcome.status}): {where}")
        if outcome.changed:
            problems.append(f"REFUSED WRITE CHANGED {', '.join(outcome.changed)}: {where}")
        if 200 <= outcome.status < 300:
            leaked = leaked_markers(role, outcome.body, key)
            if leaked:
                problems.append(f"CONTENT LEAK {leaked}: {where}")
    for template in PROBES:
        url = template.format(marker=SECRET_SUBJECT.split()[0], home_id=world.user_ids[LOCAL_HOME],
                              **world.ids)
        outcome = runner.request("GET", url, is_api=url.startswith("/api/"), key=url)
        where = f"{role:11} GET    {url}  (probe)"
        if outcome.status >= 500:
            problems.append(f"SERVER ERROR {outcome.status}: {where}")
        elif 200 <= outcome.status < 300:
            leaked = leaked_markers(role, outcome.body, url)
            if leaked:
                problems.append(f"CONTENT LEAK {leaked}: {where}")
    return problems


def test_access_matrix(app, login, api_headers, world):
    """Every route × every actor against EXPECTED (see the module docstring)."""
    problems = []
    for role in ROLES:
        problems += run_role(app, login, api_headers, world, role)
    if os.environ.get("ACCESS_MATRIX_DUMP"):
        with open(os.environ["ACCESS_MATRIX_DUMP"], "w") as fh:
            json.dump(OBSERVED, fh, indent=1, sort_keys=True)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


GUESSES = (
    # (method, address with {id}, which record of Papendrecht, body)
    ("GET", "/interactions/{id}", "interaction_id", None),
    ("GET", "/interactions/{id}/edit", "interaction_id", None),
    ("POST", "/interactions/{id}/delete", "interaction_id", {"version": "1"}),
    ("GET", "/tasks/{id}", "task_id", None),
    ("POST", "/tasks/{id}/complete", "task_id", {}),
    ("GET", "/leads/{id}", "lead_id", None),
    ("POST", "/leads/{id}/comments", "lead_id", {"body": "Ik raad maar wat."}),
    ("GET", "/jobs/{id}", "job_id", None),
    ("GET", "/jobs/{id}/files/output", "job_id", None),
    ("GET", "/api/v1/interactions/{id}", "interaction_id", None),
    ("PATCH", "/api/v1/interactions/{id}", "interaction_id", {"version": 1, "subject": "x"}),
    ("DELETE", "/api/v1/interactions/{id}", "interaction_id", None),
    ("GET", "/api/v1/tasks/{id}", "task_id", None),
    ("PATCH", "/api/v1/tasks/{id}", "task_id", {"version": 1, "title": "x"}),
    ("GET", "/api/v1/leads/{id}", "lead_id", None),
    ("POST", "/api/v1/leads/{id}/comments", "lead_id", {"body": "Ik raad maar wat."}),
    ("GET", "/api/v1/jobs/{id}", "job_id", None),
)


def test_guessed_ids_find_nothing(app, login, api_headers, world):
    """Ids of Papendrecht's confidential contact moment, its task, the lead and local_home's
    export job, guessed by someone who may not see them, get exactly the answer of an id that
    does not exist — the same status and the same message — and change nothing."""
    differences = []
    for role in (REGIONAL, LOCAL_OTHER, BIZDEV):
        differences += _guess(app, login, api_headers, world, role)
    assert not differences, "\n".join(differences)


def _guess(app, login, api_headers, world, role) -> list[str]:
    client, headers = _client_for(role, app, login, world, api_headers)
    runner = Runner(app, client, role, world, headers)
    unknown = {"interaction_id": 987654, "task_id": 987654, "lead_id": 987654,
               "job_id": str(uuid.uuid4())}
    who_sees = {"interaction_id": SEES_SECRET, "task_id": SEES_SECRET, "lead_id": SEES_LEAD,
                "job_id": OWNER_HOME}
    differences = []
    for method, template, name, body in GUESSES:
        if role in who_sees[name]:
            continue
        is_api = template.startswith("/api/")
        answers_ = []
        for value in (world.ids[name], unknown[name]):
            url = template.format(id=value)
            outcome = runner.request(method, url, is_api=is_api, key=url, body=body,
                                     expected=NOBODY)
            text = outcome.body.replace(str(value), "{id}")
            answers_.append((outcome.status, text if is_api else "", outcome.changed))
        (status, text, changed), (unknown_status, unknown_text, _) = answers_
        if status not in (403, 404) or changed:
            differences.append(f"{role}: {method} {template} ({name}): {status}, "
                               f"changed {changed}")
        elif (status, text) != (unknown_status, unknown_text):
            differences.append(f"{role}: {method} {template} ({name}): {status} {text[:120]!r} "
                               f"for the hidden record, {unknown_status} {unknown_text[:120]!r} "
                               "for none")
    return differences
