"""WCAG 1.4.10 Reflow (issue 14, point 3): every page works at 320 CSS px without sideways
scrolling of the page, and on a narrow screen the main menu collapses behind a "Menu" button.

``test_every_page_reflows_at_320px`` signs in as each role and crawls the app from ``/``:
same-origin GET links only (no logout, downloads, exports or API), numeric ids folded so each
page *type* is visited twice at most (programme codes fold too), one ``?``-variant per path, at
most ``PAGE_CAP`` pages per role. It asserts ``document.documentElement.scrollWidth <= 320`` on
every page reached and reports every failing page (with its width and the elements that stick
out) at once; a 5xx on the way fails it too. The crawl reuses one browser context per role and
waits only for ``domcontentloaded`` plus the web fonts: 40–150 pages per role, all five roles in
about 70 s on an idle machine (2–3 minutes when the CPUs are shared).

``reflow_world`` adds what the wide pages need (KvK range 73xxxxxx): an organisation with a long
name, e-mail address, website and street, contact persons, contact moments, open tasks for the
seeded admin, regional, local and business-developer users, leads, participations in the
programmes other than SCALE (statuses that do not count) and a value chain with roles but no sole
sources (other tests count SCALE's participants and the critical companies). The crawl runs over
whatever the other browser tests seeded as well.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from urllib.parse import urldefrag, urlsplit

import pytest
from browser_support import ARTIFACTS, axe_violations, screenshot
from playwright.sync_api import expect

WIDTH, HEIGHT = 320, 800
PAGE_CAP = 150
PER_TYPE = 2
ROLES = ("admin", "regional", "local", "bd", "viewer")
# Never follow: signing out, files (exports, downloads, JSON), the API and static files.
SKIP = re.compile(r"/(logout|static|api)(/|$)|export|download|\.(csv|xlsx|json|pdf|zip|svg|png|ico)$",
                  re.IGNORECASE)
# Pages reached through a form rather than a link (a 404 there, e.g. before a feature exists,
# is skipped).
EXTRA_STARTS = ("/search?q=Reflow", "/organisations/?q=Reflow")
LONG_NAME = "Internationale Scheepsbouw- en Offshore-installatietechniek Drechtsteden B.V."
LONG_EMAIL = "aanvragen.samenwerkingsverbanden@scheepsbouwenoffshoreinstallatietechniek.nl"
LONG_SITE = ("https://www.internationale-scheepsbouw-en-offshore-installatietechniek-"
             "drechtsteden.nl/over-ons/contactgegevens")

WIDE_ELEMENTS = """(limit) => {
    // The elements that stick out of a parent that fits, unless a scrolling ancestor clips them.
    const fits = (el) => el.getBoundingClientRect().right <= limit + 0.5;
    const clipped = (el) => {
        if (getComputedStyle(el).position === 'absolute') return false;
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible' && fits(a)) return true;
        }
        return false;
    };
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && !fits(el) && el.parentElement && fits(el.parentElement) && !clipped(el)) {
            const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).slice(0, 2).join('.');
            out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (cls ? '.' + cls : '')
                     + ' →' + Math.round(r.right));
        }
    }
    return out.slice(0, 5);
}"""


@pytest.fixture(scope="module")
def reflow_world(live_server):
    """Seed the variety the wide pages need, once per server (idempotent)."""
    import datetime as dt

    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.contacts.services import create_contact
    from sdd_crm.extensions import db
    from sdd_crm.interactions.services import create_interaction, create_task
    from sdd_crm.leads.services import share_lead
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import (
        create_organisation,
        set_account_team_member,
    )
    from sdd_crm.programmes.models import Programme
    from sdd_crm.programmes.services import add_participation
    from sdd_crm.valuechains.models import (
        ChainRole,
        Cluster,
        SupplyLink,
        ValueChain,
        ValueChainStage,
    )

    with live_server.app.app_context():
        found = db.session.scalar(sa.select(Organisation).where(Organisation.kvk_number == "73000001"))
        if found is None:
            users = {k: db.session.get(User, uid) for k, (uid, _email) in live_server.users.items()}
            admin = users["admin"]
            today = dt.date.today()
            orgs = []
            for i, (name, city) in enumerate([
                    (LONG_NAME, "Dordrecht"),
                    ("Reflow Baggerwerken Zwijndrecht B.V.", "Zwijndrecht"),
                    ("Reflow Staalconstructies Dordrecht B.V.", "Dordrecht"),
                    ("Reflow Jachtbouw Papendrecht B.V.", "Papendrecht"),
                    ("Reflow Hydrauliek Sliedrecht B.V.", "Sliedrecht")]):
                orgs.append(create_organisation({
                    "name": name, "org_type": "company", "kvk_number": f"{73000001 + i:08d}",
                    "city": city, "postcode": "3316 GH", "employees": 40 + i * 30,
                    "street": ("Laan der Verenigde Naties en Internationale Samenwerking "
                               f"{100 + i}-bis" if i == 0 else f"Merwedestraat {i}"),
                    "website": LONG_SITE if i == 0 else f"https://reflow{i}.example.nl",
                    "email": LONG_EMAIL if i == 0 else f"info@reflow{i}.example.nl",
                    "phone": "+31 (0)78 123 45 67",
                    "description": ("Ontwerp-, bouw- en onderhoudswerkzaamheden voor "
                                    "offshorewindparken " * 6).strip(),
                }, actor=admin))
            big = orgs[0]
            set_account_team_member(big, users["regional"], "strategic", actor=admin)
            set_account_team_member(big, users["local"], "local", actor=users["regional"])
            set_account_team_member(orgs[2], users["local"], "local", actor=admin)
            for org in orgs[:3]:
                create_contact({"organisation_id": org.id, "first_name": "Maximiliaan",
                                "last_name": "van Oudshoorn-Wassenaar de Groot",
                                "function": "Hoofd bedrijfsvoering en internationale samenwerking",
                                "email": "maximiliaan.vanoudshoorn-wassenaardegroot@"
                                         "scheepsbouwenoffshoreinstallatietechniek.nl",
                                "phone": "078 123 45 67", "lawful_basis": "public_task"},
                               actor=admin)
            for who, org, kind in [("regional", big, "visit"), ("local", big, "call"),
                                   ("local", orgs[2], "meeting"), ("bd", orgs[1], "email"),
                                   ("admin", orgs[3], "event")]:
                create_interaction({
                    "organisation_id": org.id, "type": kind,
                    "date": (today - dt.timedelta(days=3)).isoformat(),
                    "subject": "Gesprek over uitbreiding van de productiehal en "
                               "samenwerkingsmogelijkheden",
                    "notes": "Zie https://www.voorbeeld.nl/een/heel/lange/verwijzing/naar/"
                             "verslagvanhetgesprekmetdedirectieoverdeuitbreiding.pdf",
                    "topics": [], "contact_ids": [], "user_ids": [users[who].id],
                    "follow_ups": [{"title": "Offerte nasturen voor uitbreiding productiehal "
                                             "Wielwijk", "due_date": (today + dt.timedelta(days=7))
                                    .isoformat()}],
                }, actor=users[who])
            for who in ("admin", "regional", "local", "bd"):
                create_task({"title": "Terugbellen over de subsidieaanvraag "
                                      "energietransitiemaatregelen",
                             "due_date": (today - dt.timedelta(days=1)).isoformat(),
                             "organisation_id": big.id, "assignee_id": users[who].id,
                             "description": ""}, actor=users[who])
            share_lead({"organisation_id": big.id, "type": "expansion",
                        "title": "Uitbreiding naar een tweede vestiging aan de Merwedehaven",
                        "description": LONG_SITE, "shared_with": "municipality",
                        "shared_with_municipality": "GM0505"}, actor=users["regional"])
            share_lead({"organisation_id": orgs[2].id, "type": "workforce",
                        "title": "Tekort aan lassers en monteurs", "description": "",
                        "shared_with": "regional_team"}, actor=users["local"])
            share_lead({"organisation_id": orgs[1].id, "type": "innovation",
                        "title": "Waterstofproef", "description": "",
                        "shared_with": "user", "shared_with_user_id": users["bd"].id},
                       actor=users["regional"])
            # Not in SCALE, and no status that counts: test_programmes_browser counts those.
            for programme in db.session.scalars(sa.select(Programme)
                                                .where(Programme.code != "scale")).all():
                for org, status in zip(orgs, ["interested", "approached", "identified",
                                              "declined", "interested"]):
                    add_participation(programme, org.id, actor=admin, status=status,
                                      owner_id=users["bd"].id)
            cluster = Cluster(name="Offshore en windenergie (reflow)")
            db.session.add(cluster)
            db.session.flush()
            chain = ValueChain(name="Offshore-windparkinstallatie en -onderhoud (reflow)",
                               cluster_id=cluster.id)
            chain.stages = [ValueChainStage(position=i + 1, name=n) for i, n in enumerate(
                ["Ontwerp en engineering", "Fabricage van funderingen", "Installatie op zee",
                 "Onderhoud en service"])]
            db.session.add(chain)
            db.session.flush()
            stages = [s.id for s in chain.stages]
            for org, stage, role in zip(orgs, [0, 1, 1, 2, 3],
                                        ["knowledge_partner", "tier1", "tier2", "oem", "customer"]):
                db.session.add(ChainRole(organisation_id=org.id, value_chain_id=chain.id,
                                         stage_id=stages[stage], role=role))
            # No sole sources: other tests count the critical companies.
            for s, c in [(2, 1), (1, 3), (0, 3), (3, 4)]:
                db.session.add(SupplyLink(supplier_id=orgs[s].id, customer_id=orgs[c].id,
                                          value_chain_id=chain.id, sole_source=False,
                                          supplied="monopiles en transitiestukken"))
            db.session.commit()
            found = big
        org_id = found.id
        db.session.remove()
    return {"org": org_id}

# Links of HTML and SVG alike (an SVG <a>'s .href is not a string).
LINKS = """Array.from(document.querySelectorAll('a[href]'), a => {
    try { return new URL(a.getAttribute('href'), document.baseURI).href; } catch (e) { return ''; }
})"""


def _pattern(url: str) -> tuple[str, bool]:
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$|\.)", "/{id}", parts.path)
    # Programmes are addressed by their code: fold those like ids.
    path = re.sub(r"^(/(?:admin/)?programmes)/(?!participations(?:/|$)|new$)[^/]+", r"\1/{code}", path)
    return path, bool(parts.query)


def crawl(context, base: str, *, cap: int = PAGE_CAP):
    """Visit the app from ``/`` as the context's user; yield (url, status, width, culprits)."""
    tab = context.new_page()
    seen_urls: set[str] = set()
    per_type: Counter = Counter()
    extra = [base + path for path in EXTRA_STARTS]
    queue = deque([base + "/", *extra])
    visited = 0
    while queue and visited < cap:
        url = queue.popleft()
        if url in seen_urls:
            continue
        seen_urls.add(url)
        path, has_query = _pattern(url)
        limit = 1 if has_query else PER_TYPE
        if per_type[(path, has_query)] >= limit:
            continue
        per_type[(path, has_query)] += 1
        try:
            response = tab.goto(url, wait_until="domcontentloaded")
        except Exception as exc:  # a download that slipped through the filter
            if "Download is starting" in str(exc):
                continue
            raise
        visited += 1
        status = response.status if response else 0
        if status == 404 and url in extra:
            continue
        if "text/html" not in ((response.headers.get("content-type") or "") if response else ""):
            continue
        tab.evaluate("document.fonts.ready.then(() => true)")
        width = tab.evaluate("document.documentElement.scrollWidth")
        culprits = tab.evaluate(WIDE_ELEMENTS, WIDTH) if width > WIDTH else []
        yield tab.url, status, width, culprits
        for href in tab.evaluate(LINKS):
            href = urldefrag(href)[0]
            if not href.startswith(base + "/") or SKIP.search(urlsplit(href).path):
                continue
            if href not in seen_urls:
                queue.append(href)
    tab.close()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_reflows_at_320px(role, role_context, live_server, reflow_world):
    started = time.monotonic()
    context = role_context(role, WIDTH, HEIGHT)
    too_wide, broken, pages = [], [], []
    for url, status, width, culprits in crawl(context, live_server.url):
        pages.append(url)
        if status >= 500:
            broken.append(f"{url} → HTTP {status}")
        if width > WIDTH:
            too_wide.append(f"{url}: {width}px ({', '.join(culprits)})")
    took = time.monotonic() - started
    print(f"\n{role}: {len(pages)} pages at {WIDTH}px in {took:.1f}s")
    assert len(pages) >= 10, pages  # the crawl really went somewhere
    assert not broken, "\n".join(broken)
    assert not too_wide, (f"{len(too_wide)} of {len(pages)} pages scroll sideways at {WIDTH}px "
                          f"as {role}:\n" + "\n".join(too_wide))


