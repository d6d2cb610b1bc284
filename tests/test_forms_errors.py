"""Issue 14 point 5: after a failed save an error summary at the top of the form lists each
message and links to its field; each field keeps its own message (aria-describedby,
aria-invalid); hints say what a person sees; conditional fields are marked required only when
their trigger holds (server side for the first render, js/forms.js after that)."""

from __future__ import annotations

import html
import pathlib
import re

import pytest
import sqlalchemy as sa
from html_helpers import assert_good_markup, field_error, input_value, text
from leads_support import build_world
from wtforms import FieldList, FormField, HiddenField, RadioField, StringField
from wtforms.validators import InputRequired

from sdd_crm.extensions import db
from sdd_crm.forms import BaseForm, BaseSubForm, condition_met, error_summary, options
from sdd_crm.organisations.models import Organisation

TEMPLATES = pathlib.Path(__file__).resolve().parents[1] / "templates"
JS = pathlib.Path(__file__).resolve().parents[1] / "sdd_crm" / "static" / "js" / "forms.js"


def _summary(resp) -> str:
    m = re.search(r'<div class="utrecht-alert utrecht-alert--error app-error-summary"[^>]*>.*?'
                  r'</div>\s*</div>', resp.get_data(as_text=True), re.S)
    assert m, "no error summary"
    return html.unescape(m.group(0))


def _links(summary: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="utrecht-link" href="#([^"]+)">([^<]*)</a>', summary)


def _tag(resp, field_id: str) -> str:
    m = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{re.escape(field_id)}"[^>]*>',
                  resp.get_data(as_text=True))
    assert m, field_id
    return m.group(0)


# --- The error summary ------------------------------------------------------------------------

def test_a_failed_organisation_form_opens_with_a_linked_error_summary(client, login, make_user):
    login(make_user("regional_account_manager"))
    resp = client.post("/organisations/new", data={
        "name": "", "org_type": "company", "status": "active", "kvk_number": "7500",
        "employees": "veel", "city": "Dordrecht", "description": "Blijft staan"})
    assert resp.status_code == 422
    assert_good_markup(resp)
    summary = _summary(resp)
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary
    assert "data-error-summary" in summary
    assert "Het formulier is niet opgeslagen." in summary
    links = dict(_links(summary))
    assert set(links) >= {"name", "kvk_number", "employees"}
    for field_id, shown in links.items():
        label, message = shown.split(": ", 1)
        assert message == field_error(resp, field_id), field_id  # the same words as the field
        tag = _tag(resp, field_id)
        assert 'aria-invalid="true"' in tag and f"{field_id}-error" in tag
        assert f'<label class="utrecht-form-label" for="{field_id}">{label}' in text(resp)
    assert links["name"].startswith("Naam: ")
    # In the order of the form, and the form keeps what was typed.
    order = [i for i, _ in _links(summary)]
    assert order.index("name") < order.index("kvk_number") < order.index("employees")
    assert input_value(resp, "kvk_number") == "7500" and "Blijft staan" in text(resp)
    # The summary comes before the form.
    body = resp.get_data(as_text=True)
    assert body.index("data-error-summary") < body.index('action="/organisations/new"')
    assert 'src="/static/js/forms.js"' in body


def test_a_radio_group_is_linked_to_its_first_option(client, login, make_user, make_org):
    world = build_world(make_user, make_org)
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "", "shared_with": ""})
    assert resp.status_code == 422
    links = dict(_links(_summary(resp)))
    assert links["title"] == "Titel: Vul een korte titel in."
    assert links["shared_with-0"] == "Delen met: Kies met wie u het signaal deelt."
    assert 'id="shared_with-0"' in resp.get_data(as_text=True)


def test_form_level_messages_are_in_the_summary_without_a_link(app):
    class Row(BaseSubForm):
        title = StringField("Wat", validators=[InputRequired(message="Vul wat in.")])

    class Sample(BaseForm):
        class Meta:
            csrf = False

        name = StringField("Naam", validators=[InputRequired(message="Vul een naam in.")])
        kind = RadioField("Soort", choices=options([("a", "A")]), validate_choice=False,
                          validators=[InputRequired(message="Kies een soort.")])
        rows = FieldList(FormField(Row), label="Vervolgactie", min_entries=2)
        version = HiddenField()

    with app.test_request_context("/", method="POST", data={"rows-0-title": "x"}):
        form = Sample()
        assert not form.validate()
        form.form_errors.append("Iemand anders was u voor.")
        form.version.errors = ["Iemand anders was u voor."]  # the same words once only
        items = error_summary(form)
    assert [(i["id"], i["label"], i["message"]) for i in items] == [
        ("name", "Naam", "Vul een naam in."),
        ("kind-0", "Soort", "Kies een soort."),
        ("rows-1-title", "Vervolgactie 2: Wat", "Vul wat in."),
        (None, None, "Iemand anders was u voor."),
    ]


