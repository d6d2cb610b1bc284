"""The demo region's organisations as plain data, drawn from one seeded RNG (no database).

Kept apart from the database code so that determinism can be tested without seeding twice.
"""

from __future__ import annotations

import random
import re
import unicodedata

from ..organisations.size import SME_MAX_EMPLOYEES
from .demo_data import (
    COMPANY_PATTERNS,
    DEMO_SOURCE,
    FIXED_ORGANISATIONS,
    LEGAL_FORM_BV,
    LEGAL_FORM_BY_TYPE,
    LEGAL_FORMS_SMALL,
    MUNICIPALITIES,
    POSTCODE_LETTERS,
    SURNAMES,
    WATERS,
)

SEED = 2024
CLUSTER_NAMES = list(COMPANY_PATTERNS)
# Dredging and hydraulic engineering cluster in Sliedrecht and Hardinxveld-Giessendam,
# shipbuilding along the Noord and the Merwede: local bias on the cluster draw.
LOCAL_BIAS = {
    "GM0610": {"Delta-technologie": 4.0},
    "GM0523": {"Delta-technologie": 3.0, "Maritieme maakindustrie": 1.5},
    "GM0482": {"Maritieme maakindustrie": 2.0},
    "GM0590": {"Maritieme maakindustrie": 1.5},
    "GM0505": {"Logistiek & digital mainport": 1.5, "Zorginnovatie": 1.5},
}


def new_rng() -> random.Random:
    return random.Random(SEED)


def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\bb\.?v\.?$", "", text.strip())
    return re.sub(r"[^a-z0-9]+", "", text)


def postcode(rng: random.Random, lo: int, hi: int) -> str:
    while True:
        letters = rng.choice(POSTCODE_LETTERS) + rng.choice(POSTCODE_LETTERS + "S")
        if letters not in ("SA", "SD", "SS"):
            return f"{rng.randint(lo, hi)} {letters}"


def phone(rng: random.Random, area: str) -> str:
    """A landline in E.164 with the region's area code (078, 0184, 0183)."""
    if area == "78":
        return f"+3178{rng.randint(6_100_000, 6_999_999)}"
    return f"+31{area}{rng.randint(410_000, 699_999)}"


def mobile(rng: random.Random) -> str:
    return f"+316{rng.randint(10_000_000, 59_999_999)}"


def _address(rng: random.Random, code: str) -> dict:
    spec = MUNICIPALITIES[code]
    place, lo, hi = rng.choice(spec["places"])
    number = rng.randint(1, 240)
    suffix = rng.choice(["", "", "", "", "a", "b", "-3"])
    return {
        "street": f"{rng.choice(spec['streets'])} {number}{suffix}",
        "postcode": postcode(rng, lo, hi),
        "city": place,
        "municipality": code,
        "phone": phone(rng, spec["area"]),
    }


def company_employees(rng: random.Random) -> int | None:
    """Skewed like the register: many micro and small firms, a few with 250-2,500."""
    r = rng.random()
    if r < 0.04:
        return None
    if r < 0.48:
        return rng.randint(1, 9)
    if r < 0.78:
        return rng.randint(10, 49)
    if r < 0.94:
        return rng.randint(50, 249)
    return min(2500, int(250 * 10 ** rng.uniform(0, 1)))


def _unique(rng: random.Random, used: set, make) -> str:
    while True:
        value = make(rng)
        if value not in used:
            used.add(value)
            return value


class _Registry:
    def __init__(self):
        self.names: set[str] = set()
        self.kvk: set[str] = set()
        self.establishments: set[str] = set()

    def kvk_number(self, rng):
        return _unique(rng, self.kvk, lambda r: f"{r.randint(10_000_000, 98_999_999):08d}")

    def establishment_number(self, rng):
        return _unique(rng, self.establishments, lambda r: f"{r.randint(10_000_000, 59_999_999):012d}")


def _company_name(rng, reg: _Registry, cluster: str, place: str) -> tuple[str, str, str]:
    patterns = COMPANY_PATTERNS[cluster][1]
    for attempt in range(40):
        pattern, sbi, description = rng.choice(patterns)
        name = pattern.format(s=rng.choice(SURNAMES), p=place, w=rng.choice(WATERS))
        if attempt > 20:
            name = f"{name} {place}"
        if name not in reg.names:
            reg.names.add(name)
            return name, sbi, description
    raise RuntimeError("no free company name")  # pragma: no cover - 40 tries never all collide