MENU_LINKS = "#app-menu a"


def _wait_until(tab, predicate: str, timeout: float = 5.0) -> None:
    """Poll ``predicate`` (page.wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not tab.evaluate(predicate):
        assert time.monotonic() < deadline, f"still false after {timeout}s: {predicate}"
        tab.wait_for_timeout(50)


def _viewport_shot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _header_height(tab) -> float:
    return tab.evaluate("document.querySelector('header').getBoundingClientRect().height")


@pytest.mark.parametrize("role", ["regional", "admin"])
def test_the_menu_collapses_behind_a_button_at_320px(role, role_page, reflow_world):
    tab = role_page(role, WIDTH, HEIGHT)
    tab.goto("/organisations/")
    button = tab.get_by_role("button", name="Menu")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "app-menu")
    expect(tab.locator("#app-menu")).to_be_hidden()
    expect(tab.get_by_role("button", name="Uitloggen")).to_be_hidden()
    # The global search and the notifications stay in view; the header is a quarter of the
    # screen at most (it took 393–436 px of 800 before).
    expect(tab.locator("header [role=search]")).to_be_visible()
    expect(tab.locator("header .app-notifications-link")).to_be_visible()
    height = _header_height(tab)
    _viewport_shot(tab, f"reflow-320-menu-closed-{role}")
    assert height <= HEIGHT * 0.25, f"the header is {height}px of {HEIGHT}px"
    assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH

    # Open it with the keyboard: the links follow the button in the tab order.
    button.focus()
    tab.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(tab.locator("#app-menu")).to_be_visible()
    expect(tab.get_by_role("button", name="Uitloggen")).to_be_visible()
    _viewport_shot(tab, f"reflow-320-menu-open-{role}")
    assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH
    links = tab.locator(MENU_LINKS)
    first_link = links.first.text_content().strip()
    for _ in range(12):  # past the search, language, notifications and logout to the menu
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.closest('#app-menu') !== null"):
            break
    assert tab.evaluate("document.activeElement.textContent.trim()") == first_link
    expect(links.first).to_be_in_viewport()
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.closest('#app-menu') !== null")

    # Escape closes it and puts focus back on the button.
    tab.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(tab.locator("#app-menu")).to_be_hidden()
    assert tab.evaluate("document.activeElement.classList.contains('app-menu-button')")

    # A menu link works: open the menu with a click and follow "Mijn taken".
    button.click()
    tab.locator("#app-menu").get_by_role("link", name="Mijn taken").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Mijn taken")
    expect(tab.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")


def test_without_javascript_the_menu_is_simply_shown(role_context):
    tab = role_context("regional", WIDTH, HEIGHT, java_script_enabled=False).new_page()
    tab.goto("/")
    expect(tab.locator(".app-menu-button")).to_be_hidden()
    expect(tab.locator("#app-menu")).to_be_visible()
    expect(tab.locator("#app-menu").get_by_role("link", name="Organisaties")).to_be_visible()
    expect(tab.get_by_role("button", name="Uitloggen")).to_be_visible()
    assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_on_a_wide_screen_the_menu_is_a_bar_as_before(role_page):
    tab = role_page("regional", 1280, 900)
    tab.goto("/")
    expect(tab.locator(".app-menu-button")).to_be_hidden()
    nav = tab.locator("#app-menu")
    expect(nav.get_by_role("link", name="Organisaties")).to_be_visible()
    expect(tab.get_by_role("button", name="Uitloggen")).to_be_visible()
    # Links side by side in a bar (wrapping to a second row when there are many), as before.
    screenshot(tab, "reflow-1280-header")
    tops = nav.locator("a").evaluate_all("links => links.map(a => a.getBoundingClientRect().top)")
    assert tops[0] == tops[1] == tops[2], tops
    assert len({round(t) for t in tops}) <= 2, tops
    assert _header_height(tab) <= 180


def test_wide_tables_scroll_in_a_labelled_focusable_region(role_page, reflow_world):
    tab = role_page("regional", WIDTH, HEIGHT)
    tab.goto("/chains/links/")
    wrap = tab.locator(".app-table-wrap").first
    expect(wrap).to_have_attribute("role", "region")
    expect(wrap).to_have_attribute("tabindex", "0")
    assert wrap.get_attribute("aria-label"), "the scrolling region has a name"
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")
    wrap.focus()
    for _ in range(5):
        tab.keyboard.press("ArrowRight")
    expect(wrap).to_be_focused()
    _wait_until(tab, "() => document.querySelector('.app-table-wrap').scrollLeft > 0")
    assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH
    # On a wide screen the same table fits and is no extra tab stop.
    wrap.evaluate("w => w.blur()")
    tab.set_viewport_size({"width": 1280, "height": 900})
    _wait_until(tab, "() => !document.querySelector('.app-table-wrap').hasAttribute('tabindex')")


def test_my_tasks_become_cards_with_their_button_in_view(role_page, reflow_world):
    tab = role_page("regional", WIDTH, HEIGHT)
    tab.goto("/tasks/")
    button = tab.locator("main").get_by_role("button", name=re.compile("^Afronden")).first
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
    expect(tab.locator("main td[data-label]").first).to_be_visible()
    screenshot(tab, "reflow-320-tasks")


def test_the_organisation_page_shows_address_phone_and_email_on_screen(role_page, reflow_world):
    tab = role_page("regional", WIDTH, HEIGHT)
    tab.goto(f"/organisations/{reflow_world['org']}")
    main = tab.locator("main")
    for item in [main.locator(f'a[href="mailto:{LONG_EMAIL}"]').first,
                 main.locator('a[href^="tel:"]').first,
                 main.locator(f'a[href="{LONG_SITE}"]').first,
                 main.get_by_text("Laan der Verenigde Naties").first]:
        item.scroll_into_view_if_needed()
        box = item.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5, (item, box)
    assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH


@pytest.mark.parametrize("path", ["/", "/chains/links/", "/tasks/", "/programmes/scale"])
def test_narrow_pages_have_no_axe_violations_with_the_menu_closed_or_open(path, role_page,
                                                                           reflow_world):
    tab = role_page("regional", WIDTH, HEIGHT)
    tab.goto(path)
    tab.wait_for_load_state("load")
    assert axe_violations(tab) == []
    tab.get_by_role("button", name="Menu").click()
    expect(tab.locator("#app-menu")).to_be_visible()
    assert axe_violations(tab) == []


def test_signed_out_pages_reflow_at_320px(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT})
    try:
        tab = context.new_page()
        for path in ("/login", "/privacy"):
            tab.goto(path)
            assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
        expect(tab.locator(".app-menu-button")).to_have_count(0)
    finally:
        context.close()


def test_the_english_header_fits_too(role_page):
    tab = role_page("english", WIDTH, HEIGHT)
    tab.goto("/")
    expect(tab.get_by_role("button", name="Menu")).to_be_visible()
    assert _header_height(tab) <= HEIGHT * 0.25
    assert tab.evaluate("document.documentElement.scrollWidth") <= WIDTH
