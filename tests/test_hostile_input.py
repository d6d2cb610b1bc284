"""The hostile-input battery (issue 11, point 8): hostile and Hypothesis-generated values into
every field of every HTML form and every parameter of the API — at least 1,000 inputs in all —
with 0 server errors, 0 payloads executed and 0 records changed outside the target.

* Forms are found, not listed: every GET page of the URL map (tests/security_support.py) is
  fetched as an admin on the demo region and its ``<form>`` elements are read as a browser
  would (defaults, selected options, checked boxes, the default submit button). Each form is
  posted with one field hostile (a few payloads per field, rotating through the list), with every
  field hostile at once (the whole list), and with values drawn by Hypothesis; filter forms
  (method GET) the same way through their query strings.
* The API is read from ``/api/v1/openapi.json``: every query and path parameter, and every
  property of every JSON request body (POST/PATCH, with the record's current ``version``).
* After every request: no status >= 500 (413 for a body over the limit is fine); no executed
  markup in an HTML answer (no ``<script>`` without ``src``, no ``on…=`` attribute, no ``<img
  src=x>``), no evaluated template (``{{1337*1337}}`` never shows ``1787569``, ``{{7*'7'}}``
  never ``7777777``, ``{{7*7}}`` never ``49`` where the page did not already say 49, no secret key);
  after a successful save the page redirected to is checked the same way.
* Each batch of writes (one form, one API operation) runs inside a savepoint that is rolled back
  afterwards, and is compared row by row before and after: a changed, added or removed row must
  be the target (the record in the URL, a record the form creates) or one hop from it (its
  children through a foreign key, the records it points to); anything else fails the test.
  Searches and GET parameters change nothing at all.

Export formulas are neutralised: ``tests/test_exports.py::
test_hostile_names_are_neutralised_in_both_formats`` and, through the HTML form here,
``test_formulas_saved_through_the_form_are_neutralised_in_exports``.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_support import BOOKKEEPING, get_urls, seed_world

from sdd_crm.extensions import db

TEN_MB = "A" * (10 * 1024 * 1024)

PAYLOADS: list[str | bytes] = [
    # control characters, unicode edge cases
    "nul\x00byte", "\x00", "regel\r\nNieuwe-Regel: x", "\x1b[31mrood\x1b[0m", "\x07\x08\x0b\x0c\x7f",
    "tab\tin\ttekst", "\u202eevil\u202c gnp.exe", "\u200b\u200d\ufeff", "e\u0301\u0301\u0301\u0301",
    "Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357\u0358" * 20, "😀👩‍👩‍👧‍👦🏳️‍🌈", "\U0001F4A9" * 100,
    "\u2028\u2029", "ǅŉ ß ﬃ İı", "\ufffd\uffff", "مرحبا עברית",
    b"\xed\xa0\x80",  # a lone surrogate as (invalid) UTF-8 bytes
    b"\xff\xfe\xc3\x28",  # invalid UTF-8
    "   ", "", "a" * 10_000,
    # SQL
    "' OR 1=1 --", "'; DROP TABLE organisation; --", "1; DROP TABLE organisation;",
    "\" OR \"\"=\"", "1' AND SLEEP(5)--", "%' UNION SELECT password_hash FROM user --",
    # HTML / JavaScript
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'><svg onload=alert(1)>",
    "javascript:alert(1)", "</textarea><script>alert(1)</script>", "</script><script>alert(1)</script>",
    # template
    "{{7*7}}", "{{1337*1337}}", "{{7*'7'}}", "{% raw %}", "{{ config }}", "${1337*1337}",
    "{{ self.__init__.__globals__ }}", "#{1337*1337}",
    # formula
    '=HYPERLINK("http://evil.example","klik")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
    "=1+1", "\t=1+1",
    # path traversal, numbers, ids
    "../../../../etc/passwd", "..\\..\\windows\\win.ini", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "9" * 400, "-1", "0", "-99999999999999999999", "1e308", "NaN", "Infinity", "0x7fffffff",
    "2147483648", "1.5", "[1,2]", '{"a": 1}', "true", "null",
]
CORE = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{7*7}}",
        "{{1337*1337}}", "' OR 1=1 --", '=HYPERLINK("http://evil.example","klik")', "nul\x00byte",
        "9" * 400]
SINGLE_PER_FIELD = 3  # payloads per field in the one-field-at-a-time pass (rotating)
ALL_FIELDS_PER_FORM = 14  # payloads per form in the every-field-at-once pass (CORE + rotating)
HYPOTHESIS_PER_FORM = 8
API_PER_PARAMETER = 4
SECRET = "test-secret"  # tests/conftest.py SECRET_KEY

unicode_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=None, exclude_categories=("Cs",)),
    max_size=300)
hostile_text = st.one_of(unicode_text, st.sampled_from([p for p in PAYLOADS if isinstance(p, str)]),
                         st.integers(min_value=-(2**70), max_value=2**70).map(str))


# --- reading forms --------------------------------------------------------------------------------

@dataclass
class Form:
    page: str
    action: str
    method: str
    multipart: bool
    controls: list = field(default_factory=list)  # (name, kind, value, default_on)
    button: tuple | None = None

    def defaults(self) -> list[tuple[str, str]]:
        data = [(n, v) for n, kind, v, on in self.controls if on]
        if self.button:
            data.append(self.button)
        return data

    def fuzzable(self) -> list[str]:
        names = []
        for n, kind, _v, _on in self.controls:
            if n != "csrf_token" and kind != "file" and n not in names:
                names.append(n)
        return names


class _FormParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page, self.forms, self.form = page, [], None
        self._select = self._textarea = None
        self._select_first = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = Form(self.page, a.get("action") or self.page,
                             (a.get("method") or "get").lower(),
                             "multipart" in (a.get("enctype") or ""))
            self.forms.append(self.form)
            return
        f = self.form
        if f is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        name, kind = a["name"], (a.get("type") or "text").lower()
        if tag == "input":
            if kind in ("submit", "image", "reset", "button"):
                if f.button is None and kind == "submit":
                    f.button = (name, a.get("value") or "")
                return
            on = kind not in ("checkbox", "radio") or "checked" in a
            f.controls.append([name, kind, a.get("value") or ("y" if kind == "checkbox" else ""), on])
        elif tag == "button":
            if f.button is None and kind == "submit":
                f.button = (name, a.get("value") or "")
        elif tag == "select":
            self._select = [name, "select", None, True]
            self._select_first = None
            f.controls.append(self._select)
        elif tag == "textarea":
            self._textarea = [name, "textarea", "", True]
            f.controls.append(self._textarea)
        elif tag == "option" and self._select is not None:
            self._option(a)

    def _option(self, a):
        value = a.get("value", "")
        if self._select[2] is None or "selected" in a:
            self._select[2] = value

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select" and self._select is not None:
            if self._select[2] is None:
                self._select[2] = ""
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._textarea[2] = self._textarea[2].removeprefix("\r\n").removeprefix("\n")
            self._textarea = None


def read_forms(page: str, body: str) -> list[Form]:
    parser = _FormParser(page)
    parser.feed(body.split("<main", 1)[1] if "<main" in body else body)
    return parser.forms


def _template(action: str) -> str:
    """An action with its ids and codes replaced, so that one form of each kind is tested."""
    path = urlsplit(action).path
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


# Forms left out, each with why. Everything else found on the pages is tested.
SKIP_FORMS = {
    "/logout": "ends the session the battery runs in (its CSRF and method are tested elsewhere)",
    "/imports/": "uploads: tests/test_upload_safety.py sends hostile files",
}


# --- checks on every answer ---------------------------------------------------------------------

class _Executable(HTMLParser):
    """Markup that would run: a <script> without src (JSON data blocks aside), an on…= handler,
    <img src=x>, a javascript: URL in href/src/action."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src") and a.get("type") != "application/json":
            self.found.append("inline <script>")
        for k, v in attrs:
            if k.startswith("on"):
                self.found.append(f"<{tag} {k}=...>")
            if k in ("href", "src", "action", "formaction") and (v or "").strip().lower() \
                    .startswith("javascript:"):
                self.found.append(f"<{tag} {k}=javascript:...>")
        if tag == "img" and a.get("src") == "x":
            self.found.append("<img src=x>")


