"""Forms read as a browser submits them, for the load test's simulated users.

Kept apart from ``benchmarks/locustfile.py`` so the test suite can check them against the real
pages without importing locust (which patches the standard library with gevent on import).
"""

from __future__ import annotations

import random
import re
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit


class Form:
    """The fields a browser would submit, in document order, plus the offered checkbox values."""

    def __init__(self, action: str, method: str):
        self.action, self.method = action, method
        self.fields: list[tuple[str, str]] = []
        self.checkbox_values: dict[str, list[str]] = {}

    def data(self, **overrides) -> list[tuple[str, str]]:
        """The submitted pairs; an override replaces every pair of that name (a list: several)."""
        pairs = [(k, v) for k, v in self.fields if k not in overrides]
        for name, value in overrides.items():
            for v in value if isinstance(value, list) else [value]:
                pairs.append((name, v))
        return pairs


class FormParser(HTMLParser):
    """The forms of a page, read as a browser submits them (no JavaScript needed here)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                form.checkbox_values.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "reset", "image", "file"):
                form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in a, "options": [],
                            "selected": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": ""}
            self._select["options"].append(self._option)
            if "selected" in a:
                self._select["selected"].append(self._option)
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            s, self._select = self._select, None
            chosen = s["selected"] or ([] if s["multiple"] else s["options"][:1])
            for o in chosen:
                value = o["value"] if o["value"] is not None else o["text"].strip()
                self._form.fields.append((s["name"], value))
        elif tag == "textarea" and self._textarea is not None:
            t, self._textarea = self._textarea, None
            # A browser drops the one newline that may follow <textarea>.
            self._form.fields.append((t["name"], t["text"].removeprefix("\n")))


def page_form(html: str, page: str, action: str) -> Form | None:
    """The POST form of ``page`` that submits to ``action`` (no action: to the page itself)."""
    parser = FormParser()
    parser.feed(html)
    return next((f for f in parser.forms if f.method == "post"
                 and urlsplit(f.action or page).path == action), None)


def error_text(html: str) -> str:
    """The first field messages of a refused form, for the failure report."""
    found = re.findall(r'utrecht-form-field-error-message[^>]*>(.*?)</div>', html, re.DOTALL)
    text = " ".join(re.sub(r"<[^>]+>", " ", m) for m in found[:3])
    return " ".join(text.split())[:200]


def contact_moment_data(form: Form, rng: random.Random) -> list[tuple[str, str]]:
    """The full contact-moment form (its defaults: today, a visit, the organisation) filled in
    as an account manager would: a subject, a short report, one topic, one contact present."""
    contacts = form.checkbox_values.get("contact_ids", [])
    topics = form.checkbox_values.get("topics", [])
    return form.data(
        action="save",
        subject=f"Belastingtest {uuid.uuid4().hex[:8]}",
        notes="Gesprek over de investeringsplannen en de personeelsbehoefte; vastgelegd door de "
              "belastingtest (benchmarks/locustfile.py).",
        topics=rng.sample(topics, min(len(topics), 1)),
        contact_ids=rng.sample(contacts, min(len(contacts), 1)),
    )
