"""Static material for the demo region: places, streets, name patterns, value chains.

Everything here is fictional but shaped like the real Drechtsteden: postcodes in each
municipality's own range, streets that sound local, company names like the KvK register's.
"""

from __future__ import annotations

DEMO_PASSWORD = "demo-wachtwoord-2024"
DEMO_SOURCE = "demo"
DEMO_DOMAIN = "demo.sdd-crm.nl"

# (key, e-mail, name, role, municipality)
DEMO_USERS = [
    ("beheer", "beheer@demo.sdd-crm.nl", "Anouk Verbeek", "admin", None),
    ("regionaal", "regionaal@demo.sdd-crm.nl", "Ruben van Wijk", "regional_account_manager", None),
    ("regionaal.energie", "regionaal.energie@demo.sdd-crm.nl", "Sanne Hoogendoorn",
     "regional_account_manager", None),
    ("lokaal.dordrecht", "lokaal.dordrecht@demo.sdd-crm.nl", "Joost de Graaf",
     "local_account_manager", "GM0505"),
    ("lokaal.zwijndrecht", "lokaal.zwijndrecht@demo.sdd-crm.nl", "Marloes Kraaijeveld",
     "local_account_manager", "GM0642"),
    ("lokaal.papendrecht", "lokaal.papendrecht@demo.sdd-crm.nl", "Wouter Baars",
     "local_account_manager", "GM0590"),
    ("lokaal.sliedrecht", "lokaal.sliedrecht@demo.sdd-crm.nl", "Esther den Breejen",
     "local_account_manager", "GM0610"),
    ("lokaal.alblasserdam", "lokaal.alblasserdam@demo.sdd-crm.nl", "Niels Verboom",
     "local_account_manager", "GM0482"),
    ("lokaal.hendrik-ido-ambacht", "lokaal.hendrik-ido-ambacht@demo.sdd-crm.nl", "Femke Slob",
     "local_account_manager", "GM0531"),
    ("lokaal.hardinxveld-giessendam", "lokaal.hardinxveld-giessendam@demo.sdd-crm.nl",
     "Arjen van Houwelingen", "local_account_manager", "GM0523"),
    ("bizdev", "bizdev@demo.sdd-crm.nl", "Lotte Vermeulen", "business_developer", None),
    ("viewer", "viewer@demo.sdd-crm.nl", "Kees Goudriaan", "viewer", None),
]

# CBS code → weight, places with their postcode ranges (4 digits), area code, streets.
MUNICIPALITIES = {
    "GM0505": {
        "weight": 32, "area": "78",
        "places": [("Dordrecht", 3311, 3319)],
        "streets": ["Spuiboulevard", "Wijnstraat", "Voorstraat", "Merwedestraat", "Noordendijk",
                    "Mijlweg", "Kilweg", "Rijksstraatweg", "Laan der Verenigde Naties",
                    "Zuidendijk", "Copernicusweg", "Einsteinstraat", "Handelsweg", "Staartweg",
                    "Zeehavenkade", "Baanhoekweg"],
    },
    "GM0642": {
        "weight": 12, "area": "78",
        "places": [("Zwijndrecht", 3331, 3335)],
        "streets": ["Lindtsedijk", "Ringdijk", "Koninginneweg", "Edisonweg", "Langeweg",
                    "Hoge Nieuwstraat", "Plantageweg", "Kampweg", "Scheepmakerij"],
    },
    "GM0590": {
        "weight": 10, "area": "78",
        "places": [("Papendrecht", 3351, 3356)],
        "streets": ["Oosteind", "Westeind", "Veerweg", "Kooiwaard", "Zuidkil", "Industrieweg",
                    "Markt", "Ketelweg", "Rubensweg"],
    },
    "GM0610": {
        "weight": 11, "area": "184",
        "places": [("Sliedrecht", 3361, 3364)],
        "streets": ["Molendijk", "Kerkbuurt", "Stationsweg", "Baanhoek", "Rivierdijk",
                    "Leeghwaterstraat", "Nieuweweg", "Thorbeckelaan", "Lelystraat"],
    },
    "GM0482": {
        "weight": 8, "area": "78",
        "places": [("Alblasserdam", 2951, 2954)],
        "streets": ["Kortland", "Edisonweg", "Cortgene", "Hoogendijk", "Marineweg",
                    "Nieuwe Haven", "Plantageweg", "Staalindustrieweg"],
    },
    "GM0531": {
        "weight": 8, "area": "78",
        "places": [("Hendrik-Ido-Ambacht", 3341, 3344)],
        "streets": ["Antoniusweg", "Nijverheidsweg", "Noordeinde", "Pruimendijk",
                    "Sophiastraat", "Weverskade", "Vrouwgelenweg"],
    },
    "GM0523": {
        "weight": 8, "area": "184",
        "places": [("Hardinxveld-Giessendam", 3371, 3373)],
        "streets": ["Nieuweweg", "Peulenstraat", "Talmaweg", "Rivierdijk", "Parallelweg",
                    "Sluisweg", "Binnendams", "Giessenweg"],
    },
    "GM0512": {
        "weight": 3, "area": "183",
        "places": [("Gorinchem", 4201, 4207)],
        "streets": ["Spijksedijk", "Banneweg", "Stephensonweg", "Arkelsedijk",
                    "Westwagenstraat", "Newtonweg", "Avelingen-West"],
    },
    "GM1978": {
        "weight": 2.5, "area": "184",
        "places": [("Groot-Ammers", 2964, 2964), ("Nieuwpoort", 2965, 2965),
                   ("Bleskensgraaf", 2971, 2971), ("Kinderdijk", 2961, 2961)],
        "streets": ["Dorpsstraat", "Kerkstraat", "Lekdijk", "Nederwaard", "Middelweg",
                    "Molenstraat", "Industrieweg"],
    },
}