@pytest.mark.parametrize("url, data", [
    ("/tasks/new", {"title": ""}),
    ("/admin/users/new", {"email": "", "name": "", "role": "viewer", "password": "kort"}),
])
def test_other_main_forms_get_the_summary_too(client, login, make_user, url, data):
    login(make_user("admin"))
    resp = client.post(url, data=data)
    assert resp.status_code == 422
    links = _links(_summary(resp))
    assert links and all(re.fullmatch(r"[a-z_0-9-]+", i) for i, _ in links)
    for field_id, _ in links:
        assert 'aria-invalid="true"' in _tag(resp, field_id)


def test_the_import_upload_uses_the_shared_summary(client, login, make_user):
    login(make_user("admin"))
    resp = client.post("/imports/", data={"kind": ""})
    assert resp.status_code in (400, 422)
    summary = _summary(resp)
    assert "Het bestand is niet geüpload." in summary
    assert "file" in dict(_links(summary))


def test_without_errors_there_is_no_summary(client, login, make_user):
    login(make_user("regional_account_manager"))
    resp = client.get("/organisations/new")
    assert "data-error-summary" not in resp.get_data(as_text=True)


# --- Hints say what a person sees -------------------------------------------------------------

def test_no_hint_speaks_of_the_wire_format():
    bad = []
    for path in TEMPLATES.rglob("*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for hint in re.findall(r"hint=_\('([^']*)'\)", line):
                if re.search(r"JJJJ|YYYY|\bISO\b|E\.164|JSON|_id\b|adresbalk", hint):
                    bad.append(f"{path.relative_to(TEMPLATES)}:{n}: {hint}")
    assert bad == []


def test_the_parent_organisation_is_chosen_by_its_kvk_number(client, login, make_user, make_org):
    user = make_user("regional_account_manager")
    group = make_org(name="Groep Vijfenzeventig B.V.", kvk_number="75000010")
    login(user)
    resp = client.post("/organisations/new", data={
        "name": "Dochter Vijfenzeventig B.V.", "org_type": "company", "status": "active",
        "parent_id": "75000010", "city": "Dordrecht"})
    assert resp.status_code == 302, text(resp)[:2000]
    child = db.session.scalar(sa.select(Organisation).where(
        Organisation.name == "Dochter Vijfenzeventig B.V."))
    assert child.parent_id == group.id
    page = client.get(f"/organisations/{child.id}/edit")
    assert input_value(page, "parent_id") == "75000010"  # shown as typed: the KvK number
    assert ">Moederorganisatie <" in text(page)


# --- Conditional fields -----------------------------------------------------------------------

def _wrapper(resp, field_id: str) -> str:
    body = resp.get_data(as_text=True)
    at = body.index(f'for="{field_id}"')
    start = body.rindex('<div class="utrecht-form-field ', 0, at)
    return body[start:body.index(f'id="{field_id}"', at) + 200]


def test_the_municipality_is_required_only_for_a_local_account_manager(client, login, make_user):
    login(make_user("admin"))
    first = client.get("/admin/users/new")
    wrap = _wrapper(first, "municipality")
    assert 'data-show-when="role"' in wrap and 'data-show-values="local_account_manager"' in wrap
    assert "data-required-when-shown" in wrap
    assert 'aria-required="true"' not in _tag(first, "municipality")  # not yet a local manager
    assert re.search(r'<span class="app-optional" data-optional-marker>', wrap)
    resp = client.post("/admin/users/new", data={
        "email": "lokaal75@example.nl", "name": "Lokaal Vijfenzeventig",
        "role": "local_account_manager", "municipality": "", "password": "x" * 16})
    assert resp.status_code == 422
    assert "Een lokaal accountmanager hoort bij een gemeente." in field_error(resp, "municipality")
    tag = _tag(resp, "municipality")
    assert 'aria-required="true"' in tag and "required" in tag
    assert re.search(r'data-optional-marker hidden>', _wrapper(resp, "municipality"))
    assert ("municipality", "Gemeente: Een lokaal accountmanager hoort bij een gemeente.") in \
        _links(_summary(resp))


def test_the_lead_form_marks_the_chosen_receiver_required(client, login, make_user, make_org):
    world = build_world(make_user, make_org)
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "Iets", "shared_with": "user", "shared_with_user_id": ""})
    assert resp.status_code == 422
    assert 'aria-required="true"' in _tag(resp, "shared_with_user_id")
    assert 'aria-required="true"' not in _tag(resp, "shared_with_municipality")
    assert 'data-show-when="shared_with" data-show-values="municipality"' in \
        _wrapper(resp, "shared_with_municipality")


def test_condition_met_reads_checkboxes_selects_and_radios(app):
    class Sample(BaseForm):
        class Meta:
            csrf = False

        role = StringField()
        flag = RadioField(choices=options([("", "geen"), ("1", "ja"), ("0", "nee")]),
                          validate_choice=False)

    with app.test_request_context("/", method="POST", data={"role": "viewer", "flag": "0"}):
        form = Sample()
        assert condition_met(form.role, ["viewer"]) and not condition_met(form.role, ["admin"])
        assert condition_met(form.flag, ["1", "0"])
        assert condition_met(form.role, ["*"])  # any value typed


def test_the_script_is_ours_and_small():
    source = JS.read_text(encoding="utf-8")
    assert "data-error-summary" in source and "data-show-when" in source
    assert "http" not in source and "innerHTML" not in source
