"""The audit trail as a person reads it: actions, record types, results, field names and values
in Dutch (translated through Babel), never internal names, ISO timestamps or raw ids.

Other packages that write events under a new action name add its label to :data:`ACTIONS`
(and a new record type to :data:`ENTITY_TYPES`).

Values that point at another record (``assignee_id``, ``owner_id``, ``organisation_id``,
``municipality_code``) are shown by name: the caller looks the names up for a whole page at once
(:func:`references`) and passes them in as ``names`` ``{(entity_type, id): name}``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

from flask_babel import format_currency
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import labels
from ..i18n import format_day, format_moment
from .sanitise import HIDDEN, one_line

ACTIONS = {
    "create": _l("Aangemaakt"), "update": _l("Gewijzigd"), "delete": _l("Verwijderd"),
    "restore": _l("Hersteld"), "merge": _l("Samengevoegd"), "import": _l("Geïmporteerd"),
    "import_undo": _l("Import ongedaan gemaakt"),
    "export": _l("Geëxporteerd"), "download": _l("Bestand gedownload"), "view": _l("Bekeken"),
    "refused": _l("Toegang geweigerd"), "purge": _l("Definitief verwijderd"),
    "erase": _l("Geanonimiseerd (AVG)"),
    "login": _l("Inloggen"), "logout": _l("Uitloggen"),
    "login_throttled": _l("Inloggen afgeremd (te veel pogingen)"),
    "token_refused": _l("API-token geweigerd"),
    "token_throttled": _l("API-token afgeremd (te veel pogingen)"),
    "token_issued": _l("API-token uitgegeven"), "tokens_revoked": _l("API-tokens ingetrokken"),
    "team_add": _l("Teamlid toegevoegd"), "team_remove": _l("Teamlid verwijderd"),
    "team_role": _l("Teamrol gewijzigd"),
    "team_handover": _l("Strategisch accountmanager overgedragen"),
    # Two-factor authentication (sdd_crm/auth/twofactor.py).
    "password_accepted": _l("Wachtwoord juist, code gevraagd"),
    "two_factor_failed": _l("Onjuiste code bij inloggen"),
    "two_factor_throttled": _l("Code-invoer afgeremd (te veel pogingen)"),
    "two_factor_enabled": _l("Tweestapsverificatie aangezet"),
    "two_factor_disabled": _l("Tweestapsverificatie uitgezet"),
    "two_factor_reset": _l("Tweestapsverificatie teruggezet door een beheerder"),
    "recovery_code_used": _l("Herstelcode gebruikt"),
    "recovery_codes_renewed": _l("Nieuwe herstelcodes gemaakt"),
    # Sessions and passwords (sdd_crm/auth/sessions.py, auth/services.py).
    "password_changed": _l("Wachtwoord gewijzigd"),
    # Account self-service (sdd_crm/auth/account_views.py, auth/reset.py).
    "password_change_failed": _l("Wachtwoord onjuist bij wijzigen"),
    "password_reset_requested": _l("Wachtwoordherstel aangevraagd"),
    "password_reset_throttled": _l("Wachtwoordherstel afgeremd (te veel aanvragen)"),
    "password_reset_refused": _l("Ongeldige link voor wachtwoordherstel"),
    "sign_out_everywhere": _l("Overal afgemeld door een beheerder"),
    "session_ended": _l("Andere sessie beëindigd door de gebruiker"),
    "session_expired": _l("Sessie verlopen"),
    "session_refused": _l("Beëindigde of onbekende sessie geweigerd"),
}
ENTITY_TYPES = {
    "organisation": _l("Organisatie"), "contact": _l("Contactpersoon"), "user": _l("Gebruiker"),
    "establishment": _l("Vestiging"), "account_team_member": _l("Accountteam"),
    "account_team_request": _l("Verzoek om het accountteam"),
    "interaction": _l("Contactmoment"), "task": _l("Taak"), "lead": _l("Signaal"),
    "lead_comment": _l("Reactie op een signaal"),
    "programme": _l("Programma"), "programme_target": _l("Programmadoel"),
    "participation": _l("Deelname"), "cluster": _l("Cluster"),
    "organisation_cluster": _l("Clusterlidmaatschap"), "value_chain": _l("Waardeketen"),
    "value_chain_stage": _l("Ketenschakel"), "chain_role": _l("Ketenrol"),
    "supply_link": _l("Leveringsrelatie"), "setting": _l("Instelling"),
    "export": _l("Export (lijst)"),
    "duplicate_dismissal": _l("Geen dubbel (markering)"),
    "job": _l("Achtergrondtaak"), "import_review": _l("Importbeoordeling"),
    "notification": _l("Melding"), "route": _l("Pagina of API-adres"),
}
RESULTS = {"success": _l("Gelukt"), "refused": _l("Geweigerd"), "failed": _l("Mislukt")}
SOURCES = {"web": _l("browser"), "api": _l("API"), "cli": _l("opdrachtregel"),
           "job": _l("achtergrondtaak"), "import": _l("import"), "system": _l("systeem")}

# Field names shared by many records; per record type below where they differ.
COMMON_FIELDS = {
    "id": _l("Nummer"), "name": _l("Naam"), "description": _l("Omschrijving"),
    "status": _l("Status"), "title": _l("Titel"), "type": _l("Soort"), "kind": _l("Soort"),
    "date": _l("Datum"), "notes": _l("Notities"), "email": _l("E-mailadres"),
    "phone": _l("Telefoon"), "mobile": _l("Mobiel"), "street": _l("Straat"),
    "postcode": _l("Postcode"), "city": _l("Plaats"), "municipality_code": _l("Gemeente"),
    "employees": _l("Werkzame personen"), "source": _l("Bron"), "role": _l("Rol"),
    "team_role": _l("Rol in het accountteam"), "value": _l("Waarde"), "code": _l("Code"),
    "position": _l("Volgorde"), "reason": _l("Reden"), "organisation_id": _l("Organisatie"),
    "user_id": _l("Gebruiker"), "created_by_id": _l("Aangemaakt door"),
    "author_id": _l("Auteur"), "owner_id": _l("Eigenaar"), "assignee_id": _l("Toegewezen aan"),
    "deleted_at": _l("Verwijderd op"), "deleted_by_id": _l("Verwijderd door"),
    "cluster_id": _l("Cluster"), "value_chain_id": _l("Waardeketen"),
    "programme_id": _l("Programma"), "interaction_id": _l("Contactmoment"),
    "lead_id": _l("Signaal"), "stage_id": _l("Ketenschakel"),
    "interaction_ids": _l("Contactmomenten"), "contact_ids": _l("Contactpersonen"),
    "user_ids": _l("Collega's"),
    "topics": _l("Onderwerpen"), "tags": _l("Labels"), "sbi_codes": _l("SBI-codes"),
    "member": _l("Teamlid"), "strategic_manager": _l("Strategisch accountmanager"),
    "decided_by_id": _l("Besloten door"), "decided_at": _l("Besloten op"),
    "decision_reason": _l("Toelichting bij het besluit"),
    # What non-change events carry.
    "method": _l("Methode"), "path": _l("Adres"), "http_status": _l("HTTP-status"),
    "account": _l("Account (versleuteld e-mailadres)"), "limit": _l("Grens"),
    "rows": _l("Aantal rijen"), "format": _l("Formaat"), "filters": _l("Filters"),
    "file": _l("Bestand"), "job": _l("Achtergrondtaak"), "counted": _l("Meegeteld"),
    "excluded": _l("Niet meegeteld"), "created": _l("Nieuw"), "updated": _l("Bijgewerkt"),
    "unchanged": _l("Ongewijzigd"), "held_for_review": _l("Ter beoordeling"),
    "rejected": _l("Afgewezen"), "establishments": _l("Vestigingen"),
    "merged_from": _l("Samengevoegd uit"), "moved": _l("Overgezet"),
    "merged_into_id": _l("Samengevoegd met"),
}
CONTACT_FIELDS = {
    "first_name": _l("Voornaam"), "last_name": _l("Achternaam"), "function": _l("Functie"),
    "preferred_language": _l("Voorkeurstaal"), "lawful_basis": _l("Grondslag (AVG)"),
    "consent_date": _l("Datum van toestemming"), "source": _l("Bron van de gegevens"),
    "objection": _l("Bezwaar"), "review_due": _l("Herbeoordelen uiterlijk op"),
}
FIELDS = {
    "organisation": {
        **labels.ORGANISATION_FIELD,
        "deleted_at": _l("Verwijderd op"),
    },
    "contact": CONTACT_FIELDS,
    "establishment": {"establishment_number": _l("Vestigingsnummer"),
                      "is_main": _l("Hoofdvestiging")},
    "task": {"due_date": _l("Uiterste datum"), "completed_at": _l("Afgerond op")},
    "organisation_cluster": {"is_primary": _l("Hoofdcluster")},
    "participation": {"status_changed_at": _l("Status gewijzigd op")},
    "account_team_member": {"user_id": _l("Teamlid")},
    "account_team_request": {"user_id": _l("Aanvrager"), "reason": _l("Toelichting")},
    "chain_role": {"role": _l("Ketenrol")},
    "programme_target": {"kind": _l("Soort doel"), "value": _l("Streefwaarde"),
                         "targets": _l("Doelen")},
    "supply_link": {"supplier_id": _l("Leverancier"), "customer_id": _l("Afnemer"),
                    "supplied": _l("Wat wordt geleverd"), "sole_source": _l("Enige leverancier")},
    "setting": {"key": _l("Instelling")},
    "user": {"active": _l("Actief"), "locale": _l("Taal"),
             "left": _l("Herstelcodes over"), "second_factor": _l("Tweede factor"),
             "wait": _l("Wachttijd (seconden)"), "by": _l("Door"),
             "sessions_ended": _l("Sessies beëindigd"), "session": _l("Sessie (nummer)"),
             "label": _l("Naam van het API-token"), "labels": _l("Namen van de API-tokens"),
             "count": _l("Aantal"), "via": _l("Via"),
             "notify_in_app": _l("Meldingen in de app"),
             "notify_email": _l("Meldingen per e-mail"),
             "notify_digest": _l("Dagelijks overzicht per e-mail")},
    "lead": {"type": _l("Soort signaal"), "from_municipality_code": _l("Van gemeente"),
             "shared_with": _l("Gedeeld met"), "shared_with_user_id": _l("Gedeeld met collega"),
             "shared_with_municipality_code": _l("Gedeeld met gemeente"),
             "decline_reason": _l("Reden van afwijzen"), "responded_at": _l("Gereageerd op")},
    "programme": {"funder": _l("Financier"), "start_date": _l("Startdatum"),
                  "end_date": _l("Einddatum"), "municipalities": _l("Gemeenten"),
                  "targets": _l("Doelen")},
    "interaction": {"type": _l("Soort contact"), "subject": _l("Onderwerp"),
                    "confidential": _l("Vertrouwelijk")},
    "job": {"role": _l("Soort bestand")},
}

# Fields whose value names another record: shown by that record's name.
REFERENCES = {
    "assignee_id": "user", "owner_id": "user", "author_id": "user", "created_by_id": "user",
    "deleted_by_id": "user", "decided_by_id": "user", "shared_with_user_id": "user",
    "organisation_id": "organisation", "parent_id": "organisation",
    "merged_into_id": "organisation", "supplier_id": "organisation",
    "customer_id": "organisation",
    "municipality_code": "municipality", "from_municipality_code": "municipality",
    "shared_with_municipality_code": "municipality",
    # Lists of records (who was present at a contact moment, what a participation links).
    "contact_ids": "contact", "user_ids": "user", "interaction_ids": "interaction",
}
# ``user_id`` names a user on these records (on others it is not a reference we show by name).
USER_ID_RECORDS = {"account_team_member", "account_team_request", "user_session"}

# Code values shown by their label: (record type or None for any, field) → labels.
CODES = {
    (None, "org_type"): labels.ORG_TYPE, ("organisation", "status"): labels.ORG_STATUS,
    (None, "size_class"): labels.SIZE_CLASS, (None, "team_role"): labels.TEAM_ROLE,
    (None, "lawful_basis"): labels.LAWFUL_BASIS, (None, "preferred_language"): labels.LANGUAGE,
    ("user", "locale"): labels.LANGUAGE, ("user", "role"): labels.ROLE,
    ("lead", "status"): labels.LEAD_STATUS, ("lead", "type"): labels.LEAD_TYPE,
    (None, "shared_with"): labels.SHARED_WITH, ("interaction", "type"): labels.INTERACTION_TYPE,
    (None, "topics"): labels.TOPIC, ("participation", "status"): labels.PARTICIPATION_STATUS,
    ("task", "status"): labels.TASK_STATUS, ("chain_role", "role"): labels.CHAIN_ROLE,
}
MONEY = {"annual_turnover_eur", "balance_sheet_total_eur"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A whole value that is an ISO date or moment (whatever the field: a purge's "cutoff", an
# undone import's "changed_at") reads as a date; never ISO in the audit view (issue 14).
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
MAX_SHOWN = 200
EMPTY = "—"


def action_label(action: str) -> str:
    if action in ACTIONS:
        return str(ACTIONS[action])
    return one_line(action.replace("_", " ").capitalize(), 60)


def entity_label(entity_type: str) -> str:
    return str(ENTITY_TYPES.get(entity_type, one_line(entity_type.replace("_", " "), 60)))


def result_label(result: str | None) -> str:
    return str(RESULTS.get(result or "success", result or ""))


def source_label(source: str | None) -> str:
    if not source:
        return ""
    key = source.split(":", 1)[0]
    return str(SOURCES.get(key, one_line(source, 40)))


def field_label(entity_type: str, field: str) -> str:
    found = FIELDS.get(entity_type, {}).get(field) or COMMON_FIELDS.get(field)
    if found is None and field.endswith("_id"):
        return entity_label(field[:-3])
    return str(found) if found is not None else one_line(field.replace("_", " "), 60)


def reference_type(entity_type: str, field: str) -> str | None:
    if field == "user_id" and entity_type in USER_ID_RECORDS:
        return "user"
    if field == "by" and entity_type == "user":  # who reset a second factor, ended sessions
        return "user"
    return REFERENCES.get(field)


def references(events) -> dict[str, set[str]]:
    """The records a page of events names — actors, the events' own records, the values of
    reference fields — per record type, to be looked up at once: ``{"user": {"3", "9"}, …}``."""
    wanted: dict[str, set[str]] = {}

    def want(kind, value):
        if value not in (None, "", HIDDEN) and isinstance(value, (int, str)) \
                and not isinstance(value, bool):
            wanted.setdefault(kind, set()).add(str(value))

    for e in events:
        want("user", e.user_id)
        want(e.entity_type, e.entity_id)
        for field, value in (e.changes or {}).items():
            kind = reference_type(e.entity_type, field)
            if kind is None:
                continue
            pair = value if _is_pair(value) else [value]
            for v in pair:
                for item in (v if isinstance(v, list) else [v]):
                    want(kind, item)
    return wanted


def _is_pair(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2


def _when(value: str, field: str):
    if not isinstance(value, str):
        return None
    try:
        if _DATE.match(value):
            return format_day(dt.date.fromisoformat(value))
        if _DATETIME.match(value):
            return format_moment(dt.datetime.fromisoformat(value))  # no zone: UTC
    except (ValueError, OverflowError):
        return None
    return None


def format_value(entity_type: str, field: str, value, names: dict | None = None) -> str:
    """One value of an event as a person reads it (plain text: the template escapes it)."""
    names = names or {}
    if value is None or value == "" or value == []:
        return EMPTY
    if value == HIDDEN:
        return _("(verborgen)")
    if isinstance(value, bool):
        return _("Ja") if value else _("Nee")
    if isinstance(value, list):
        return ", ".join(format_value(entity_type, field, v, names) for v in value)[:MAX_SHOWN]
    if isinstance(value, dict):
        return "; ".join(f"{field_label(entity_type, str(k))}: "
                         f"{format_value(entity_type, str(k), v, names)}"
                         for k, v in value.items())[:MAX_SHOWN]
    kind = reference_type(entity_type, field)
    if kind is not None:
        name = names.get((kind, str(value)))
        return one_line(name, MAX_SHOWN) if name else f"#{one_line(value, 40)}"
    codes = CODES.get((entity_type, field)) or CODES.get((None, field))
    if codes is not None and str(value) in codes:
        return str(codes[str(value)])
    if field in MONEY:
        try:
            return format_currency(decimal.Decimal(str(value)), "EUR")
        except (decimal.InvalidOperation, ValueError):
            pass
    when = _when(value, field)
    if when is not None:
        return when
    return one_line(value, MAX_SHOWN)


def describe_changes(event, names: dict | None = None) -> list[dict]:
    """The event's payload as rows ``{"field", "before", "after"}`` (a change) or
    ``{"field", "value"}`` (a detail of a view, login, refusal or export)."""
    rows = []
    for field, value in (event.changes or {}).items():
        label = field_label(event.entity_type, str(field))
        if _is_pair(value):
            rows.append({"field": label,
                         "before": format_value(event.entity_type, str(field), value[0], names),
                         "after": format_value(event.entity_type, str(field), value[1], names),
                         "created": event.action == "create" and value[0] is None})
        else:
            rows.append({"field": label,
                         "value": format_value(event.entity_type, str(field), value, names)})
    return rows
