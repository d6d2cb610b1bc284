"""Loading the reference data: municipalities, places, focus SBI codes, clusters, programmes.

The clusters and the programmes are loaded by their own features (receivers of
``signals.reference_seeded``) from the lists below.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..signals import reference_seeded
from .models import Municipality, Place, SbiCode

CLUSTERS = [
    ("Maritieme maakindustrie", "Scheepsbouw, refit, maritieme toelevering en offshore."),
    ("Energietransitie", "Warmtenetten, waterstof, elektrificatie en verduurzaming."),
    ("Bouw & installatie", "Bouw, installatietechniek en verduurzaming van de gebouwde omgeving."),
    ("Smart manufacturing", "Slimme maakindustrie, automatisering en robotica."),
    ("Delta-technologie", "Water, dijken, baggeren en klimaatadaptatie."),
    ("Zorginnovatie", "Zorgtechnologie en innovatie in de zorg."),
    ("Logistiek & digital mainport", "Logistiek, havens, datacenters en digitale infrastructuur."),
]

DRECHTSTEDEN = ["GM0482", "GM0505", "GM0523", "GM0531", "GM0590", "GM0610", "GM0642"]

PROGRAMMES = [
    {
        "code": "scale",
        "name": "SCALE — energietransitie in de gebouwde omgeving",
        "funder": "Nationaal Groeifonds",
        "description": "Verbindt 1.000 regionale mkb-bedrijven met de energietransitie in de gebouwde omgeving.",
        "start_date": dt.date(2024, 1, 1),
        "end_date": dt.date(2028, 12, 31),
        "region": DRECHTSTEDEN,
        "target": 1000,
    },
    {
        "code": "regio-deal",
        "name": "Regio Deal Drechtsteden-Gorinchem",
        "funder": "Rijksoverheid en regio",
        "description": "Brede welvaart in de Drechtsteden en Gorinchem.",
        "start_date": dt.date(2023, 1, 1),
        "end_date": dt.date(2026, 12, 31),
        "region": DRECHTSTEDEN + ["GM0512"],
        "target": 250,
    },
    {
        "code": "maritiem-masterplan",
        "name": "Maritiem Masterplan",
        "funder": "Nationaal Groeifonds",
        "description": "Emissieloos varen: vernieuwing van de maritieme maakindustrie.",
        "start_date": dt.date(2023, 1, 1),
        "end_date": dt.date(2030, 12, 31),
        "region": DRECHTSTEDEN + ["GM0512", "GM1978"],
        "target": 100,
    },
]


def _rows(name: str):
    path = Path(current_app.config["REFERENCE_DIR"]) / name
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)


def seed_reference() -> dict[str, int]:
    """Insert or update the reference data; running it twice changes nothing (idempotent)."""
    counts = {"municipalities": 0, "places": 0, "sbi_codes": 0, "clusters": 0, "programmes": 0}
    for row in _rows("municipalities.csv"):
        m = db.session.get(Municipality, row["cbs_code"]) or Municipality(code=row["cbs_code"])
        m.name = row["name"]
        m.drechtsteden_member = row["drechtsteden_member"].strip().lower() == "true"
        db.session.add(m)
        counts["municipalities"] += 1
    db.session.flush()
    for row in _rows("places.csv"):
        p = db.session.get(Place, row["place"]) or Place(name=row["place"])
        p.municipality_code = row["cbs_code"]
        db.session.add(p)
        counts["places"] += 1
    for row in _rows("sbi_focus.csv"):
        s = db.session.scalar(sa.select(SbiCode).where(SbiCode.code == row["sbi"], SbiCode.version == "2008"))
        s = s or SbiCode(code=row["sbi"], version="2008")
        s.label_nl, s.label_en = row["label_nl"], row["label_en"]
        s.focus, s.suggested_cluster = True, row["suggested_cluster"] or None
        db.session.add(s)
        counts["sbi_codes"] += 1
    db.session.flush()
    reference_seeded.send(None, counts=counts)  # the clusters and the programmes load theirs
    db.session.flush()
    return counts