@dataclass
class Tally:
    requests: int = 0
    inputs: int = 0
    statuses: dict = field(default_factory=dict)
    saved: int = 0
    problems: list = field(default_factory=list)

    def count(self, resp, inputs: int):
        self.requests += 1
        self.inputs += inputs
        self.statuses[resp.status_code] = self.statuses.get(resp.status_code, 0) + 1


def check_answer(resp, where: str, payloads, tally: Tally, baseline_49: bool = True) -> None:
    if resp.status_code >= 500:
        tally.problems.append(f"{where}: HTTP {resp.status_code}")
        return
    body = resp.get_data(as_text=True) if not resp.is_streamed else ""
    if SECRET in body:
        tally.problems.append(f"{where}: the secret key is shown")
    if resp.mimetype != "text/html":
        return
    parser = _Executable()
    parser.feed(body)
    if parser.found:
        tally.problems.append(f"{where}: executable markup {parser.found[:3]}")
    if "1787569" in body or "7777777" in body:
        tally.problems.append(f"{where}: a template expression was evaluated")
    if "{{7*7}}" in payloads and not baseline_49 and re.search(r'value="49"|>\s*49\s*<', body):
        tally.problems.append(f"{where}: {{{{7*7}}}} rendered as 49")


def _encode(pairs) -> bytes:
    return urlencode([(k, v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogatepass"))
                      for k, v in pairs]).encode("ascii")


def _describe(value) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return repr(text[:40]) + ("…" if len(text) > 40 else "")


# --- what changed, and whether it is the target ---------------------------------------------------

TABLE_OF = {"organisations": "organisation", "contacts": "contact", "interactions": "interaction",
            "tasks": "task", "leads": "lead", "chains": "value_chain", "value-chains": "value_chain",
            "clusters": "cluster", "links": "supply_link", "supply-links": "supply_link",
            "roles": "chain_role", "stages": "value_chain_stage", "participations": "participation",
            "programmes": "programme", "users": "user", "comments": "lead_comment",
            "criticality": "organisation", "duplicates": "organisation",
            "team": "account_team_member", "notifications": "notification",
            "review": "import_review", "deleted": None, "admin": None, "api": None, "v1": None}
# Forms whose documented effect reaches beyond one record: the tables they may also change.
BROAD = [
    (r"/stages/\d+/(move|delete)$|/stages$", {"value_chain_stage", "chain_role"}),  # positions
    (r"/contacts/\d+/erase$", {"interaction", "task", "lead", "lead_comment", "import_review",
                                "participation"}),  # erasure reaches every mention
    (r"^/language/", {"user"}), (r"^/account", {"user", "recovery_code", "api_token"}),
    (r"^/tasks/calendar$", {"user"}),
    (r"^/chains/criticality/(settings|recompute)$", {"setting", "criticality_assessment",
                                                      "organisation", "schedule_run"}),
    (r"^/programmes/[^/]+/move$", {"participation", "participation_event"}),
    (r"^/imports/", {"import_mapping", "import_review", "organisation", "contact"}),
    (r"^/admin/programmes/", {"programme", "programme_target", "programme_municipality"}),
    (r"^/api/v1/programmes/[^/]+$", {"programme_target", "programme_municipality"}),
    (r"^/api/v1/criticality/recompute$", {"criticality_assessment", "organisation",
                                          "schedule_run"}),
]


def _targets(path: str) -> tuple[set, str | None]:
    """(table, id) pairs named in the path, and the table a POST to it may add rows to (a path
    ending in a collection, or in /new or /visit)."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    pairs = set()
    for i, part in enumerate(parts):
        table = TABLE_OF.get(part)
        if table is None:
            continue
        ids = [int(p) for p in parts[i + 1:i + 3] if p.isdigit()]
        if table == "programme" and i + 1 < len(parts) and not parts[i + 1].isdigit():
            from sdd_crm.programmes.models import Programme  # named by its code

            found = db.session.scalar(sa.select(Programme.id).where(Programme.code == parts[i + 1]))
            ids = [found] if found else []
        for n in ids[: 2 if part == "duplicates" else 1]:
            pairs.add((table, n))
    created = None
    if parts and TABLE_OF.get(parts[-1]):
        created = TABLE_OF[parts[-1]]
    elif len(parts) >= 2 and parts[-1] in ("new", "visit"):
        created = TABLE_OF.get(parts[-2]) or (TABLE_OF.get(parts[-3]) if len(parts) >= 3 else None)
    return pairs, created


# Kept up by the application itself, for every record it concerns: the criticality engine's
# results (recomputed when the network changes), the date of the last contact moment and the
# kept programme counts (programmes/tally.py: every participation an organisation change
# reaches; tests/test_programme_tally.py proves they equal a fresh count).
DERIVED_TABLES = {"criticality_assessment", "api_token",  # api_token: its last-used time
                  "participation_verdict", "programme_tally",
                  "criticality_state"}  # the network's change counter: every change bumps it
DERIVED_COLUMNS = {"organisation": {"is_critical", "criticality_score", "last_contact_on"}}


def snapshot() -> dict:
    db.session.flush()
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in BOOKKEEPING or table.name in DERIVED_TABLES:
            continue
        pk = list(table.primary_key.columns)
        skip = DERIVED_COLUMNS.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skip]
        rows = db.session.execute(sa.select(*columns).order_by(*pk)).all()
        out[table.name] = {tuple(r._mapping[c.name] for c in pk): dict(r._mapping) for r in rows}
    return out


def _fks(table_name: str):
    table = db.metadata.tables[table_name]
    for column in table.columns:
        for fk in column.foreign_keys:
            yield column.name, fk.column.table.name


def outside_target(before: dict, after: dict, path: str) -> list[str]:
    """Rows changed that are neither the target (the record in the path, a record the request
    created), nor its children through a foreign key (and theirs), nor a record the target or its
    children point to. A sibling — another child of the target's parent — is outside."""
    pairs, created = _targets(path)
    extra = set().union(*[tables for pattern, tables in BROAD if re.search(pattern, path)])
    changed = []  # (table, pk, old, new)
    for name, a in after.items():
        b = before.get(name, {})
        for key in a.keys() | b.keys():
            if a.get(key) != b.get(key):
                changed.append((name, key, b.get(key), a.get(key)))
    core = {(t, (i,)) for t, i in pairs}
    core |= {(t, k) for t, k, old, new in changed if old is None and t == created}
    core |= {(t, k) for t, k, _o, _n in changed if t in extra}
    grew = True
    while grew:  # children, grandchildren, ...
        grew = False
        for t, k, old, new in changed:
            if (t, k) not in core and any(
                    (parent, (r[col],)) in core
                    for r in (old, new) if r for col, parent in _fks(t) if r.get(col) is not None):
                core.add((t, k))
                grew = True
    parents = set()
    for t, k, old, new in changed:
        if (t, k) in core:
            for r in (old, new):
                for col, parent in _fks(t) if r else ():
                    if r.get(col) is not None:
                        parents.add((parent, (r[col],)))
    allowed = core | parents
    return [f"{t} {k}: {'added' if old is None else 'removed' if new is None else 'changed'}"
            for t, k, old, new in changed if (t, k) not in allowed]


class Savepoint:
    """A batch of requests whose writes are rolled back afterwards (the test's own transaction
    stays open); what changed is compared before the rollback."""

    def __enter__(self):
        db.session.commit()  # end the session's savepoint: ours must be the outer one
        self.nested = db.session.get_bind().begin_nested()
        self.before = snapshot()
        db.session.commit()
        return self

    def changes(self, path) -> list[str]:
        after = snapshot()
        db.session.commit()
        return outside_target(self.before, after, path)

    def __exit__(self, *exc):
        db.session.rollback()
        if self.nested.is_active:
            self.nested.rollback()
        db.session.expire_all()
        return False


# --- the battery: HTML forms ----------------------------------------------------------------------

def discover_forms(app, client, world) -> tuple[dict, list]:
    pages = [url for _e, url in get_urls(app, world, include_api=False)]
    v = world.values
    pages += [f"/contacts/new?organisation_id={v['org_id']}", f"/leads/new?organisation_id={v['org_id']}",
              f"/interactions/new?organisation_id={v['org_id']}", f"/tasks/new?organisation_id={v['org_id']}"]
    forms: dict[tuple, Form] = {}
    for url in pages:
        resp = client.get(url)
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        for form in read_forms(url, resp.get_data(as_text=True)):
            key = (form.method, _template(form.action))
            if key[1] in SKIP_FORMS or key in forms:
                continue
            if form.method == "post" and not form.fuzzable():
                continue  # a button alone: nothing to type into (CSRF is tested elsewhere)
            forms[key] = form
    return forms, pages


def _plan(form: Form, offset: int) -> list[tuple[str, list[tuple[str, object]]]]:
    """(description, [(field, value)]) for one form: one field at a time, then all at once."""
    fields = form.fuzzable()
    plan = []
    for i, name in enumerate(fields):
        for j in range(SINGLE_PER_FIELD):
            value = PAYLOADS[(offset + i * SINGLE_PER_FIELD + j) % len(PAYLOADS)]
            plan.append((name, [(name, value)]))
    rotating = [p for p in PAYLOADS if p not in CORE]
    for j, value in enumerate(CORE + [rotating[(offset + k) % len(rotating)]
                                      for k in range(ALL_FIELDS_PER_FORM - len(CORE))]):
        plan.append(("*", [(name, value) for name in fields]))
    return plan


def _submit(client, form: Form, hostile: list[tuple[str, object]], **kwargs):
    names = {n for n, _v in hostile}
    data = [(n, v) for n, v in form.defaults() if n not in names] + hostile
    if form.method == "get":
        path = urlsplit(form.action).path
        return client.get(path + "?" + _encode(data).decode("ascii"), **kwargs)
    return client.post(form.action, data=_encode(data),
                       content_type="application/x-www-form-urlencoded", **kwargs)


def _follow(client, resp, where, payloads, tally):
    """After a save: the page the user lands on shows the value, never runs it."""
    location = resp.headers.get("Location", "")
    if resp.status_code in (302, 303) and location.startswith(("/", "http://localhost")):
        tally.saved += 1
        landing = client.get(location)
        check_answer(landing, where + " → " + urlsplit(location).path, payloads, tally,
                     baseline_49=True)


def _safely(tally: Tally, where: str, call, *args, **kwargs):
    """``call(*args, **kwargs)``'s answer, or None when the view raised (the test client
    propagates exceptions, which a real server would turn into a 500): counted as a server error."""
    try:
        return call(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 (every exception is a finding)
        tally.problems.append(f"{where}: exception {type(e).__name__}: {str(e)[:200]}")
        db.session.rollback()
        return None


def run_form(client, form: Form, plan, tally: Tally, baseline_49: bool):
    for label, hostile in plan:
        where = f"{form.method.upper()} {form.action} [{label}={_describe(hostile[0][1])}]"
        resp = _safely(tally, where, _submit, client, form, hostile)
        if resp is None:
            continue
        payloads = {v for _n, v in hostile if isinstance(v, str)}
        tally.count(resp, len(hostile))
        check_answer(resp, where, payloads, tally, baseline_49)
        _follow(client, resp, where, payloads, tally)


def _form_fuzzer(client, form: Form, tally: Tally, baseline_49: bool):
    """A Hypothesis property: any drawn value in any one field of ``form``."""

    @settings(max_examples=HYPOTHESIS_PER_FORM, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(name=st.sampled_from(form.fuzzable()), value=hostile_text)
    def fuzz(name, value):
        where = f"POST {form.action} [hypothesis {name}={_describe(value)}]"
        resp = _safely(tally, where, _submit, client, form, [(name, value)])
        if resp is None:
            return
        tally.count(resp, 1)
        check_answer(resp, where, {value}, tally, baseline_49)
        _follow(client, resp, where, {value}, tally)

    return fuzz


def test_hostile_values_into_every_form_field(app, client, login, make_user):
    world = seed_world(client, login, make_user)
    forms, _pages = discover_forms(app, client, world)
    assert len(forms) >= 40, sorted(forms)
    tally = Tally()
    outside = []
    get_forms = [f for key, f in sorted(forms.items()) if f.method == "get"]
    post_forms = [f for key, f in sorted(forms.items()) if f.method == "post"]

    # Filters and searches: nothing may change at all.
    with Savepoint() as sp:
        for i, form in enumerate(get_forms):
            page = client.get(form.page).get_data(as_text=True)
            run_form(client, form, _plan(form, i * 7), tally, baseline_49="49" in page)
        outside += [f"GET forms: {c}" for c in sp.changes("/")]

    timings = []
    for i, form in enumerate(post_forms):
        started = time.monotonic()
        page = client.get(form.page).get_data(as_text=True)
        baseline_49 = bool(re.search(r'value="49"|>\s*49\s*<', page))
        with Savepoint() as sp:
            run_form(client, form, _plan(form, i * 5), tally, baseline_49)
            _form_fuzzer(client, form, tally, baseline_49)()
            outside += [f"POST {form.action}: {c}" for c in sp.changes(form.action)]
        timings.append((time.monotonic() - started, form.action))

    # 10 MB values, a few times: refused (413) or stored, never a server error.
    big_targets = [f for f in post_forms if any(k == "textarea" for _n, k, _v, _on in f.controls)][:3]
    for form in big_targets:
        name = next(n for n, k, _v, _on in form.controls if k == "textarea")
        with Savepoint() as sp:
            where = f"POST {form.action} [10 MB {name}]"
            resp = _safely(tally, where, _submit, client, form, [(name, TEN_MB)])
            if resp is not None:
                tally.count(resp, 1)
                check_answer(resp, where, set(), tally)
            outside += [f"POST {form.action} (10 MB): {c}" for c in sp.changes(form.action)]

    assert client.get("/").status_code == 200, "the admin was signed out during the battery"
    print(f"\nforms: {len(get_forms)} GET + {len(post_forms)} POST, requests: {tally.requests}, "
          f"inputs: {tally.inputs}, saved: {tally.saved}, statuses: {sorted(tally.statuses.items())}")
    print("slowest forms:", [(round(t, 1), a) for t, a in sorted(timings, reverse=True)[:6]])
    assert not tally.problems, "\n".join(tally.problems[:80])
    assert not outside, "\n".join(outside[:80])
    assert tally.inputs >= 1000
    assert tally.saved > 0  # some hostile values were valid and stored, and their pages checked


def test_hostile_values_into_the_sign_in_form(app, make_user):
    """The one form anyone can reach. Each try comes from another address, so that the
    throttling (tested in tests/test_security.py) does not answer for the form."""
    user = make_user("regional_account_manager")
    client = app.test_client()
    form = next(f for f in read_forms("/login", client.get("/login").get_data(as_text=True))
                if f.method == "post")
    assert {"email", "password"} <= set(form.fuzzable())
    tally = Tally()
    plan = _plan(form, 0) + [(f"email={user.email}", [("email", user.email), ("password", p)])
                             for p in PAYLOADS]
    with Savepoint() as sp:
        for n, (label, hostile) in enumerate(plan):
            where = f"POST /login [{label}={_describe(hostile[-1][1])}]"
            address = {"REMOTE_ADDR": f"10.{n // 250}.{n % 250}.1"}
            resp = _safely(tally, where, _submit, client, form, hostile, environ_base=address)
            if resp is None:
                continue
            tally.count(resp, len(hostile))
            check_answer(resp, where, {v for _n, v in hostile if isinstance(v, str)}, tally)
            assert resp.status_code != 302, f"{where}: signed in"
        # The target: the account tried (its failure count); nothing else.
        outside = sp.changes(f"/login/users/{user.id}")
    assert not tally.problems, "\n".join(tally.problems[:80])
    assert outside == []
    assert tally.requests >= 70 and set(tally.statuses) <= {200, 400, 413, 429}


# --- the battery: the API -------------------------------------------------------------------------

def _resolve(spec, schema):
    while "$ref" in (schema or {}):
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema or {}


def _sample(prop: dict, name: str, world) -> object:
    """A valid-looking value for a body property (the baseline the hostile field sits in)."""
    v = world.values
    ids = {"organisation_id": v["org_id"], "supplier_id": v["org_id"], "customer_id": v["b_id"],
           "contact_id": v["contact_id"], "interaction_id": v["interaction_id"],
           "assignee_id": world.admin.id, "owner_id": world.admin.id, "value_chain_id": v["chain_id"],
           "cluster_id": v["cluster_id"], "stage_id": v["stage_id"], "lead_id": v["lead_id"]}
    if name in ids:
        return ids[name]
    if "enum" in prop:
        return prop["enum"][0]
    kind, fmt = prop.get("type"), prop.get("format")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if fmt == "date":
        return "2026-12-01"
    if fmt == "date-time":
        return "2026-12-01T10:00:00+00:00"
    if fmt == "email":
        return "hostiel@example.nl"
    return {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}.get(
        kind, "Hostiel basis")


def _api_operations(spec, world):
    v = world.values
    path_values = {"org_id": v["org_id"], "contact_id": v["contact_id"],
                   "interaction_id": v["interaction_id"], "task_id": v["task_id"],
                   "lead_id": v["lead_id"], "cluster_id": v["cluster_id"], "chain_id": v["chain_id"],
                   "stage_id": v["stage_id"], "role_id": v["role_id"], "link_id": v["link_id"],
                   "code": v["code"], "participation_id": v["participation_id"],
                   "job_id": world.job_id, "role": "output"}
    for path, ops in sorted(spec["paths"].items()):
        for method, op in ops.items():
            if method not in ("get", "post", "patch", "delete") or path == "/openapi.json":
                continue
            params = op.get("parameters", []) + ops.get("parameters", [])
            names = [p["name"] for p in params if p["in"] == "path"]
            record_id = None
            for n in names:
                record_id = path_values.get(n, v.get(n))
            filled = path
            for n in names:
                value = path_values.get(n, v.get(n))
                if value is None:
                    # Another helper's new endpoint with an id this world does not know: any id.
                    value = v["org_id"]
                filled = filled.replace("{" + n + "}", str(value))
            body = _resolve(spec, op.get("requestBody", {}).get("content", {})
                            .get("application/json", {}).get("schema"))
            yield method, path, "/api/v1" + filled, params, body, record_id


def _body_fuzzer(send, method: str, path: str, url: str, props: dict, base: dict):
    """A Hypothesis property: any drawn JSON values in a few of the body's properties."""

    @settings(max_examples=HYPOTHESIS_PER_FORM, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(doc=st.dictionaries(st.sampled_from(sorted(props) or ["x"]),
                               st.one_of(hostile_text, st.integers(), st.none(), st.booleans(),
                                         st.lists(hostile_text, max_size=3)),
                               min_size=1, max_size=4))
    def fuzz(doc):
        send(method, url, f"{method.upper()} {path} [hypothesis {doc!r:.60}]",
             {v for v in doc.values() if isinstance(v, str)}, len(doc), body={**base, **doc})

    return fuzz


def test_hostile_values_into_every_api_parameter(app, client, login, make_user, api_headers):
    world = seed_world(client, login, make_user)
    headers = api_headers(world.admin)
    spec = client.get("/api/v1/openapi.json").get_json()
    tally, outside = Tally(), []
    operations = list(_api_operations(spec, world))
    assert len(operations) >= 60
    offset = 0

    def send(method, url, where, payloads, n_inputs, body=None, raw=None):
        kwargs = {"headers": headers}
        if raw is not None:
            kwargs.update(data=raw, content_type="application/json")
        elif body is not None:
            kwargs["json"] = body
        resp = _safely(tally, where, getattr(client, method), url, **kwargs)
        if resp is None:
            return None
        tally.count(resp, n_inputs)
        check_answer(resp, where, payloads, tally)
        if resp.is_json and resp.status_code < 300 and method != "get":
            text = resp.get_data(as_text=True)
            if "1787569" in text or "7777777" in text:
                tally.problems.append(f"{where}: a template expression was evaluated")
        return resp

    reads = [o for o in operations if o[0] == "get"]
    writes = [o for o in operations if o[0] != "get"]
    with Savepoint() as sp:  # reads change nothing
        for method, path, url, params, _body, _rid in reads:
            for p in params:
                for k in range(API_PER_PARAMETER):
                    value = PAYLOADS[(offset := offset + 1) % len(PAYLOADS)]
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if p["in"] == "query":
                        target = url + "?" + urlencode({p["name"]: value.encode("utf-8", "surrogatepass")})
                    elif p["in"] == "path" and p.get("schema", {}).get("type") == "string":
                        target = "/api/v1" + path.replace("{" + p["name"] + "}", _quote(value))
                        target = _fill_rest(target, url)
                    else:
                        target = "/api/v1" + path.replace("{" + p["name"] + "}",
                                                          _quote(["-1", "0", "9" * 30, "1.5"][k % 4]))
                        target = _fill_rest(target, url)
                    send("get", target, f"GET {path} [{p['name']}={_describe(value)}]", {value}, 1)
        outside += [f"API reads: {c}" for c in sp.changes("/")]

    for method, path, url, params, body, record_id in writes:
        props = body.get("properties", {})
        with Savepoint() as sp:
            current = client.get(url, headers=headers).get_json(silent=True) or {}
            version = current.get("version") if isinstance(current, dict) else None
            base = {name: _sample(prop, name, world) for name, prop in props.items()
                    if name in body.get("required", [])}
            if "version" in props and version is not None:
                base["version"] = version
            for name in props:
                for _k in range(API_PER_PARAMETER):
                    value = PAYLOADS[(offset := offset + 1) % len(PAYLOADS)]
                    if isinstance(value, bytes):
                        raw = json.dumps({**base, name: "X"}).replace('"X"', '"\\ud800"')
                        send(method, url, f"{method.upper()} {path} [{name}=lone surrogate]",
                             set(), 1, raw=raw)
                        continue
                    sent = {**base, name: value}
                    send(method, url, f"{method.upper()} {path} [{name}={_describe(value)}]",
                         {value}, 1, body=sent)
                # wrong JSON types for the property: an object, a list, a huge number
                for wrong in ({"a": {"b": []}}, [[], {}], 10**40):
                    send(method, url, f"{method.upper()} {path} [{name}={wrong!r:.30}]", set(), 1,
                         body={**base, name: wrong})
            for p in params:
                if p["in"] == "query":
                    for value in CORE[:API_PER_PARAMETER]:
                        send(method, url + "?" + urlencode({p["name"]: value.encode()}),
                             f"{method.upper()} {path} [{p['name']}={_describe(value)}]", {value}, 1)
            # a body that is not an object at all, and one that is not JSON
            for raw in ("[]", '"tekst"', "null", "{", "\x00"):
                send(method, url, f"{method.upper()} {path} [body {raw!r}]", set(), 1, raw=raw)
            _body_fuzzer(send, method, path, url, props, base)()
            outside += [f"{method.upper()} {path}: {c}" for c in sp.changes(url)]

    # A 10 MB string in a JSON body, once.
    create = next(o for o in writes if o[0] == "post" and o[1] == "/organisations")
    with Savepoint() as sp:
        send("post", create[2], "POST /organisations [10 MB name]", set(), 1,
             body={"name": TEN_MB, "org_type": "company"})
        outside += [f"POST /organisations (10 MB): {c}" for c in sp.changes(create[2])]

    print(f"\nAPI operations: {len(operations)}, requests: {tally.requests}, inputs: {tally.inputs}, "
          f"statuses: {sorted(tally.statuses.items())}")
    assert not tally.problems, "\n".join(tally.problems[:80])
    assert not outside, "\n".join(outside[:80])
    assert tally.inputs >= 1000


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _fill_rest(target: str, filled: str) -> str:
    """``target`` with its remaining {placeholders} taken from the filled-in URL."""
    if "{" not in target:
        return target
    t_parts, f_parts = target.split("/"), filled.split("/")
    return "/".join(f if t.startswith("{") else t for t, f in zip(t_parts, f_parts))


# --- exports: formulas stored through the form come out as text ---------------------------------

def test_formulas_saved_through_the_form_are_neutralised_in_exports(client, login, make_user,
                                                                    make_org):
    import csv
    import io

    import openpyxl

    org = make_org(name="Formule B.V.", city="Dordrecht")
    login(make_user("admin"))
    edit = client.get(f"/organisations/{org.id}/edit")
    form = next(f for f in read_forms(f"/organisations/{org.id}/edit", edit.get_data(as_text=True))
                if f.method == "post" and "/edit" in f.action)
    formula = '=HYPERLINK("http://evil.example","klik")'
    resp = _submit(client, form, [("name", formula), ("legal_form", "@SUM(1)")])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    data = client.get("/imports/export/organisations.csv?q=HYPERLINK").get_data()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    cells = [c for row in rows[1:] for c in row]
    assert "'" + formula in cells and "'@SUM(1)" in cells
    assert formula not in cells
    book = openpyxl.load_workbook(io.BytesIO(
        client.get("/imports/export/organisations.xlsx?q=HYPERLINK").get_data()))
    values = [(c.value, c.data_type) for row in book.active.iter_rows(min_row=2) for c in row]
    assert ("'" + formula, "s") in values
    assert all(t != "f" for _v, t in values)
    page = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    assert formula not in page and formula in html.unescape(page)  # shown escaped, as text


# --- the checks themselves catch what they are for ------------------------------------------------

def _answer(body: str, status: int = 200, mimetype: str = "text/html"):
    from flask import Response

    return Response(body, status=status, mimetype=mimetype)


@pytest.mark.parametrize("body, found", [
    ('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><input value="&#34;&gt;&lt;img src=x">', False),
    ('<script src="/static/js/app.js"></script><script type="application/json">{"a":1}</script>',
     False),
    ("<p><script>alert(1)</script></p>", True),
    ('<input value=""><img src=x onerror=alert(1)>">', True),
    ("<a href=\"javascript:alert(1)\">x</a>", True),
    ('<input value="1787569">', True),
    ("<td>test-secret</td>", True),
])
def test_the_answer_check_catches_executed_payloads(app, body, found):
    tally = Tally()
    with app.test_request_context():
        check_answer(_answer(body), "test", {"{{1337*1337}}"}, tally)
    assert bool(tally.problems) is found, tally.problems


def test_the_answer_check_catches_server_errors_and_a_rendered_7_times_7(app):
    tally = Tally()
    with app.test_request_context():
        check_answer(_answer("x", 500), "a", set(), tally)
        check_answer(_answer('<input value="49">'), "b", {"{{7*7}}"}, tally, baseline_49=False)
        check_answer(_answer('<input value="{{7*7}}">'), "c", {"{{7*7}}"}, tally, baseline_49=False)
    assert [p.split(":")[0] for p in tally.problems] == ["a", "b"]


def test_the_change_check_allows_the_target_and_its_children_but_not_a_sibling():
    org = {"id": 1, "name": "A"}
    before = {"organisation": {(1,): org, (2,): {"id": 2, "name": "B"}},
              "contact": {(7,): {"id": 7, "organisation_id": 1, "last_name": "X"},
                          (8,): {"id": 8, "organisation_id": 2, "last_name": "Y"}}}
    after = {"organisation": {(1,): {"id": 1, "name": "A2"}, (2,): {"id": 2, "name": "B"}},
             "contact": {(7,): {"id": 7, "organisation_id": 1, "last_name": "X2"},
                         (8,): {"id": 8, "organisation_id": 2, "last_name": "Y"},
                         (9,): {"id": 9, "organisation_id": 1, "last_name": "Z"}}}
    assert outside_target(before, after, "/organisations/1/edit") == []
    # The same changes, but the request was about contact 7: organisation 1 is its parent
    # (allowed), contact 9 is a sibling (not).
    assert outside_target(before, after, "/contacts/7/edit") == ["contact (9,): added"]
    after["organisation"][(2,)] = {"id": 2, "name": "B2"}
    assert outside_target(before, after, "/organisations/1/edit") == ["organisation (2,): changed"]
