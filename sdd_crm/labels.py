"""Dutch labels (translated through Babel) for the domain's code values."""

from __future__ import annotations

from flask_babel import get_locale, gettext as _, lazy_gettext as _l

ROLE = {
    "admin": _l("Functioneel beheerder"),
    "regional_account_manager": _l("Regionaal accountmanager"),
    "local_account_manager": _l("Lokaal accountmanager"),
    "business_developer": _l("Business developer"),
    "viewer": _l("Raadpleger"),
}
ORG_TYPE = {
    "company": _l("Bedrijf"),
    "knowledge_institution": _l("Kennisinstelling"),
    "education": _l("Onderwijs"),
    "government": _l("Overheid"),
    "other": _l("Overig"),
}
ORG_STATUS = {"active": _l("Actief"), "inactive": _l("Inactief"), "dissolved": _l("Opgeheven")}
SIZE_CLASS = {
    "micro": _l("Micro (< 10)"),
    "small": _l("Klein (< 50)"),
    "medium": _l("Middelgroot (< 250)"),
    "large": _l("Groot (250+)"),
    "unknown": _l("Onbekend"),
}
# An organisation's fields as the change history names them (organisation page, timeline).
ORGANISATION_FIELD = {
    "name": _l("Naam"), "org_type": _l("Type"), "kvk_number": _l("KvK-nummer"),
    "legal_form": _l("Rechtsvorm"), "employees": _l("Werkzame personen"),
    "annual_turnover_eur": _l("Jaaromzet"), "balance_sheet_total_eur": _l("Balanstotaal"),
    "size_class": _l("Grootteklasse"), "street": _l("Straat"), "postcode": _l("Postcode"),
    "city": _l("Plaats"), "municipality_code": _l("Gemeente"), "website": _l("Website"),
    "phone": _l("Telefoon"), "email": _l("E-mailadres"), "description": _l("Omschrijving"),
    "parent_id": _l("Moederorganisatie"), "status": _l("Status"), "is_critical": _l("Kritisch"),
    "deleted_at": _l("Verwijderd"), "source": _l("Bron"),
    "merged_into_id": _l("Samengevoegd met"), "sbi_codes": _l("SBI-codes"), "tags": _l("Labels"),
    "criticality_score": _l("Kritikaliteitsscore"), "manual_critical": _l("Handmatig kritisch"),
    "manual_critical_reason": _l("Reden handmatig kritisch"),
    "last_contact_on": _l("Laatste contact"),
}
TEAM_ROLE = {"strategic": _l("Strategisch accountmanager"), "local": _l("Lokaal accountmanager")}
LAWFUL_BASIS = {"public_task": _l("Publieke taak"), "consent": _l("Toestemming")}
LANGUAGE = {"nl": _l("Nederlands"), "en": _l("Engels"), "de": _l("Duits"), "fr": _l("Frans")}


LEAD_STATUS = {
    "new": _l("Nieuw"), "accepted": _l("Geaccepteerd"), "in_progress": _l("In behandeling"),
    "won": _l("Gewonnen"), "lost": _l("Verloren"), "declined": _l("Afgewezen"),
}
LEAD_TYPE = {
    "expansion": _l("Uitbreiding"), "relocation": _l("Verplaatsing"),
    "workforce": _l("Personeel"), "innovation": _l("Innovatie"), "subsidy": _l("Subsidie"),
    "risk": _l("Risico (sluiting)"),
}
SHARED_WITH = {"regional_team": _l("Regionaal team"), "user": _l("Collega"),
               "municipality": _l("Gemeente")}
INTERACTION_TYPE = {"visit": _l("Bedrijfsbezoek"), "call": _l("Telefoongesprek"),
                    "meeting": _l("Overleg"), "email": _l("E-mail"), "event": _l("Evenement")}
TOPIC = {
    "expansion": _l("Uitbreiding"), "workforce": _l("Personeel"), "innovation": _l("Innovatie"),
    "subsidy": _l("Subsidie"), "accommodation": _l("Huisvesting"), "mobility": _l("Bereikbaarheid"),
    "energy": _l("Energie"), "risk": _l("Risico"),
}
PARTICIPATION_STATUS = {
    "identified": _l("Geïdentificeerd"), "approached": _l("Benaderd"),
    "interested": _l("Geïnteresseerd"), "participating": _l("Neemt deel"),
    "completed": _l("Afgerond"), "declined": _l("Afgehaakt"),
}
TASK_STATUS = {"open": _l("Open"), "done": _l("Afgerond"), "cancelled": _l("Vervallen")}
CHAIN_ROLE = {
    "oem": _l("OEM / systeemintegrator"), "tier1": _l("Tier-1-toeleverancier"),
    "tier2": _l("Tier-2-toeleverancier"), "service_provider": _l("Dienstverlener"),
    "knowledge_partner": _l("Kennispartner"), "customer": _l("Afnemer"),
}


def label(mapping: dict, value) -> str:
    if value is None:
        return ""
    return str(mapping.get(str(value), value))


# Account-team changes, audited on the organisation (organisations.services).
TEAM_CHANGE_ACTIONS = ("team_add", "team_remove", "team_role", "team_handover")


def team_change_text(action: str, changes: dict | None) -> str | None:
    """An account-team audit event as a person reads it (who, role before → after), for the
    organisation's history and timeline; None for any other action."""
    if action not in TEAM_CHANGE_ACTIONS:
        return None

    def pair(key):
        value = (changes or {}).get(key)
        return value if isinstance(value, list) and len(value) == 2 else [None, None]

    def role(value):
        return label(TEAM_ROLE, value) if value else "—"

    member, roles = pair("member"), pair("team_role")
    if action == "team_add":
        return _("teamlid toegevoegd: %(name)s als %(role)s", name=member[1] or "—",
                 role=role(roles[1]))
    if action == "team_remove":
        return _("teamlid verwijderd: %(name)s (was %(role)s)", name=member[0] or "—",
                 role=role(roles[0]))
    if action == "team_role":
        return _("rol in het accountteam gewijzigd: %(name)s, %(before)s → %(after)s",
                 name=member[1] or "—", before=role(roles[0]), after=role(roles[1]))
    manager = pair("strategic_manager")
    return _("strategisch accountmanager overgedragen van %(old)s aan %(new)s; %(old)s blijft "
             "lokaal accountmanager", old=manager[0] or "—", new=manager[1] or "—")


def choices(mapping: dict) -> list[tuple[str, str]]:
    return [(k, v) for k, v in mapping.items()]


def register(app) -> None:
    app.jinja_env.globals.update(
        current_locale=lambda: str(get_locale() or "nl"),
        role_label=lambda v: label(ROLE, v),
        org_type_label=lambda v: label(ORG_TYPE, v),
        org_status_label=lambda v: label(ORG_STATUS, v),
        size_class_label=lambda v: label(SIZE_CLASS, v),
        team_role_label=lambda v: label(TEAM_ROLE, v),
        lawful_basis_label=lambda v: label(LAWFUL_BASIS, v),
        language_label=lambda v: label(LANGUAGE, v),
        lead_status_label=lambda v: label(LEAD_STATUS, v),
        lead_type_label=lambda v: label(LEAD_TYPE, v),
        shared_with_label=lambda v: label(SHARED_WITH, v),
        interaction_type_label=lambda v: label(INTERACTION_TYPE, v),
        topic_label=lambda v: label(TOPIC, v),
        task_status_label=lambda v: label(TASK_STATUS, v),
        chain_role_label=lambda v: label(CHAIN_ROLE, v),
    )
