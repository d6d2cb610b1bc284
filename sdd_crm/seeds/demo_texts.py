"""Texts for the demo region's contact moments, follow-ups, leads and participations."""

from __future__ import annotations

# (subject, topics, notes)
INTERACTION_SUBJECTS = [
    ("Kennismakingsbezoek", [],
     "Rondleiding door de productie gehad. Goed beeld gekregen van de activiteiten en de plannen "
     "voor de komende jaren."),
    ("Uitbreidingsplannen productiehal", ["expansion", "accommodation"],
     "Het bedrijf wil binnen twee jaar uitbreiden met circa 2.000 m². Op de huidige locatie is "
     "geen ruimte; mogelijk zoeken zij een kavel op een regionaal bedrijventerrein."),
    ("Personeelstekort technici", ["workforce"],
     "Er staan twaalf vacatures open voor lassers en monteurs. Interesse in een samenwerking met "
     "het Da Vinci College voor BBL-trajecten."),
    ("Subsidiemogelijkheden verduurzaming", ["subsidy", "energy"],
     "Besproken: SCALE, de ISDE en de MIT-regeling. Het bedrijf wil zijn pand aardgasvrij maken."),
    ("Netcongestie: wachtrij voor aansluiting", ["energy", "risk"],
     "De netbeheerder kan de gevraagde verzwaring pas over drie jaar leveren. Gevraagd om mee te "
     "denken over een energiehub op het bedrijventerrein."),
    ("Innovatieproject emissieloos varen", ["innovation", "energy"],
     "Plannen voor een pilot met een elektrische aandrijflijn. Zoekt partners voor batterijopslag "
     "en een kennisinstelling."),
    ("Bereikbaarheid bedrijventerrein", ["mobility"],
     "Klachten over de bereikbaarheid tijdens wegwerkzaamheden. Doorgezet naar de gemeente."),
    ("Jaarlijks accountgesprek", [],
     "Stand van zaken doorgenomen: orderportefeuille goed gevuld, investeringen in automatisering "
     "gepland voor volgend jaar."),
    ("Aanmelding SCALE", ["subsidy", "energy"],
     "Uitleg gegeven over het programma SCALE; het bedrijf overweegt deelname aan de "
     "verduurzamingsscan."),
    ("Samenwerking met onderwijs (stages)", ["workforce"],
     "Afspraken gemaakt over stageplekken voor studenten van de Maritieme Academie."),
    ("Huisvestingsvraag", ["accommodation"],
     "Zoekt binnen de regio een bedrijfspand van circa 800 m² met buitenterrein."),
    ("Digitalisering en robotisering", ["innovation"],
     "Interesse in het fieldlab Smart Factory; wil een robotcel voor lassen testen."),
    ("Netwerkbijeenkomst Maritieme Delta", [],
     "Kort gesproken tijdens de netwerkbijeenkomst; vervolgafspraak voorgesteld."),
]
CONFIDENTIAL_SUBJECTS = [
    ("Financiële situatie en herstructurering", ["risk"],
     "Vertrouwelijk: de bank heeft het krediet ingeperkt. Het bedrijf overweegt een reorganisatie "
     "met mogelijk verlies van banen."),
    ("Overnamegesprekken", ["risk", "expansion"],
     "Vertrouwelijk: een buitenlandse partij toont interesse in een overname. Nog niet bekend bij "
     "het personeel."),
]
INTERACTION_TYPES = (["visit", "call", "meeting", "email", "event"], [30, 35, 15, 15, 5])

FOLLOW_UPS = {
    "expansion": "Kavelmogelijkheden op regionale bedrijventerreinen uitzoeken",
    "workforce": "Contact leggen met het Da Vinci College",
    "subsidy": "Informatie over SCALE nasturen",
    "energy": "Navragen bij de netbeheerder",
    "innovation": "Introductie bij een kennisinstelling regelen",
    "accommodation": "Beschikbare bedrijfspanden doorsturen",
    "mobility": "Vraag doorzetten naar de gemeente",
    "risk": "Vervolggesprek met de directie plannen",
}

# (type, title, description)
LEADS = [
    ("relocation", "Zoekt grotere locatie buiten de gemeente",
     "Het bedrijf groeit uit zijn pand en zoekt 5.000 m² met kadeaansluiting. In onze gemeente "
     "is dat niet beschikbaar."),
    ("expansion", "Uitbreiding productiehal",
     "Wil de productie uitbreiden en zoekt hulp bij vergunningen en financiering."),
    ("workforce", "Zoekt 15 lassers en monteurs",
     "Structureel tekort aan vakmensen; interesse in een regionaal opleidingstraject."),
    ("innovation", "Pilot waterstofaandrijving",
     "Wil een pilot starten en zoekt partners in de keten en een kennisinstelling."),
    ("subsidy", "Interesse in de SCALE-verduurzamingsscan",
     "Wil meedoen aan SCALE; graag doorverwijzen naar de business developer."),
    ("risk", "Signalen van betalingsproblemen",
     "Leveranciers melden late betalingen; mogelijk risico op sluiting met 40 banen."),
    ("expansion", "Tweede vestiging in de regio",
     "Zoekt een tweede vestiging dicht bij klanten in de Drechtsteden."),
    ("relocation", "Verhuizing naar een kavel aan het water",
     "Heeft een kavel met eigen kade nodig voor de afbouw van grotere schepen."),
]
DECLINE_REASONS = [
    "Geen kavels van deze omvang beschikbaar in onze gemeente.",
    "Het bedrijf valt buiten ons werkgebied; doorgezet naar de regio.",
    "Dubbel gemeld: dit signaal loopt al via de regionaal accountmanager.",
]
LEAD_COMMENTS = [
    "Afspraak gemaakt voor een bezoek volgende week.",
    "Twee mogelijke locaties voorgelegd; het bedrijf beraadt zich.",
    "Contact gelegd met de ontwikkelaar van het bedrijventerrein.",
]
PARTICIPATION_NOTES = [
    "Verduurzamingsscan ingepland.",
    "Wacht op offerte van de installateur.",
    "Deelname besproken met de directeur; positief.",
    "Gebruikt de scan als basis voor een investeringsplan.",
]
