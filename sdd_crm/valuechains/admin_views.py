"""Criticality screens: the weights and threshold (admins), one organisation's assessment with
its history and the manual flag (regional account managers and admins set it), and a button
to recompute now.

Routes under /chains/criticality. Views stay thin: the rules live in ``criticality_services``;
the request boundary commits, and a refused form is shown again through ``form_page``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_percent, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField

from ..exceptions import PermissionDenied
from ..extensions import db
from ..forms import ServiceErrorsMixin, form_page, max_length, options
from ..jobs.models import Job
from ..organisations.queries import get_organisation
from ..pagination import paginate
from . import bp
from . import criticality as engine
from . import criticality_services as services
from .jobs import JOB_KIND, create_job, enqueue_job
from .models import CriticalityAssessment, ValueChain

INVALID = 422
SETTINGS_CONFLICT = _l("Iemand anders heeft de instellingen intussen gewijzigd. Uw invoer staat "
                       "hieronder nog; kies per gewijzigd veld welke waarde blijft en sla op.")
FLAG_CONFLICT = _l("Iemand anders heeft deze organisatie intussen gewijzigd. Uw invoer staat "
                   "hieronder nog; controleer en sla opnieuw op.")
HISTORY_PAGE = 20
FACTOR_LABELS = {
    "employment": _l("Werkgelegenheid"),
    "sole_source": _l("Enige leverancier"),
    "bridging": _l("Brugpositie in het netwerk"),
    "breadth": _l("Breedte (aantal ketens)"),
}
FLAG_CHOICES = {"": _l("Geen handmatige markering (de berekening telt)"),
                "1": _l("Kritisch"), "0": _l("Niet kritisch")}


class Required:
    """Marks a field as required on the page; the service checks it (one message per field)."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


def _decimal(label):
    return StringField(label, validators=[Required()], render_kw={"inputmode": "decimal"})


class SettingsForm(ServiceErrorsMixin, FlaskForm):
    employment = _decimal(_l("Gewicht werkgelegenheid"))
    sole_source = _decimal(_l("Gewicht enige leverancier"))
    bridging = _decimal(_l("Gewicht brugpositie"))
    breadth = _decimal(_l("Gewicht breedte"))
    threshold = _decimal(_l("Drempel"))
    version = HiddenField()


class FlagForm(ServiceErrorsMixin, FlaskForm):
    critical = RadioField(_l("Handmatige markering"), choices=options(FLAG_CHOICES.items()),
                          default="", validate_choice=False)
    reason = TextAreaField(_l("Reden"), validators=[max_length(services.REASON_LIMIT)],
                           render_kw={"rows": 3, "maxlength": services.REASON_LIMIT})
    version = HiddenField()


def _number_text(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _latest_job():
    return db.session.scalar(sa.select(Job).where(Job.kind == JOB_KIND)
                             .order_by(Job.created_at.desc()).limit(1))


def _fill_settings(form, settings, row):
    for name in engine.FACTORS:
        form[name].data = _number_text(settings.weights[name])
    form.threshold.data = _number_text(settings.threshold)
    form.version.data = row.version if row is not None else ""
    return form


@bp.route("/criticality/settings", methods=["GET", "POST"])
@login_required
def criticality_settings():
    if not services.can_edit_settings(current_user):
        raise PermissionDenied()
    row = services.settings_row()
    settings = services.get_settings()
    form = SettingsForm()

    def render():
        if not form.version.data and str(SETTINGS_CONFLICT) in form.form_errors:
            # A form loaded before anyone saved settings: its conflict carries no stored
            # version, so show the stored one (a second save overwrites knowingly).
            current = services.settings_row()
            form.version.data = current.version if current is not None else ""
        return render_template("valuechains/criticality_settings.html", form=form,
                               settings=settings, defaults=engine.Settings(),
                               factor_labels=FACTOR_LABELS, job=_latest_job())

    if request.method == "GET":
        _fill_settings(form, settings, row)
        return render()
    if not form.validate_on_submit():
        return render(), INVALID
    data = {name: form[name].data for name in (*engine.FACTORS, "threshold")}

    def stored():
        return _fill_settings(SettingsForm(formdata=None), services.get_settings(),
                              services.settings_row())

    form_page(form, render, conflict_message=SETTINGS_CONFLICT, current=stored)
    services.save_settings(data, actor=current_user, expected_version=form.version.data or "")
    flash(_("De instellingen zijn opgeslagen; de kritikaliteit wordt opnieuw berekend."), "success")
    return redirect(url_for("valuechains.criticality_settings"))


@bp.post("/criticality/recompute")
@login_required
def criticality_recompute():
    if not services.can_run_recompute(current_user):
        raise PermissionDenied()
    job = create_job(actor=current_user, trigger="web")
    enqueue_job(job)  # goes out once the request's transaction has committed the Job row
    flash(_("De herberekening is gestart."), "success")
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("valuechains.criticality_settings") if current_user.is_admin \
            else url_for("valuechains.critical_companies")
    return redirect(target)


def _chain_names(assessments) -> dict[int, str]:
    ids = {c for a in assessments for f in (a.factors or []) if isinstance(f, dict)
           for c in (f.get("separates_chains") or []) if isinstance(c, int)}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(ValueChain.id, ValueChain.name)
                                   .where(ValueChain.id.in_(ids))).all())


