"""Browser screens for the supply network: roles in chains, supply links, cluster membership.

Reached from both organisations' pages and from the chain page. Whoever may edit an
organisation manages its roles and clusters; a supply link, whoever may edit either side.
The request boundary commits; a refused form is shown again through ``form_page``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import ConflictError, PermissionDenied, ValidationError
from ..extensions import db
from ..forms import apply_service_errors, form_page
from ..interactions.queries import organisation_choice_label, resolve_organisation
from ..organisations.queries import get_organisation
from ..organisations.permissions import can_edit_organisation
from ..transaction import attempt
from . import bp
from .forms import (
    LINK_FIELD_MAP,
    ROLE_FIELD_MAP,
    ChainRoleForm,
    ConfirmForm,
    MembershipForm,
    SupplyLinkForm,
)
from .network_services import (
    add_chain_role,
    add_organisation_to_cluster,
    create_supply_link,
    delete_chain_role,
    delete_supply_link,
    live_organisation,
    may_edit_link,
    remove_organisation_from_cluster,
    set_primary_cluster,
    update_supply_link,
)
from .queries import (
    editable_org_ids,
    get_chain,
    get_link,
    get_role,
    live_chains,
    live_clusters,
    organisation_network,
    paginate_links,
)
from .services import live_chain
from .views import CONFLICT_MESSAGE, INVALID, page_number

NOT_YOURS = _l("U mag deze organisatie niet wijzigen; kies een organisatie uit uw gemeente of "
              "uw accountteam.")


def _require_worker() -> None:
    if current_user.is_viewer:
        raise PermissionDenied()


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _resolve(field):
    """The organisation typed or picked in a search box; a Dutch message on the field if not."""
    text = (field.data or "").strip()
    if not text:
        return None
    org, candidates = resolve_organisation(text)
    if org is None:
        field.errors = [*field.errors, (
            _("Meerdere organisaties passen bij uw invoer; kies er één uit de lijst.")
            if candidates else _("Geen organisatie gevonden met deze naam of dit KvK-nummer."))]
        return None
    field.data = organisation_choice_label(org)
    return org


def _org_page(org_id: int, anchor: str):
    return redirect(url_for("organisations.detail", org_id=org_id, _anchor=anchor))


# --- Roles ------------------------------------------------------------------------------------

def _role_page(form, org, chain, status=200):
    return render_template("valuechains/role_form.html", form=form, org=org, chain=chain), status


@bp.route("/roles/new", methods=["GET", "POST"])
@login_required
def role_create():
    """Add a role, from an organisation's page (organisation fixed) or a chain page (chain fixed)."""
    _require_worker()
    org_id, chain_id = _int_arg("organisation_id"), _int_arg("value_chain_id")
    org = get_organisation(org_id, for_edit=True, user=current_user) if org_id else None
    chain = get_chain(chain_id) if chain_id else None
    form = ChainRoleForm()
    form.set_chains([chain] if chain else db.session.scalars(live_chains()).all())
    if org is not None:
        form.organisation.data = organisation_choice_label(org)
    if not form.is_submitted():
        if chain is not None:
            form.value_chain_id.data = str(chain.id)
        return _role_page(form, org, chain)
    form.validate()
    if org is not None:
        form.organisation.errors = []  # fixed by the page it came from, not typed
    target = org or _resolve(form.organisation)
    if form.errors:
        return _role_page(form, org, chain, INVALID)
    form_page(form, lambda: _role_page(form, org, chain)[0], field_map=ROLE_FIELD_MAP)
    try:
        add_chain_role(form.service_data(target.id), actor=current_user)
    except PermissionDenied:
        # Not the plain 403 page: the form again, saying which organisations this user may pick.
        # The service refuses before it writes anything.
        apply_service_errors(form, {"organisation": NOT_YOURS})
        return _role_page(form, org, chain, 403)
    flash(_("De rol van %(name)s is vastgelegd.", name=target.name), "success")
    if org is not None:
        return _org_page(org.id, "ketenrollen")
    return redirect(url_for("valuechains.chain_detail", chain_id=int(form.value_chain_id.data),
                            _anchor="fasen"))