# Letters that occur in Dutch postcodes (no F, I, O, Q, U, Y; SA, SD and SS are never used).
POSTCODE_LETTERS = "ABCDEGHJKLMNPRTVWXZ"

SURNAMES = [
    "Van Dam", "De Vries", "Van der Linden", "Bakker", "Visser", "Smit", "Meijer", "De Boer",
    "Mulder", "De Groot", "Bos", "Vos", "Hendriks", "Van Leeuwen", "Dekker", "Brouwer",
    "De Wit", "De Graaf", "Van der Meer", "Van der Heijden", "Kok", "De Haan", "Vermeulen",
    "Van den Berg", "Van Dijk", "Verhoeven", "Schouten", "Van Beek", "Hoogendoorn",
    "Kraaijeveld", "Van Wijk", "Post", "Van Vliet", "Blom", "Van Os", "Den Hartog", "Verboom",
    "Baars", "Van Rijn", "Stam", "Van Gelder", "Koster", "Goudriaan", "Van Gent", "Timmerman",
    "Van Eck", "Van Houwelingen", "Kool", "Versluis", "Den Breejen", "Slob", "Molenaar",
    "Kruithof", "Boogaard", "Van Wingerden", "Bikker", "Sterk", "Van der Giessen", "Ligthart",
    "Pieterse", "Van Zessen", "Teeuw", "De Jong", "Van Noort", "Stolk", "Vink",
]
FIRST_NAMES = [
    "Jan", "Pieter", "Kees", "Willem", "Henk", "Sanne", "Anouk", "Lotte", "Eva", "Femke",
    "Ruben", "Daan", "Bram", "Thijs", "Mark", "Marieke", "Inge", "Esther", "Sander", "Joost",
    "Marloes", "Wouter", "Niels", "Fleur", "Linda", "Arjen", "Gert-Jan", "Jeroen", "Karin",
    "Monique", "Erik", "Rob", "Ilse", "Rianne", "Bart", "Hanneke", "Teun", "Lars", "Yvonne",
    "Koen", "Noor", "Emma", "Sophie", "Tim", "Jasper", "Mirjam", "Dirk", "Leon", "Priya", "Mehmet",
]
FUNCTIONS = [
    "Directeur", "Algemeen directeur", "Eigenaar", "Operationeel manager", "HR-manager",
    "Financieel directeur", "Hoofd engineering", "Projectleider", "Commercieel manager",
    "Inkoper", "Innovatiemanager", "Duurzaamheidscoördinator", "Bedrijfsleider",
]
# Rivers, waters and local names that companies in the region like to carry.
WATERS = ["Merwede", "Noord", "Oude Maas", "Dordtse Kil", "Lek", "Biesbosch", "Drecht",
          "Alblas", "Giessen", "Linge", "Wantij", "Devel", "Waal", "Zuidhaven", "Krabbegors"]