def describe(factor: dict, chains: dict[int, str]) -> str:
    """One factor in plain Dutch."""
    name, value = factor.get("name"), factor.get("value") or 0
    if name == "employment":
        if factor.get("regional") is False:
            return _("Telt niet mee: geen bedrijf in een van de Drechtstedengemeenten")
        return _("%(share)s van de regionale werkgelegenheid in de vastgelegde bedrijven",
                 share=format_percent(float(value), "#,##0.##%"))
    if name == "sole_source":
        if not value:
            return _("Geen afnemer heeft alleen deze organisatie als leverancier")
        return ngettext("Enige leverancier van %(num)d afnemer",
                        "Enige leverancier van %(num)d afnemers", int(value))
    if name == "bridging":
        pair = factor.get("separates_chains")
        if pair:
            a, b = (chains.get(c, f"#{c}") for c in pair[:2])
            return _("De enige verbinding tussen de ketens %(a)s en %(b)s", a=a, b=b)
        if not value:
            return _("Ligt niet tussen andere organisaties in het leveringsnetwerk")
        return _("Ligt op de kortste verbinding tussen ongeveer %(n)s paren organisaties",
                 n=f"{float(value):,.0f}".replace(",", "."))
    if name == "breadth":
        if not value:
            return _("Heeft geen rol of levering in een waardeketen")
        return ngettext("Actief in %(num)d waardeketen", "Actief in %(num)d waardeketens", int(value))
    return str(value)


def _page(stmt, endpoint: str, **fixed):
    page = paginate(stmt, max(1, request.args.get("page", 1, type=int) or 1), HISTORY_PAGE)
    return page, (lambda n: url_for(endpoint, **fixed, page=n))


def _render_org(org, form, status=200):
    history_stmt = (sa.select(CriticalityAssessment)
                    .where(CriticalityAssessment.organisation_id == org.id)
                    .order_by(CriticalityAssessment.computed_at.desc(), CriticalityAssessment.id.desc()))
    page, page_url = _page(history_stmt, "valuechains.criticality_organisation", org_id=org.id)
    latest = services.latest_assessment(org.id)
    shown = [a for a in [latest, *page.items] if a is not None]
    return render_template(
        "valuechains/criticality_organisation.html", org=org, latest=latest, page=page,
        page_url=page_url, form=form, can_flag=services.can_set_manual_flag(current_user),
        chains=_chain_names(shown), describe=describe, factor_labels=FACTOR_LABELS,
        flag_choices=FLAG_CHOICES), status


@bp.route("/criticality/<int:org_id>")
@login_required
def criticality_organisation(org_id: int):
    org = get_organisation(org_id)
    return _render_org(org, _stored_flag_form(org))


def _stored_flag_form(org):
    form = FlagForm(formdata=None)
    form.critical.data = "" if org.manual_critical is None else ("1" if org.manual_critical else "0")
    form.reason.data = org.manual_critical_reason or ""
    form.version.data = org.version
    return form


@bp.post("/criticality/<int:org_id>/flag")
@login_required
def criticality_flag(org_id: int):
    org = get_organisation(org_id)
    if not services.can_set_manual_flag(current_user):
        raise PermissionDenied()
    form = FlagForm()
    if not form.validate_on_submit():
        return _render_org(org, form, INVALID)
    choice = form.critical.data or ""
    if choice not in FLAG_CHOICES:
        form.critical.errors = [_("Kies een van de mogelijkheden.")]
        return _render_org(org, form, INVALID)
    critical = {"": None, "1": True, "0": False}[choice]
    form_page(form, lambda: _render_org(org, form)[0], conflict_message=FLAG_CONFLICT,
              current=lambda: _stored_flag_form(org))
    services.set_manual_flag(org, critical, form.reason.data, actor=current_user,
                             expected_version=form.version.data or None)
    flash(_("De handmatige markering is opgeslagen.") if critical is not None
          else _("De handmatige markering is verwijderd; de berekening telt weer."), "success")
    return redirect(url_for("valuechains.criticality_organisation", org_id=org_id))