def _company(rng, reg: _Registry, index: int) -> dict:
    codes = list(MUNICIPALITIES)
    # The first few draws are pinned so every municipality and cluster is present at any n.
    code = codes[index] if index < len(codes) else rng.choices(
        codes, [MUNICIPALITIES[c]["weight"] for c in codes])[0]
    bias = LOCAL_BIAS.get(code, {})
    cluster = CLUSTER_NAMES[index] if index < len(CLUSTER_NAMES) else rng.choices(
        CLUSTER_NAMES, [COMPANY_PATTERNS[c][0] * bias.get(c, 1.0) for c in CLUSTER_NAMES])[0]
    address = _address(rng, code)
    name, sbi, description = _company_name(rng, reg, cluster, address["city"])
    employees = company_employees(rng)
    turnover = balance = None
    if employees is not None and rng.random() < 0.45:
        turnover = int(round(employees * rng.uniform(90_000, 260_000), -3))
        balance = int(round(turnover * rng.uniform(0.35, 0.9), -3))
    if name.endswith("B.V.") or (employees or 0) >= 50:
        legal_form = LEGAL_FORM_BV
    elif name.startswith("Energiecoöperatie"):
        legal_form = "Coöperatie"
    else:
        legal_form = rng.choice(LEGAL_FORMS_SMALL)
    r = rng.random()
    status = "dissolved" if r < 0.02 else ("inactive" if r < 0.035 else "active")
    tags = []
    if rng.random() < 0.25:
        tags.append("familiebedrijf")
    if (employees or 0) >= 50 and rng.random() < 0.3:
        tags.append("exporteur")
    clusters = [cluster]
    if rng.random() < 0.15:
        clusters.append(rng.choice([c for c in CLUSTER_NAMES if c != cluster]))
    other_sbi = []
    if rng.random() < 0.3:
        other_sbi = [rng.choice(COMPANY_PATTERNS[clusters[-1]][1])[1]]
    site = slug(name)
    data = {
        "name": name, "org_type": "company", "legal_form": legal_form,
        "kvk_number": reg.kvk_number(rng), "establishment_number": reg.establishment_number(rng),
        "sbi_codes": list(dict.fromkeys([sbi, *other_sbi])),
        "employees": employees, "annual_turnover_eur": turnover,
        "balance_sheet_total_eur": balance, **address,
        "website": f"https://www.{site}.example", "email": f"info@{site}.example",
        "description": f"{description}, opgericht in {rng.randint(1921, 2021)}.",
        "status": status, "tags": tags, "source": DEMO_SOURCE,
    }
    return {"data": data, "clusters": clusters, "parent": None}


def _fixed(rng, reg: _Registry, entry) -> dict:
    name, org_type, code, employees, clusters, description = entry
    reg.names.add(name)
    address = _address(rng, code)
    if org_type == "government" and name.startswith("Gemeente"):
        address["city"] = MUNICIPALITIES[code]["places"][0][0]
    site = slug(name)
    data = {
        "name": name, "org_type": org_type, "legal_form": LEGAL_FORM_BY_TYPE[org_type],
        "kvk_number": reg.kvk_number(rng), "establishment_number": reg.establishment_number(rng),
        "sbi_codes": ["7219"] if org_type == "knowledge_institution" else [],
        "employees": employees, "annual_turnover_eur": None, "balance_sheet_total_eur": None,
        **address, "website": f"https://www.{site}.example", "email": f"info@{site}.example",
        "description": description + ".", "status": "active", "tags": [], "source": DEMO_SOURCE,
    }
    return {"data": data, "clusters": list(clusters), "parent": None}


def _groups(rng, specs: list[dict], n_groups: int = 4) -> None:
    """A few parent groups: a large company with two or three subsidiaries in its cluster."""
    def employees(i):
        return specs[i]["data"]["employees"] or 0

    companies = [i for i, s in enumerate(specs)
                 if s["data"]["org_type"] == "company" and s["data"]["status"] == "active"]
    large = [i for i in companies if employees(i) >= SME_MAX_EMPLOYEES]
    parents = rng.sample(large, min(n_groups, len(large)))
    names = {s["data"]["name"] for s in specs}
    for p in parents:
        data = specs[p]["data"]
        name = _unique(rng, names, lambda r: f"{r.choice(SURNAMES)} Groep B.V.")
        site = slug(name)
        data.update(name=name, legal_form=LEGAL_FORM_BV, website=f"https://www.{site}.example",
                    email=f"info@{site}.example")
        data["description"] = "Familiegroep met werkmaatschappijen in de regio; " + data["description"]
        candidates = [i for i in companies if i not in parents and specs[i]["parent"] is None
                      and specs[i]["clusters"][0] == specs[p]["clusters"][0]
                      and employees(i) < employees(p)]
        for child in rng.sample(candidates, min(rng.randint(2, 3), len(candidates))):
            specs[child]["parent"] = p


def build_organisations(rng: random.Random, n_organisations: int = 320) -> list[dict]:
    """Organisation specs: ``data`` for create_organisation, ``clusters`` (primary first),
    ``parent`` (index of the parent spec or None)."""
    reg = _Registry()
    for entry in FIXED_ORGANISATIONS:
        reg.names.add(entry[0])
    n_companies = max(n_organisations - len(FIXED_ORGANISATIONS), 0)
    specs = [_company(rng, reg, i) for i in range(n_companies)]
    specs += [_fixed(rng, reg, entry) for entry in FIXED_ORGANISATIONS]
    _groups(rng, specs)
    _extra_establishments(rng, reg, specs)
    return specs


def _extra_establishments(rng, reg: _Registry, specs: list[dict]) -> None:
    """Larger companies often have a second establishment elsewhere in the region."""
    drechtsteden = [c for c in MUNICIPALITIES if c not in ("GM0512", "GM1978")]
    for spec in specs:
        data = spec["data"]
        spec["establishments"] = []
        if data["org_type"] == "company" and (data["employees"] or 0) >= 100 and rng.random() < 0.5:
            code = rng.choice([c for c in drechtsteden if c != data["municipality"]])
            address = _address(rng, code)
            address.pop("phone")
            spec["establishments"].append({
                **address, "establishment_number": reg.establishment_number(rng),
                "employees": max(5, (data["employees"] or 0) // rng.randint(3, 6)),
            })