# Cluster → (weight among companies, [(name pattern, main SBI, description)]).
# Patterns: {s} surname, {p} place, {w} water; "De {w}" gives "Scheepswerf De Merwede".
COMPANY_PATTERNS = {
    "Maritieme maakindustrie": (28, [
        ("Scheepswerf De {w} B.V.", "3011", "Nieuwbouw van binnenvaart- en werkschepen"),
        ("Scheepswerf {s}", "3011", "Bouw van casco's en complete schepen"),
        ("Jachtbouw {s}", "3012", "Bouw van motor- en zeiljachten"),
        ("{s} Scheepsreparatie B.V.", "3315", "Reparatie, dokken en onderhoud van schepen"),
        ("Machinefabriek {s}", "2829", "Machines en dekuitrusting voor de scheepsbouw"),
        ("Constructiebedrijf {s} B.V.", "2511", "Staalconstructies en sectiebouw"),
        ("Staalbouw {p}", "2511", "Staal- en sectiebouw voor werven"),
        ("{s} Marine Engineering B.V.", "7112", "Scheepsontwerp en engineering"),
        ("Maritiem Elektro {s}", "3320", "Elektrische installaties aan boord"),
        ("Metaalbewerking {s}", "2562", "Verspanen en plaatbewerking"),
        ("{w} Propulsion B.V.", "2811", "Aandrijflijnen en scheepsmotoren"),
        ("Scheepsinstallaties {s}", "3320", "Leidingwerk en werktuigbouw aan boord"),
    ]),
    "Bouw & installatie": (24, [
        ("Installatiebedrijf {s}", "4322", "Verwarming, sanitair en warmtepompen"),
        ("Bouwbedrijf {s} B.V.", "4120", "Woningbouw en utiliteitsbouw"),
        ("Aannemingsbedrijf {s}", "4120", "Renovatie en verduurzaming van woningen"),
        ("Elektrotechniek {s}", "4321", "Elektrotechnische installaties en laadpalen"),
        ("{s} Installatietechniek B.V.", "4322", "Klimaatinstallaties voor utiliteitsbouw"),
        ("Loodgietersbedrijf {s}", "4322", "Loodgieterswerk en cv-onderhoud"),
        ("Projectontwikkeling {w} B.V.", "4110", "Ontwikkeling van woon- en werklocaties"),
        ("{s} Bouw & Onderhoud", "4120", "Onderhoud en verduurzaming van vastgoed"),
        ("Klimaattechniek {p}", "4322", "Ventilatie, koeling en warmteterugwinning"),
    ]),
    "Energietransitie": (12, [
        ("Warmtebedrijf {p}", "3530", "Levering van warmte via een collectief net"),
        ("{s} Energietechniek B.V.", "4321", "Zonnestroom, batterijen en netaansluitingen"),
        ("Zonnepark {w} B.V.", "3511", "Opwek van zonnestroom"),
        ("Waterstof {w} B.V.", "3511", "Productie van groene waterstof"),
        ("Energiecoöperatie {w}", "3511", "Lokale duurzame energie van en voor bewoners"),
        ("{s} Duurzame Energie", "3511", "Advies en aanleg van duurzame opwek"),
        ("Warmtenet {w} B.V.", "3530", "Aanleg en beheer van warmtenetten"),
        ("{s} Warmtepompen", "4322", "Installatie van warmtepompen"),
    ]),
    "Smart manufacturing": (12, [
        ("{s} Automation B.V.", "3320", "Automatisering en besturingstechniek"),
        ("Precisietechniek {p}", "2562", "Precisieverspaning in kleine series"),
        ("{s} Robotics", "2829", "Robotcellen voor lassen en handling"),
        ("{s} Fijnmechanica", "2562", "Fijnmechanische onderdelen"),
        ("Lasbedrijf {s}", "2511", "Las- en constructiewerk"),
        ("{w} Machinebouw B.V.", "2829", "Speciaalmachinebouw"),
        ("{s} CNC-techniek", "2562", "CNC-draai- en freeswerk"),
    ]),
    "Delta-technologie": (10, [
        ("Baggerbedrijf {s} B.V.", "4291", "Baggerwerken en landaanwinning"),
        ("Waterbouw {s}", "4291", "Oeverwerken, kades en steigers"),
        ("{s} Dijkbouw", "4291", "Dijkversterking en grondwerk"),
        ("{w} Hydraulic Engineering B.V.", "7112", "Waterbouwkundig ontwerp en advies"),
        ("Oeverbescherming {s}", "4291", "Natuurvriendelijke oevers en beschoeiing"),
        ("{s} Waterbouwkundig Advies", "7112", "Advies over waterveiligheid"),
    ]),
    "Logistiek & digital mainport": (9, [
        ("Transportbedrijf {s}", "5222", "Wegtransport en containervervoer"),
        ("{s} Logistiek B.V.", "5222", "Opslag en distributie"),
        ("Containerterminal {p}", "5222", "Overslag van containers van schip op weg"),
        ("Binnenvaartrederij {s}", "5222", "Vervoer over de binnenwateren"),
        ("Overslagbedrijf {s}", "5222", "Op- en overslag van bulkgoederen"),
        ("{s} Expeditie", "5222", "Expeditie en douaneafhandeling"),
    ]),
    "Zorginnovatie": (5, [
        ("{s} Zorgtechniek B.V.", "7219", "Technische hulpmiddelen voor de zorg"),
        ("ZorgDomotica {p}", "4321", "Domotica en alarmering in woningen"),
        ("{w} MedTech B.V.", "7219", "Ontwikkeling van medische apparatuur"),
        ("{s} Revalidatietechniek", "2829", "Maatwerk hulpmiddelen voor revalidatie"),
    ]),
}