@bp.route("/roles/<int:role_id>/delete", methods=["POST"])
@login_required
def role_delete(role_id: int):
    _require_worker()
    role = get_role(role_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not can_edit_organisation(current_user, role.organisation):
        raise PermissionDenied()
    org_id, chain_id = role.organisation_id, role.value_chain_id
    delete_chain_role(role, actor=current_user)
    flash(_("De rol is verwijderd."), "success")
    if form.back.data == "chain":
        return redirect(url_for("valuechains.chain_detail", chain_id=chain_id, _anchor="fasen"))
    if form.back.data == "roles":
        return redirect(url_for("valuechains.chain_role_index", chain_id=chain_id))
    return _org_page(org_id, "ketenrollen")


# --- Supply links -------------------------------------------------------------------------------

def _link_page(form, *, link=None, back=None, status=200):
    create_args = {k: v for k, v in request.args.items()
                   if k in ("supplier_id", "customer_id", "value_chain_id", "from")}
    return render_template("valuechains/link_form.html", form=form, link=link, back=back,
                           create_args=create_args), status


def _back_org(*candidates) -> int | None:
    """The organisation page to return to: ``?from=`` when it is one of the link's two sides."""
    wanted = _int_arg("from")
    return wanted if wanted is not None and wanted in candidates else None


def _save_link(form, save, *, link=None, back=None):
    """Resolve both search boxes, then let the service decide; one flow for create and edit."""
    current = (lambda: _stored_link_form(link)) if link is not None else None
    form.validate()
    supplier, customer = _resolve(form.supplier), _resolve(form.customer)
    if form.errors:
        return None, _link_page(form, link=link, back=back, status=INVALID)
    form_page(form, lambda: _link_page(form, link=link, back=back)[0],
              conflict_message=CONFLICT_MESSAGE, field_map=LINK_FIELD_MAP, current=current)
    try:
        saved = save(form.service_data(supplier.id, customer.id))
    except PermissionDenied:
        # Not the plain 403 page: the form again, saying which links this user may record.
        # The service refuses before it writes anything.
        form.form_errors.append(_("U mag alleen leveringsrelaties vastleggen waarbij u de "
                                  "leverancier of de afnemer mag wijzigen."))
        return None, _link_page(form, link=link, back=back, status=403)
    return saved, None


def _after_link(link, back):
    if back is not None:
        return _org_page(back, "leveringsrelaties")
    if link.value_chain_id:
        return redirect(url_for("valuechains.chain_detail", chain_id=link.value_chain_id,
                                _anchor="leveringsrelaties"))
    return _org_page(link.supplier_id, "leveringsrelaties")


@bp.route("/links/new", methods=["GET", "POST"])
@login_required
def link_create():
    """A new link; ``?supplier_id=`` or ``?customer_id=`` fills in one side (the page you came from)."""
    _require_worker()
    supplier = live_organisation(_int_arg("supplier_id"))
    customer = live_organisation(_int_arg("customer_id"))
    back = _back_org(*(o.id for o in (supplier, customer) if o is not None))
    form = SupplyLinkForm()
    form.set_chains(db.session.scalars(live_chains()).all())
    if not form.is_submitted():
        for field, org in ((form.supplier, supplier), (form.customer, customer)):
            if org is not None:
                field.data = organisation_choice_label(org)
        chain = live_chain(_int_arg("value_chain_id"))
        form.value_chain_id.data = str(chain.id) if chain else ""
        return _link_page(form, back=back)
    link, refused = _save_link(form, lambda data: create_supply_link(data, actor=current_user),
                               back=back)
    if refused:
        return refused
    flash(_("De leveringsrelatie %(supplier)s → %(customer)s is vastgelegd.",
            supplier=link.supplier.name, customer=link.customer.name), "success")
    return _after_link(link, back)


def _stored_link_form(link):
    return SupplyLinkForm(data={
        "supplier": organisation_choice_label(link.supplier),
        "customer": organisation_choice_label(link.customer),
        "value_chain_id": str(link.value_chain_id or ""), "supplied": link.supplied or "",
        "sole_source": link.sole_source, "version": str(link.version)})


@bp.route("/links/<int:link_id>/edit", methods=["GET", "POST"])
@login_required
def link_edit(link_id: int):
    _require_worker()
    link = get_link(link_id)
    if not may_edit_link(current_user, link.supplier, link.customer):
        raise PermissionDenied()
    back = _back_org(link.supplier_id, link.customer_id)
    if request.method == "GET":
        form = _stored_link_form(link)
    else:
        form = SupplyLinkForm()
    form.set_chains(db.session.scalars(live_chains()).all())
    if request.method == "GET":
        return _link_page(form, link=link, back=back)
    saved, refused = _save_link(
        form, lambda data: update_supply_link(link, data, actor=current_user,
                                              expected_version=form.version.data or None),
        link=link, back=back)
    if refused:
        return refused
    flash(_("De leveringsrelatie is opgeslagen."), "success")
    return _after_link(saved, back)


@bp.route("/links/<int:link_id>/delete", methods=["POST"])
@login_required
def link_delete(link_id: int):
    _require_worker()
    link = get_link(link_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    back = int(form.back.data) if (form.back.data or "").isdigit() and len(form.back.data) < 10 else None
    back = back if back in (link.supplier_id, link.customer_id) else None
    try:
        with attempt():
            delete_supply_link(link, actor=current_user,
                               expected_version=form.version.data or None)
    except (ConflictError, ValidationError):
        # Not a form page: back where the user came from, with a message.
        flash(_("Iemand anders heeft deze leveringsrelatie intussen gewijzigd; bekijk haar opnieuw "
                "voordat u haar verwijdert."), "error")
        return _after_link(link, back)
    flash(_("De leveringsrelatie is verwijderd."), "success")
    return _after_link(link, back)


@bp.route("/links/")
@login_required
def link_index():
    """All supply links of one organisation (both directions) or one chain, page by page."""
    org_id, chain_id = _int_arg("organisation_id"), _int_arg("value_chain_id")
    org = get_organisation(org_id) if org_id else None
    chain = get_chain(chain_id) if chain_id else None
    sole = {"1": True, "0": False}.get(request.args.get("sole_source", ""))
    page = paginate_links(page_number(), 50, organisation_id=org.id if org else None,
                          value_chain_id=chain.id if chain else None, sole_source=sole,
                          by_name=True)
    editable = editable_org_ids(current_user, [lk.supplier for lk in page.items]
                                + [lk.customer for lk in page.items])
    editable_links = {lk.id for lk in page.items
                      if lk.supplier_id in editable or lk.customer_id in editable}
    kept = {k: v for k, v in request.args.items() if k in ("organisation_id", "value_chain_id",
                                                              "sole_source") and v}
    return render_template("valuechains/links.html", page=page, org=org, chain=chain,
                           editable_links=editable_links, may_work=not current_user.is_viewer,
                           action_form=ConfirmForm(), sole=sole,
                           page_url=lambda n: url_for("valuechains.link_index", **kept, page=n))


# --- Cluster membership ---------------------------------------------------------------------------

def _memberships_page(org, form, status=200):
    return render_template("valuechains/org_clusters.html", org=org, form=form,
                           network=organisation_network(org, current_user),
                           action_form=ConfirmForm()), status


@bp.route("/organisations/<int:org_id>/clusters", methods=["GET", "POST"])
@login_required
def org_clusters(org_id: int):
    org = get_organisation(org_id, for_edit=True, user=current_user)
    form = MembershipForm()
    form.set_clusters(db.session.scalars(live_clusters()).all())
    if not form.is_submitted():
        return _memberships_page(org, form)
    if not form.validate():
        return _memberships_page(org, form, INVALID)
    form_page(form, lambda: _memberships_page(org, form)[0])
    member = add_organisation_to_cluster(org, form.cluster_id.data, actor=current_user,
                                         primary=bool(form.primary.data))
    flash(_("%(org)s hoort nu bij cluster %(cluster)s.", org=org.name, cluster=member.cluster.name),
          "success")
    return redirect(url_for("valuechains.org_clusters", org_id=org.id))


def _membership_action(org_id: int, action, done: str):
    org = get_organisation(org_id, for_edit=True, user=current_user)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)

    def render():
        # The confirm form's fields are hidden, so a refusal's messages sit at form level; they
        # are shown above an empty add form.
        page_form = MembershipForm(formdata=None)
        page_form.set_clusters(db.session.scalars(live_clusters()).all())
        page_form.form_errors.extend(form.form_errors)
        return _memberships_page(org, page_form)[0]

    form_page(form, render)
    action(org, form.cluster_id.data)
    flash(done, "success")
    return redirect(url_for("valuechains.org_clusters", org_id=org.id))


@bp.route("/organisations/<int:org_id>/clusters/primary", methods=["POST"])
@login_required
def org_cluster_primary(org_id: int):
    return _membership_action(
        org_id, lambda org, cid: set_primary_cluster(org, cid, actor=current_user),
        _("Het primaire cluster is gewijzigd."))


@bp.route("/organisations/<int:org_id>/clusters/remove", methods=["POST"])
@login_required
def org_cluster_remove(org_id: int):
    return _membership_action(
        org_id, lambda org, cid: remove_organisation_from_cluster(org, cid, actor=current_user),
        _("De organisatie is uit het cluster gehaald."))
