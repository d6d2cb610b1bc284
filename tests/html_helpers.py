"""Helpers shared by the browser-screen tests of organisations and contacts."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

ROLES = ("admin", "regional_account_manager", "local_account_manager", "business_developer",
         "viewer")


@dataclass
class Region:
    users: dict
    dordrecht: object  # an organisation in Dordrecht (GM0505)
    sliedrecht: object  # an organisation in Sliedrecht (GM0610)


def build_region(make_user, make_org) -> Region:
    users = {role: make_user(role, municipality="GM0505" if role == "local_account_manager" else None)
             for role in ROLES}
    dordrecht = make_org(name="Dordtse Scheepswerf B.V.", city="Dordrecht", kvk_number="11112222")
    sliedrecht = make_org(name="Sliedrechtse Baggeraars B.V.", city="Sliedrecht",
                          kvk_number="33334444")
    assert dordrecht.municipality_code == "GM0505" and sliedrecht.municipality_code == "GM0610"
    return Region(users=users, dordrecht=dordrecht, sliedrecht=sliedrecht)


def switch_user(client, login, user):
    """Sign out whoever is signed in and sign ``user`` in."""
    client.post("/logout")
    login(user)


def text(resp) -> str:
    """The response body with HTML entities resolved, so Dutch messages compare as typed."""
    return html.unescape(resp.get_data(as_text=True))


def field_error(resp, field_id: str) -> str:
    """The error message shown under one form field ('' when there is none)."""
    m = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</div>', resp.get_data(as_text=True),
                  re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).strip() if m else ""


def input_value(resp, field_id: str) -> str | None:
    """The value an <input> is rendered with (what the user sees in the box)."""
    body = resp.get_data(as_text=True)
    m = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', body)
    if not m:
        return None
    v = re.search(r'\bvalue="([^"]*)"', m.group(0))
    return html.unescape(v.group(1)) if v else ""


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.labels, self.controls, self.problems = set(), [], []
        self.tables, self.in_table, self.in_wrap_depth = [], None, 0
        self._div_stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "style" in a:
            self.problems.append(f"inline style on <{tag}>")
        if any(k.startswith("aria-") and v == "None" for k, v in a.items()):
            self.problems.append(f"aria attribute rendered as 'None' on <{tag}>")
        if any(k.startswith("on") for k in a):
            self.problems.append(f"inline event handler on <{tag}>")
        if tag == "script" and not a.get("src") and a.get("type") != "application/json":
            self.problems.append("inline <script>")
        if tag == "div":
            wrap = "app-table-wrap" in (a.get("class") or "").split()
            self._div_stack.append(wrap)
            self.in_wrap_depth += wrap
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a.get("id") or f"<{tag} name={a.get('name')}>")
        if tag == "table":
            self.in_table = {"named": bool(a.get("aria-label") or a.get("aria-labelledby")),
                             "wrapped": self.in_wrap_depth > 0}
            self.tables.append(self.in_table)
        if tag == "caption" and self.in_table is not None:
            self.in_table["named"] = True

    def handle_endtag(self, tag):
        if tag == "div" and self._div_stack:
            self.in_wrap_depth -= self._div_stack.pop()
        if tag == "table":
            self.in_table = None


def assert_good_markup(resp) -> None:
    """Every input has a label; tables are named and wrapped for phones; no inline script/style
    (the Content-Security-Policy would block them)."""
    parser = _Markup()
    parser.feed(resp.get_data(as_text=True))
    unlabelled = [c for c in parser.controls if c not in parser.labels]
    assert not unlabelled, f"inputs without a label: {unlabelled}"
    assert not parser.problems, parser.problems
    for t in parser.tables:
        assert t["named"], "a table without caption or aria-label"
        assert t["wrapped"], "a table outside <div class=app-table-wrap>"


class _FormReader(HTMLParser):
    """Reads the fields of the page's main form as a browser would submit them."""

    def __init__(self, action_part: str):
        super().__init__()
        self.action_part, self.active, self.done = action_part, False, False
        self.data: dict[str, str] = {}
        self._select = self._textarea = None
        self._first_option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and self.action_part in (a.get("action") or "") \
                and a.get("method") == "post":
            self.active = True
        if not self.active:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[a["name"]] = a.get("value") or "y"
            elif a.get("type") != "submit":
                self.data[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first_option = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
                self.data.setdefault(self._select, self._first_option)
            if "selected" in a:
                self.data[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.data[self._textarea] = ""

    def handle_data(self, data):
        if self.active and self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            # A browser drops one newline right after <textarea> (WTForms writes "\r\n").
            if self._textarea and self.data[self._textarea].startswith(("\r\n", "\n")):
                value = self.data[self._textarea]
                self.data[self._textarea] = value[2:] if value.startswith("\r\n") else value[1:]
            self._textarea = None
        elif tag == "form" and self.active:
            self.active, self.done = False, True


def form_fields(resp, action_part: str = "") -> dict[str, str]:
    """The name → value pairs a browser would post from the form whose action contains
    ``action_part`` (the first POST form after the page header by default)."""
    body = resp.get_data(as_text=True)
    body = body.split('<main', 1)[1] if '<main' in body else body
    reader = _FormReader(action_part)
    reader.feed(body)
    return reader.data