# Non-company organisations: (name, org_type, municipality, employees, clusters, description).
FIXED_ORGANISATIONS = [
    ("Gemeente Dordrecht", "government", "GM0505", 1450, [], "Gemeentelijke organisatie"),
    ("Gemeente Zwijndrecht", "government", "GM0642", 420, [], "Gemeentelijke organisatie"),
    ("Gemeente Papendrecht", "government", "GM0590", 260, [], "Gemeentelijke organisatie"),
    ("Gemeente Sliedrecht", "government", "GM0610", 230, [], "Gemeentelijke organisatie"),
    ("Gemeente Alblasserdam", "government", "GM0482", 180, [], "Gemeentelijke organisatie"),
    ("Gemeente Hendrik-Ido-Ambacht", "government", "GM0531", 210, [], "Gemeentelijke organisatie"),
    ("Gemeente Hardinxveld-Giessendam", "government", "GM0523", 150, [],
     "Gemeentelijke organisatie"),
    ("Gemeente Gorinchem", "government", "GM0512", 380, [], "Gemeentelijke organisatie"),
    ("Gemeente Molenlanden", "government", "GM1978", 330, [], "Gemeentelijke organisatie"),
    ("Omgevingsdienst Zuid-Holland Zuid", "government", "GM0505", 520, ["Energietransitie"],
     "Vergunningverlening en toezicht voor de regio"),
    ("Havenbedrijf Drechtsteden", "government", "GM0505", 85, ["Logistiek & digital mainport"],
     "Beheer van havens en kades"),
    ("Da Vinci College", "education", "GM0505", 1350, ["Bouw & installatie", "Maritieme maakindustrie"],
     "Middelbaar beroepsonderwijs in techniek, zorg en economie"),
    ("Maritieme Academie Drechtsteden", "education", "GM0482", 140, ["Maritieme maakindustrie"],
     "Opleidingen voor scheepsbouw en binnenvaart"),
    ("Techniekcollege Sliedrecht", "education", "GM0610", 95, ["Delta-technologie"],
     "Vakopleidingen voor waterbouw en baggeren"),
    ("Praktijkcentrum Installatietechniek Papendrecht", "education", "GM0590", 45,
     ["Bouw & installatie", "Energietransitie"], "Praktijkopleidingen voor installateurs"),
    ("Scheepsbouw Opleidingscentrum Alblasserdam", "education", "GM0482", 38,
     ["Maritieme maakindustrie"], "Bedrijfsopleidingen voor werven en toeleveranciers"),
    ("Zorgacademie Gorinchem", "education", "GM0512", 60, ["Zorginnovatie"],
     "Opleidingen voor zorgprofessionals"),
    ("Kenniscentrum Maritieme Techniek", "knowledge_institution", "GM0505", 42,
     ["Maritieme maakindustrie", "Smart manufacturing"], "Toegepast onderzoek voor de maritieme sector"),
    ("Innovatiecentrum Duurzame Delta", "knowledge_institution", "GM0505", 28,
     ["Delta-technologie", "Energietransitie"], "Onderzoek naar klimaatadaptatie en waterveiligheid"),
    ("Drechtsteden Campus", "knowledge_institution", "GM0505", 65,
     ["Smart manufacturing", "Zorginnovatie"], "Campus voor onderwijs, onderzoek en bedrijven"),
    ("Centre of Expertise Waterbouw Sliedrecht", "knowledge_institution", "GM0610", 24,
     ["Delta-technologie"], "Praktijkgericht onderzoek naar baggeren en waterbouw"),
    ("Energielab Zwijndrecht", "knowledge_institution", "GM0642", 16, ["Energietransitie"],
     "Proeftuin voor warmte en waterstof"),
    ("Proeftuin Emissieloos Varen", "knowledge_institution", "GM0523", 12,
     ["Maritieme maakindustrie", "Energietransitie"], "Testen van elektrische en waterstofaandrijving"),
    ("Zorginnovatielab Dordrecht", "knowledge_institution", "GM0505", 14, ["Zorginnovatie"],
     "Samen met zorginstellingen nieuwe technologie beproeven"),
    ("Smart Factory Drechtsteden", "knowledge_institution", "GM0590", 11, ["Smart manufacturing"],
     "Fieldlab voor slimme productie"),
    ("Stichting Maritieme Delta", "other", "GM0505", 6, ["Maritieme maakindustrie"],
     "Netwerk van maritieme bedrijven in de regio"),
    ("Ondernemersvereniging Papendrecht", "other", "GM0590", 2, [], "Belangenbehartiging voor ondernemers"),
    ("Bedrijvenkring Sliedrecht", "other", "GM0610", 2, [], "Netwerk van ondernemers"),
    ("Stichting Warmtenet Drechtsteden", "other", "GM0642", 4, ["Energietransitie"],
     "Regionale samenwerking rond warmtenetten"),
    ("Netwerk Techniek Drechtsteden", "other", "GM0505", 5, ["Smart manufacturing"],
     "Samenwerking tussen techniekbedrijven en onderwijs"),
]

