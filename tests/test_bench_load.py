"""`make bench-load`'s own parts, without gunicorn or locust: the simulated user's forms
against the real pages (CSRF on), the plan, the mix against the locustfile, and the results
section of RESULTS.md."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import PASSWORD
from werkzeug.datastructures import MultiDict

from benchmarks import load
from benchmarks.load_forms import contact_moment_data, page_form
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction
from sdd_crm.organisations.models import Organisation


def test_a_simulated_user_signs_in_and_logs_a_contact_moment_through_the_real_forms(
        app, client, monkeypatch, make_user, make_org, make_contact):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production
    user = make_user("regional_account_manager")
    org = make_org(name="Dordtse Scheepswerf B.V.")
    contact = make_contact(org)

    login = page_form(client.get("/login").get_data(as_text=True), "/login", "/login")
    assert login is not None and dict(login.fields).get("csrf_token")
    resp = client.post("/login", data=MultiDict(login.data(email=user.email, password=PASSWORD)))
    assert resp.status_code == 302 and urlsplit(resp.location).path == "/"

    page = f"/interactions/new?organisation_id={org.id}"
    form = page_form(client.get(page).get_data(as_text=True), page, "/interactions/new")
    assert form is not None and dict(form.fields).get("csrf_token")
    data = MultiDict(contact_moment_data(form, random.Random(1)))  # as locust posts the pairs
    resp = client.post("/interactions/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    # The one contact-moment form lands on the organisation's timeline (issue 14).
    assert urlsplit(resp.location).path == f"/organisations/{org.id}"
    saved = db.session.scalar(sa.select(Interaction).where(
        Interaction.subject.startswith("Belastingtest ")).order_by(Interaction.id.desc()).limit(1))
    assert saved.organisation_id == org.id and saved.subject.startswith("Belastingtest ")
    assert [c.id for c in saved.contacts] == [contact.id] and len(saved.topics) == 1


def test_every_task_of_the_mix_is_a_method_of_the_simulated_user():
    tree = ast.parse(Path(load.LOCUSTFILE).read_text(encoding="utf-8"))
    user = next(n for n in tree.body
                if isinstance(n, ast.ClassDef) and n.name == "AccountManagerSession")
    methods = {n.name for n in user.body if isinstance(n, ast.FunctionDef)}
    assert {name for name, _, _ in load.MIX} <= methods
    assert all(weight > 0 for _, weight, _ in load.MIX)


def test_the_plan_spreads_the_users_over_both_roles_and_real_organisations(make_user, make_org):
    org = make_org(name="Papendrechtse Jachtbouw B.V.", city="Papendrecht", kvk_number="55556666")
    assert org.municipality_code == "GM0590"
    local = make_user("local_account_manager", municipality="GM0590",
                      email="lokaal.test@synthetisch.sdd-crm.nl")
    regional = make_user("regional_account_manager", email="regio.test@synthetisch.sdd-crm.nl")
    make_user("business_developer", email="bizdev.test@synthetisch.sdd-crm.nl")
    make_user("regional_account_manager", email="elders@example.nl")
    plan = load.build_plan(db.session.connection(), think=1.0, seed=1)
    # Only account managers of the synthetic data set, regional and local in turn.
    assert [u["email"] for u in plan["users"]] == [regional.email, local.email]
    assert plan["users"][1]["municipality"] == "GM0590" and org.id in plan["users"][1]["nearby"]
    assert org.id in plan["organisations"] and "55556666" in plan["kvk_numbers"]
    names = [n.lower() for n in db.session.scalars(sa.select(Organisation.name))]
    assert plan["search_terms"] and all(any(t in n for n in names) for t in plan["search_terms"])
    assert plan["think"] == [0.5, 1.5] and set(plan["weights"]) == {n for n, _, _ in load.MIX}


@pytest.mark.parametrize("name", ["Dordtse Scheepswerf B.V.", "Van der Giessen Holding"])
def test_a_search_term_is_part_of_the_name(name):
    rng = random.Random(3)
    for _ in range(50):
        term = load.search_term(name, rng)
        assert term and len(term) >= 4 and term in name.lower()
    assert load.search_term("A B C 123 B.V.", rng) is None


def _row(method, name, count, failures, rps, p50, p95, p99):
    return {"method": method, "name": name, "requests": count, "failures": failures, "rps": rps,
            "p50": p50, "p95": p95, "p99": p99}


def test_the_results_section_is_read_from_locust_and_replaces_only_its_own_part(tmp_path):
    figures = tmp_path / "results.json"
    figures.write_text(json.dumps({"exit_code": 1, "entries": [
        _row("GET", "organisation detail /organisations/<id>", 120, 0, 2.0, 21, 45, 80),
        _row("GET", "dashboard /", 40, 1, 0.7, 30, 90, 150),
        _row("GET", "a request outside the mix", 1, 0, 0.1, None, None, None),
        _row("POST", "login: sign in", 20, 0, 0.3, 90, 120, 130),
    ], "total": _row("", "Aggregated", 181, 1, 3.1, 25, 90, 140),
        "errors": ["1× GET dashboard /: 500"]}), encoding="utf-8")
    rows, total, errors = load.read_results(figures)
    assert [r["name"] for r in rows] == ["login: sign in", "dashboard /",
                                         "organisation detail /organisations/<id>",
                                         "a request outside the mix"]
    assert total["requests"] == 181 and errors == ["1× GET dashboard /: 500"]
    assert load.read_results(tmp_path / "missing.json") == ([], None, ["locust wrote no results"])

    args = SimpleNamespace(workers=2, users=20, rate=5.0, seconds=60, think=1.0)
    body = load.section(machine=["- Machine: test"], size={"organisation": 100, "interaction": 7},
                        logged=3, db_name="sdd_crm_bench", args=args, rows=rows, total=total,
                        errors=errors)
    assert ("| organisation detail (GET `/organisations/<id>`) | 120 | 0 | 2.0 | 21 | 45 | 80 |"
            in body)
    assert "| a request outside the mix (GET) | 1 | 0 | 0.1 | – | – | – |" in body
    assert "| dashboard (GET `/`) | 40 | 1 | 0.7 | 30 | 90 | 150 |" in body
    assert "| **total** | 181 | 1 | 3.1 | 25 | 90 | 140 |" in body
    assert "7 contact moments (3 logged by this run)" in body and "1× GET dashboard /" in body

    results = tmp_path / "RESULTS.md"
    load.write_section(results, "first")
    assert results.read_text().startswith("# Benchmark results")
    results.write_text("# Benchmark results\n\npage table\n<!-- load:start -->\nold\n"
                       "<!-- load:end -->\nafter\n", encoding="utf-8")
    load.write_section(results, body)
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results\n\npage table\n<!-- load:start -->\n## Under load")
    assert text.endswith(f"{body}\n<!-- load:end -->\nafter\n") and "old" not in text
