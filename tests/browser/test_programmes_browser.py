"""Programme screens of issue 5 in real Chromium: the progress dashboard of SCALE draws its
charts with the Chart.js shipped in /static/vendor (no other host is ever asked for anything),
every chart's table holds the chart's numbers, the console stays clean, axe-core finds no WCAG
2.1 A/AA violations and a phone-wide window (390 px) does not scroll sideways; and a business
developer moves a participation along the pipeline with the row's form and finds the move in
its history.

``scale_world`` adds twelve organisations of its own (names sorting after the seeded ones) and
their participations in SCALE to the live server's database, through the services: five count
(SMEs in the Drechtsteden), two take part but do not count (too big; outside the region), and
five are elsewhere in the pipeline.
"""

from __future__ import annotations

import json
import re

import pytest
from browser_support import PASSWORD, axe_violations, screenshot, sign_in
from playwright.sync_api import expect

BD_EMAIL = "bd.programmabrowser@example.nl"
BD_NAME = "Bas Programma"
# name, city, employees, status, primary cluster
ORGS = [
    ("Warmtenet Wielstra B.V.", "Dordrecht", 12, "participating", "Energietransitie"),
    ("Wind en Water Techniek B.V.", "Zwijndrecht", 45, "participating", "Energietransitie"),
    ("Werktuigbouw Oostkil B.V.", "Papendrecht", 80, "completed", "Maritieme maakindustrie"),
    ("Walstroom Merwede B.V.", "Sliedrecht", 8, "participating", None),
    ("Woningisolatie Kinderdijk B.V.", "Alblasserdam", 3, "participating", None),
    ("Wereldhaven Holding B.V.", "Dordrecht", 900, "participating", None),  # not an SME
    ("Waalkade Logistiek B.V.", "Gorinchem", 20, "participating", None),  # outside the region
    ("Wijkwarmte Crabbehof B.V.", "Dordrecht", 15, "interested", None),
    ("Wasserij Stevens B.V.", "Zwijndrecht", 25, "approached", None),
    ("Weverij Van Dam B.V.", "Papendrecht", 30, "identified", None),
    ("Wilgenhof Bouw B.V.", "Sliedrecht", 40, "identified", None),  # moved by the pipeline test
    ("Wolfsbos Installaties B.V.", "Dordrecht", 60, "declined", None),
]
MOVED = "Wilgenhof Bouw B.V."
COUNTED = 5


@pytest.fixture(scope="module")
def scale_world(live_server):
    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import create_organisation
    from sdd_crm.programmes.models import Participation, Programme
    from sdd_crm.programmes.services import add_participation
    from sdd_crm.valuechains.models import Cluster, OrganisationCluster

    with live_server.app.app_context():
        scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
        bd = db.session.scalar(sa.select(User).where(User.email == BD_EMAIL))
        if bd is None:
            admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
            bd = create_user(email=BD_EMAIL, name=BD_NAME, role="business_developer",
                             password=PASSWORD)
            clusters = {c.name: c.id for c in db.session.scalars(sa.select(Cluster))}
            for i, (name, city, employees, status, cluster) in enumerate(ORGS):
                org = create_organisation({
                    "name": name, "org_type": "company", "city": city,
                    "street": f"Werfkade {i + 1}", "employees": employees}, actor=admin)
                add_participation(scale, org.id, actor=admin, status=status, owner_id=bd.id)
                if cluster:
                    db.session.add(OrganisationCluster(organisation_id=org.id,
                                                       cluster_id=clusters[cluster],
                                                       is_primary=True))
            db.session.commit()
        moved = db.session.scalar(
            sa.select(Participation.id).join(Organisation)
            .where(Participation.programme_id == scale.id, Organisation.name == MOVED))
        ids = {"programme": scale.id, "moved": moved}
        db.session.remove()
    return ids