LEGAL_FORM_BV = "Besloten Vennootschap"
LEGAL_FORMS_SMALL = ["Eenmanszaak", "Vennootschap onder firma", LEGAL_FORM_BV]
LEGAL_FORM_BY_TYPE = {
    "government": "Publiekrechtelijke rechtspersoon",
    "education": "Stichting",
    "knowledge_institution": "Stichting",
    "other": "Vereniging",
}

# Value chains per cluster, with their stages in order.
VALUE_CHAINS = [
    ("Scheepsbouw", "Maritieme maakindustrie",
     ["Ontwerp & engineering", "Casco", "Systemen", "Afbouw", "Onderhoud"],
     ["engineering", "staalsecties", "scheepsschroeven", "elektrische installatie", "leidingwerk",
      "betimmering", "dekuitrusting"]),
    ("Refit & onderhoud", "Maritieme maakindustrie",
     ["Inspectie", "Dokken & demontage", "Reparatie", "Ombouw", "Oplevering"],
     ["dokcapaciteit", "staalreparaties", "motorrevisie", "schilderwerk", "certificering"]),
    ("Emissieloos varen", "Maritieme maakindustrie",
     ["Onderzoek", "Aandrijving", "Energieopslag", "Systeemintegratie", "Exploitatie"],
     ["elektromotoren", "batterijpakketten", "waterstoftanks", "energiebeheersysteem",
      "walstroomaansluiting"]),
    ("Warmtenetten", "Energietransitie",
     ["Bron", "Transport", "Distributie", "Aansluiting", "Beheer"],
     ["restwarmte", "transportleidingen", "warmtewisselaars", "afleversets", "beheer en storingen"]),
    ("Waterstof", "Energietransitie",
     ["Productie", "Opslag", "Transport", "Toepassing"],
     ["elektrolysers", "drukvaten", "compressoren", "tankinstallatie"]),
    ("Verduurzaming woningen", "Bouw & installatie",
     ["Advies", "Ontwerp", "Bouw", "Installatie", "Onderhoud"],
     ["energieadvies", "isolatie", "warmtepompen", "zonnepanelen", "ventilatie", "cv-onderhoud"]),
    ("Precisietechniek", "Smart manufacturing",
     ["Engineering", "Verspanen", "Assemblage", "Testen"],
     ["constructietekeningen", "freesdelen", "draaidelen", "besturingskasten", "testbanken"]),
    ("Dijkversterking & waterbouw", "Delta-technologie",
     ["Onderzoek", "Ontwerp", "Uitvoering", "Beheer"],
     ["grondonderzoek", "ontwerpberekeningen", "damwanden", "baggermaterieel", "steenbestorting"]),
    ("Zorgtechnologie", "Zorginnovatie",
     ["Onderzoek", "Ontwikkeling", "Productie", "Implementatie"],
     ["sensoren", "software", "behuizingen", "installatie en service"]),
    ("Binnenvaartlogistiek", "Logistiek & digital mainport",
     ["Overslag", "Transport", "Opslag", "Distributie"],
     ["kraancapaciteit", "binnenvaarttransport", "opslagruimte", "trucking"]),
]
