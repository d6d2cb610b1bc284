"""The register of processing activities (GDPR art. 30(1)), as this system does them.

What is stored per record type, why (purpose and lawful basis, art. 6(1)(e): a public task),
for how long (the retention settings as configured), who can see it (DESIGN 4.4), to whom it
goes, and the security measures (art. 32). Shown to every signed-in user on /privacy, in the
user's language; the numbers come from the running configuration, so the page never disagrees
with what the application does.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Activity:
    name: object
    data: object  # categories of personal data
    subjects: object  # whose data
    purpose: object
    basis: object
    retention: object
    access: object  # who can see it
    recipients: object


PUBLIC_TASK = _l("Publieke taak (AVG art. 6 lid 1 onder e): de regionale economische "
                 "ontwikkeling door de gemeenten van de Drechtsteden (Groeiagenda).")


def settings() -> dict[str, int]:
    cfg = current_app.config
    return {
        "retention_months": int(cfg.get("RETENTION_MONTHS", 24)),
        "bin_days": int(cfg.get("BIN_RETENTION_DAYS", 60)),
        "job_file_days": int(cfg.get("JOB_FILE_RETENTION_DAYS", 14)),
        "idle_minutes": int(cfg.get("SESSION_IDLE_MINUTES", 30)),
        "absolute_hours": int(cfg.get("SESSION_ABSOLUTE_HOURS", 12)),
        "review_years": 2,
    }


def activities() -> list[Activity]:
    s = settings()
    bin_rule = _l("Verwijderde gegevens blijven %(days)s dagen in de prullenbak (herstelbaar door "
                  "een beheerder) en worden daarna definitief verwijderd.", days=s["bin_days"])
    workers = _l("Alle gebruikers behalve raadplegers (beheerders, regionale en lokale "
                 "accountmanagers, business developers).")
    return [
        Activity(
            name=_l("Contactpersonen"),
            data=_l("Naam, functie, e-mailadres, telefoon- en mobiel nummer, voorkeurstaal, "
                    "notities; grondslag, datum van toestemming, bron van de gegevens (welke "
                    "import of welke gebruiker), bezwaar, datum van herbeoordeling."),
            subjects=_l("Medewerkers van bedrijven en instellingen in en rond de regio."),
            purpose=_l("Accountmanagement: weten wie de contactpersoon is bij een bedrijf, "
                       "contacten vastleggen en opvolgen."),
            basis=_l("%(task)s Of toestemming van de persoon, met de datum waarop die is "
                     "gegeven.", task=PUBLIC_TASK),
            retention=_l("Herbeoordeling na %(years)s jaar. Contactpersonen zonder activiteit in "
                         "%(months)s maanden worden aan een beheerder voorgelegd en na diens "
                         "bevestiging geanonimiseerd. %(bin)s",
                         years=s["review_years"], months=s["retention_months"], bin=bin_rule),
            access=_l("%(workers)s Na bezwaar of anonimisering alleen beheerders.",
                      workers=workers),
            recipients=_l("Geen ontvangers buiten de deelnemende gemeenten. Exports alleen voor "
                          "wie met de gegevens werkt; nooit van personen die bezwaar maakten.")),
        Activity(
            name=_l("Contactmomenten en taken"),
            data=_l("Datum, soort, onderwerp, verslag, aanwezige contactpersonen en collega's, "
                    "thema's; vervolgtaken met omschrijving, termijn en uitvoerder."),
            subjects=_l("Contactpersonen en medewerkers van de gemeenten."),
            purpose=_l("Vastleggen wat met een bedrijf besproken en afgesproken is, en de "
                       "opvolging daarvan."),
            basis=PUBLIC_TASK,
            retention=_l("Zolang de relatie met de organisatie loopt; namen van een "
                         "geanonimiseerde persoon worden uit de verslagen verwijderd. %(bin)s",
                         bin=bin_rule),
            access=_l("%(workers)s Vertrouwelijke contactmomenten alleen de auteur, het "
                      "accountteam van de organisatie en beheerders; raadplegers lezen nooit "
                      "verslagen.", workers=workers),
            recipients=_l("Geen ontvangers buiten de deelnemende gemeenten.")),
        Activity(
            name=_l("Signalen (leads)"),
            data=_l("Titel, omschrijving, reacties en verloop; kunnen namen van contactpersonen "
                    "bevatten."),
            subjects=_l("Contactpersonen en medewerkers van de gemeenten."),
            purpose=_l("Kansen en risico's van bedrijven delen tussen gemeenten en het regionale "
                       "team."),
            basis=PUBLIC_TASK,
            retention=bin_rule,
            access=_l("De auteur, de collega of gemeente waarmee het signaal is gedeeld, "
                      "regionale accountmanagers en beheerders."),
            recipients=_l("De gemeente of collega waarmee het signaal is gedeeld.")),
        Activity(
            name=_l("Gebruikers en inloggen"),
            data=_l("Naam, e-mailadres, rol, gemeente, taal; wachtwoord alleen als hash; "
                    "tweestapsverificatie; sessies; inlogpogingen in het beveiligingslogboek "
                    "(e-mailadres alleen gehasht)."),
            subjects=_l("Medewerkers van de gemeenten en Smart Delta Drechtsteden."),
            purpose=_l("Toegang tot het systeem en beveiliging (wie mag wat, wie deed wat)."),
            basis=PUBLIC_TASK,
            retention=_l("Zolang het account bestaat. Sessies eindigen na %(idle)s minuten zonder "
                         "activiteit en uiterlijk na %(hours)s uur.",
                         idle=s["idle_minutes"], hours=s["absolute_hours"]),
            access=_l("Beheerders; ieder ziet zijn eigen account."),
            recipients=_l("Geen.")),
        Activity(
            name=_l("Auditlog"),
            data=_l("Wie wanneer welk record bekeek, aanmaakte, wijzigde of verwijderde, met de "
                    "waarden voor en na (nooit wachtwoorden of tokens); het adres van waaruit."),
            subjects=_l("Gebruikers, en contactpersonen van wie gegevens zijn gewijzigd."),
            purpose=_l("Verantwoording en beveiliging (BIO 8.15): nagaan wat er met gegevens is "
                       "gebeurd."),
            basis=PUBLIC_TASK,
            retention=_l("Blijft bewaard; bij anonimisering van een persoon worden diens "
                         "gegevens ook uit de auditlog verwijderd."),
            access=_l("Beheerders."),
            recipients=_l("Geen.")),
        Activity(
            name=_l("Imports en exports"),
            data=_l("Geüploade spreadsheets, rapporten van afgewezen rijen en gemaakte exports; "
                    "kunnen alle gegevens hierboven bevatten."),
            subjects=_l("Contactpersonen."),
            purpose=_l("Gegevens uit de KvK en gemeentelijke systemen inlezen; lijsten delen met "
                       "wie ermee werkt."),
            basis=PUBLIC_TASK,
            retention=_l("Bestanden worden %(days)s dagen na afloop van de taak verwijderd.",
                         days=s["job_file_days"]),
            access=_l("Wie de taak startte, en beheerders."),
            recipients=_l("Geen.")),
    ]


def measures() -> list[object]:
    s = settings()
    return [
        _l("Rollen en zichtbaarheid worden op de server gecontroleerd, in schermen en API gelijk "
           "(ontwerp 4.4)."),
        _l("Wachtwoorden van minstens 12 tekens, getoetst aan veelgebruikte en gelekte "
           "wachtwoorden; tweestapsverificatie verplicht voor beheerders; beperkt aantal "
           "inlogpogingen."),
        _l("Sessies op de server: uitloggen, een nieuw wachtwoord of deactivering beëindigt ze "
           "meteen; na %(idle)s minuten zonder activiteit en uiterlijk na %(hours)s uur afgemeld.",
           idle=s["idle_minutes"], hours=s["absolute_hours"]),
        _l("Elke wijziging, inzage van een contactpersoon, export en weigering staat in de "
           "auditlog, die niet te wijzigen is."),
        _l("Verwijderen is eerst zacht (herstelbaar), daarna definitief; anonimiseren wist een "
           "persoon overal, ook in auditlog, bestanden en exports."),
        _l("Beveiligingsheaders (CSP, HSTS), geen externe scripts; uploads op inhoud "
           "gecontroleerd; geen zoektermen of geheimen in de logbestanden."),
        _l("Verbindingen via HTTPS; database en back-ups binnen de gemeentelijke omgeving."),
    ]