def _statuses_now(live_server, programme_id: int) -> dict[str, int]:
    """Live participations of SCALE per status, straight from the database."""
    import sqlalchemy as sa

    from sdd_crm.extensions import db
    from sdd_crm.programmes.models import Participation

    with live_server.app.app_context():
        rows = db.session.execute(
            sa.select(Participation.status, sa.func.count())
            .where(Participation.programme_id == programme_id, Participation.deleted_at.is_(None))
            .group_by(Participation.status)).all()
        db.session.remove()
    return dict(rows)


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def _number(text: str):
    """A whole number as the page writes it ("1.000"), None for "—", other text as it is."""
    text = text.strip()
    if text in ("—", ""):
        return None
    return int(text.replace(".", "")) if re.fullmatch(r"\d{1,3}(\.\d{3})*", text) else text


def _table(page, name: str) -> list[tuple[str, list]]:
    """The body rows of ``table[data-table=name]``: (row header, [numbers of the cells])."""
    rows = page.evaluate("""name => [...document.querySelectorAll(
            `table[data-table="${name}"] tbody tr`)].map(tr => [
        tr.querySelector("th").textContent.trim(),
        [...tr.querySelectorAll("td")].map(td => td.textContent.trim())])""", name)
    return [(head, [_number(c) for c in cells]) for head, cells in rows]


def _drawn(page, chart_id: str) -> dict:
    """What Chart.js drew on the canvas of ``chart_id``: its labels and datasets' data."""
    return page.evaluate("""id => {
        const canvas = document.querySelector(`canvas[data-chart="${id}"]`);
        const chart = Chart.getChart(canvas);
        if (!chart) { return null; }
        return {labels: chart.data.labels, data: chart.data.datasets.map(d => d.data),
                width: canvas.width, height: canvas.height};
    }""", chart_id)


def test_progress_dashboard_draws_its_charts_from_this_server(user_page, live_server,
                                                              scale_world):
    page = user_page
    host = live_server.url
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    # (Chromium asks each new host for /favicon.ico once, which this app does not have.)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text} {m.location}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)

    resp = page.goto("/programmes/scale/progress")
    assert resp.status == 200
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Voortgang: SCALE")
    expect(page.locator("#stand")).to_be_visible()
    assert page.locator("#stand ~ p.app-progress-figure").inner_text().strip() == \
        f"{COUNTED} van 1.000 mkb-bedrijven geteld (0%)."

    excluded = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        "tr[data-reason]")].map(tr => [tr.dataset.reason, tr.querySelector("td").textContent]))""")
    assert excluded == {"status": "5", "outside_region": "1", "not_sme": "1"}

    # Chart.js came from /static/vendor and nothing was asked of any other host.
    assert f"{host}/static/vendor/chart.umd.min.js" in requests
    assert [u for u in requests if not u.startswith(host + "/")] == []
    assert page.evaluate("typeof Chart") == "function"
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(4)
    drawn = {cid: _drawn(page, cid) for cid in
             ("chart-series", "chart-funnel", "chart-municipalities", "chart-clusters")}
    for cid, chart in drawn.items():
        assert chart is not None, f"{cid} was not drawn"
        assert chart["width"] > 100 and chart["height"] > 100, (cid, chart)

    # Each chart shows the numbers of the table beside it.
    series = _table(page, "series")
    assert drawn["chart-series"]["labels"] == [head for head, _cells in series]
    assert drawn["chart-series"]["data"] == [[cells[1] for _h, cells in series],
                                             [cells[2] for _h, cells in series]]
    assert [c[1] for _h, c in series if c[1] is not None][-1] == COUNTED
    assert series[-1][1][2] == 1000  # the target line ends at the target

    funnel = _table(page, "funnel")
    steps = ["Geïdentificeerd", "Benaderd", "Geïnteresseerd", "Neemt deel", "Afgerond"]
    assert [head for head, _cells in funnel] == [*steps, "Afgehaakt"]
    assert drawn["chart-funnel"]["labels"] == steps
    assert drawn["chart-funnel"]["data"] == [[cells[1] for _h, cells in funnel[:5]]]
    now = _statuses_now(live_server, scale_world["programme"])
    keys = ["identified", "approached", "interested", "participating", "completed", "declined"]
    assert [cells[0] for _h, cells in funnel] == [now.get(k, 0) for k in keys]
    assert [cells[1] for _h, cells in funnel[:5]] == [
        sum(now.get(k, 0) for k in keys[i:5]) for i in range(5)]

    municipalities = _table(page, "municipalities")
    assert drawn["chart-municipalities"]["labels"] == [head for head, _c in municipalities]
    assert drawn["chart-municipalities"]["data"] == [[c[0] for _h, c in municipalities]]
    assert {head: c[0] for head, c in municipalities if c[0]} == {
        "Alblasserdam": 1, "Dordrecht": 1, "Papendrecht": 1, "Sliedrecht": 1, "Zwijndrecht": 1}
    assert len(municipalities) == 7

    clusters = _table(page, "clusters")
    assert drawn["chart-clusters"]["labels"] == [head for head, _c in clusters]
    assert drawn["chart-clusters"]["data"] == [[c[0] for _h, c in clusters]]
    assert clusters[:2] == [("Energietransitie", [2]), ("Maritieme maakindustrie", [1])]
    assert clusters[-1] == ("Geen cluster", [2])
    assert sum(c[0] for _h, c in clusters) == COUNTED

    # The JSON the page carries is what was drawn (and what a screen reader's table says).
    spec = json.loads(page.locator("script#chart-clusters").text_content())
    assert spec["datasets"][0]["data"] == drawn["chart-clusters"]["data"][0]

    assert problems == []
    _check(page, "programme-progress")


def test_progress_dashboard_fits_a_phone(chromium, live_server, signed_in_state, scale_world):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844},
                                   storage_state=signed_in_state, locale="nl-NL")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/programmes/scale/progress")
        page.wait_for_load_state("networkidle")
        expect(page.locator("canvas[data-chart]")).to_have_count(4)
        assert _drawn(page, "chart-series") is not None
        widths = page.evaluate("""() => ({scroll: document.documentElement.scrollWidth,
                                          client: document.documentElement.clientWidth,
                                          body: document.body.scrollWidth})""")
        assert widths["scroll"] <= widths["client"] == 390, widths
        assert widths["body"] <= 390, widths
        screenshot(page, "programme-progress-390")
    finally:
        context.close()


@pytest.fixture
def bd_page(chromium, live_server, scale_world):
    context = chromium.new_context(base_url=live_server.url, locale="nl-NL",
                                   viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    sign_in(tab, BD_EMAIL)
    yield tab
    context.close()


def test_business_developer_moves_a_participation_on(bd_page, scale_world):
    page = bd_page
    resp = page.goto("/programmes/scale")
    assert resp.status == 200
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MOVED, exact=True))
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(2)).to_have_text("Geïdentificeerd")
    _check(page, "programme-pipeline")

    step = row.get_by_label(f"Nieuwe status voor {MOVED}")
    expect(step).to_have_value("approached")  # the next step is offered first
    step.select_option("approached")
    row.get_by_role("button", name=f"Wijzigen status van {MOVED}").click()
    page.wait_for_load_state("load")

    expect(page).to_have_url(re.compile(r"/programmes/scale(\?page=1)?$"))  # back on the list
    expect(page.get_by_text(f"{MOVED}: Geïdentificeerd → Benaderd.")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MOVED, exact=True))
    expect(row.get_by_role("cell").nth(2)).to_have_text("Benaderd")
    expect(row.get_by_label(f"Nieuwe status voor {MOVED}")).to_have_value("interested")

    row.get_by_role("link", name=MOVED, exact=True).click()
    expect(page).to_have_url(re.compile(
        rf"/programmes/scale/participations/{scale_world['moved']}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(MOVED)
    expect(page.locator("dl.app-dl dd").nth(3)).to_contain_text("Benaderd, sinds")
    history = page.locator("section[aria-labelledby=geschiedenis] li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Bea Beheer · toegevoegd als Geïdentificeerd")
    expect(history.nth(1)).to_contain_text(f"{BD_NAME} · Geïdentificeerd → Benaderd")
    # The next steps from here start at "interested".
    expect(page.get_by_role("group", name="Status wijzigen naar").get_by_role("button").first
           ).to_have_text("Naar: Geïnteresseerd")
    _check(page, "programme-participation-moved")
