"""Browser screens for clusters, value chains and their stages (url prefix /chains).

Everyone signed in reads them; admins and regional account managers manage them. Roles,
supply links and cluster membership have their screens in ``network_views``. Views stay thin:
parse the form, register how to show it again (``form_page``) and call the service. The request
boundary commits; on a refusal it rolls back and the app-level handlers show the form again.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..exceptions import PermissionDenied
from ..extensions import db
from ..forms import form_page, submitted_version
from ..pagination import request_page
from . import bp
from .forms import ClusterForm, ConfirmForm, StageForm, ValueChainForm
from .models import ValueChain
from .queries import (
    chain_counts,
    cluster_member_counts,
    cluster_members,
    editable_org_ids,
    get_chain,
    get_cluster,
    get_stage,
    live_chains,
    live_clusters,
    paginate_links,
    paginate_roles,
    stage_previews,
)
from .services import (
    add_stage,
    can_manage_chains,
    chain_usage,
    create_cluster,
    create_value_chain,
    delete_cluster,
    delete_stage,
    delete_value_chain,
    move_stage,
    rename_stage,
    update_cluster,
    update_value_chain,
)

INVALID = 422  # a form shown again with messages; nothing was saved
# The chain page's links: a page that fits next to the stages (each row carries its own edit
# and delete controls); the full list, 50 a page, is the links page filtered on the chain.
LINKS_PER_PAGE = 25
MEMBERS_PER_PAGE = 50
ROLES_PER_PAGE = 50
CONFLICT_MESSAGE = _l("Iemand anders heeft dit intussen gewijzigd. Uw invoer staat hieronder nog; "
                      "kies per gewijzigd veld welke waarde blijft en sla op.")


def page_number() -> int:
    return request_page()


def require_manager() -> None:
    if not can_manage_chains(current_user):
        raise PermissionDenied()


def keep_stored_version(form, record) -> None:
    """An edit posted without a version is refused as a conflict that does not carry the stored
    version (``submitted_version``): the form comes back with it, so a second save overwrites
    knowingly. A conflict found by ``check_version`` already set it."""
    if not (form.version.data or "").strip():
        form.version.data = str(record.version)


# --- Overview and cluster pages ----------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    """Clusters with their chains; counts from two grouped queries, not one per chain."""
    clusters = db.session.scalars(live_clusters()).all()
    chains = db.session.scalars(live_chains().options(selectinload(ValueChain.stages))).all()
    by_cluster: dict[int, list] = {}
    for chain in chains:
        by_cluster.setdefault(chain.cluster_id, []).append(chain)
    return render_template(
        "valuechains/index.html", clusters=clusters, by_cluster=by_cluster,
        counts=chain_counts([c.id for c in chains]),
        members=cluster_member_counts([c.id for c in clusters]),
        may_manage=can_manage_chains(current_user))


@bp.route("/clusters/<int:cluster_id>")
@login_required
def cluster_detail(cluster_id: int):
    cluster = get_cluster(cluster_id)
    chains = db.session.scalars(
        live_chains(cluster.id).options(selectinload(ValueChain.stages))).all()
    page = page_number()
    rows = db.session.execute(cluster_members(cluster.id).limit(MEMBERS_PER_PAGE + 1)
                              .offset((page - 1) * MEMBERS_PER_PAGE)).all()
    return render_template(
        "valuechains/cluster.html", cluster=cluster, chains=chains,
        counts=chain_counts([c.id for c in chains]), members=rows[:MEMBERS_PER_PAGE],
        page=page, has_next=len(rows) > MEMBERS_PER_PAGE,
        may_manage=can_manage_chains(current_user))


def _cluster_form(form, cluster=None, status=200):
    return render_template("valuechains/cluster_form.html", form=form, cluster=cluster), status


@bp.route("/clusters/new", methods=["GET", "POST"])
@login_required
def cluster_create():
    require_manager()
    form = ClusterForm()
    if not form.is_submitted():
        return _cluster_form(form)
    if not form.validate():
        return _cluster_form(form, status=INVALID)
    form_page(form, lambda: _cluster_form(form)[0])
    cluster = create_cluster(form.service_data(), actor=current_user)
    flash(_("Cluster %(name)s is toegevoegd.", name=cluster.name), "success")
    return redirect(url_for("valuechains.cluster_detail", cluster_id=cluster.id))


def _stored_cluster_form(cluster):
    return ClusterForm(data={"name": cluster.name, "description": cluster.description or "",
                             "version": str(cluster.version)})


@bp.route("/clusters/<int:cluster_id>/edit", methods=["GET", "POST"])
@login_required
def cluster_edit(cluster_id: int):
    require_manager()
    cluster = get_cluster(cluster_id)
    if request.method == "GET":
        return _cluster_form(_stored_cluster_form(cluster), cluster)
    form = ClusterForm()
    if not form.validate():
        return _cluster_form(form, cluster, INVALID)

    def render():
        keep_stored_version(form, cluster)
        return _cluster_form(form, cluster)[0]

    form_page(form, render, conflict_message=CONFLICT_MESSAGE,
              current=lambda: _stored_cluster_form(cluster))
    update_cluster(cluster, form.service_data(), actor=current_user,
                   expected_version=submitted_version(form))
    flash(_("De wijzigingen in %(name)s zijn opgeslagen.", name=cluster.name), "success")
    return redirect(url_for("valuechains.cluster_detail", cluster_id=cluster.id))


def _confirm_delete(form, record, kind: str, cancel_url: str, status=200, usage=None):
    return render_template("valuechains/delete.html", form=form, record=record, kind=kind,
                           cancel_url=cancel_url, usage=usage), status


@bp.route("/clusters/<int:cluster_id>/delete", methods=["GET", "POST"])
@login_required
def cluster_delete(cluster_id: int):
    require_manager()
    cluster = get_cluster(cluster_id)
    cancel = url_for("valuechains.cluster_detail", cluster_id=cluster.id)
    form = ConfirmForm(data={"version": str(cluster.version)})
    if not form.validate_on_submit():
        return _confirm_delete(form, cluster, "cluster", cancel)
    form_page(form, lambda: _confirm_delete(form, cluster, "cluster", cancel)[0],
              conflict_message=_l("Iemand anders heeft dit cluster intussen gewijzigd. Bekijk de "
                                  "huidige gegevens voordat u het verwijdert."))
    delete_cluster(cluster, actor=current_user, expected_version=form.version.data or None)
    flash(_("Cluster %(name)s is verwijderd. Een beheerder kan het herstellen.", name=cluster.name),
          "success")
    return redirect(url_for("valuechains.index"))


# --- Value chains --------------------------------------------------------------------------------

def render_chain(chain, *, stage_form=None, error=None, status=200):
    """The chain page: stages in order with the first roles there (the rest on the chain's role
    list), and the chain's links."""
    previews = stage_previews(chain)
    shown = [role for preview in previews.values() for role in preview.roles]
    page = paginate_links(page_number(), LINKS_PER_PAGE, value_chain_id=chain.id, by_name=True)
    may_manage = can_manage_chains(current_user)
    editable = editable_org_ids(current_user, [r.organisation for r in shown]
                                + [lk.supplier for lk in page.items]
                                + [lk.customer for lk in page.items])
    editable_links = {lk.id for lk in page.items
                      if lk.supplier_id in editable or lk.customer_id in editable}
    if may_manage and stage_form is None:
        stage_form = StageForm(formdata=None)
    return render_template(
        "valuechains/chain.html", chain=chain, previews=previews, page=page, editable=editable,
        editable_links=editable_links, may_manage=may_manage,
        may_work=not current_user.is_viewer, stage_form=stage_form, action_form=ConfirmForm(),
        error=error,
        page_url=lambda n: url_for("valuechains.chain_detail", chain_id=chain.id, page=n,
                                   _anchor="leveringsrelaties")), status


@bp.route("/<int:chain_id>")
@login_required
def chain_detail(chain_id: int):
    return render_chain(get_chain(chain_id))


@bp.route("/<int:chain_id>/roles")
@login_required
def chain_role_index(chain_id: int):
    """Every role in the chain, page by page: all stages, one stage (``?stage=<id>``) or the
    roles without a stage (``?stage=geen``)."""
    chain = get_chain(chain_id)
    wanted = request.args.get("stage", "")
    stage = next((s for s in chain.stages if str(s.id) == wanted), None)
    without_stage = wanted == "geen"
    page = paginate_roles(page_number(), ROLES_PER_PAGE, chain.id, stage.id if stage else None,
                          without_stage=without_stage)
    editable = editable_org_ids(current_user, [r.organisation for r in page.items])
    kept = {"stage": stage.id if stage else ("geen" if without_stage else None)}
    kept = {k: v for k, v in kept.items() if v}
    return render_template(
        "valuechains/chain_roles.html", chain=chain, page=page, stage=stage,
        without_stage=without_stage, editable=editable, may_work=not current_user.is_viewer,
        page_url=lambda n: url_for("valuechains.chain_role_index", chain_id=chain.id, **kept,
                                   page=n))


def _chain_form(form, chain=None, status=200):
    return render_template("valuechains/chain_form.html", form=form, chain=chain), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def chain_create():
    require_manager()
    form = ValueChainForm()
    form.set_clusters(db.session.scalars(live_clusters()).all())
    if not form.is_submitted():
        form.cluster_id.data = request.args.get("cluster_id", "")
        return _chain_form(form)
    if not form.validate():
        return _chain_form(form, status=INVALID)
    form_page(form, lambda: _chain_form(form)[0])
    chain = create_value_chain(form.service_data(with_stages=True), actor=current_user)
    flash(_("Waardeketen %(name)s is toegevoegd.", name=chain.name), "success")
    return redirect(url_for("valuechains.chain_detail", chain_id=chain.id))


def _stored_chain_form(chain):
    return ValueChainForm(data={"name": chain.name, "cluster_id": str(chain.cluster_id),
                                "description": chain.description or "",
                                "version": str(chain.version)})


@bp.route("/<int:chain_id>/edit", methods=["GET", "POST"])
@login_required
def chain_edit(chain_id: int):
    require_manager()
    chain = get_chain(chain_id)
    if request.method == "GET":
        form = _stored_chain_form(chain)
    else:
        form = ValueChainForm()
    form.set_clusters(db.session.scalars(live_clusters()).all())
    if request.method == "GET":
        return _chain_form(form, chain)
    if not form.validate():
        return _chain_form(form, chain, INVALID)

    def render():
        keep_stored_version(form, chain)
        return _chain_form(form, chain)[0]

    form_page(form, render, conflict_message=CONFLICT_MESSAGE,
              current=lambda: _stored_chain_form(chain))
    update_value_chain(chain, form.service_data(with_stages=False), actor=current_user,
                       expected_version=submitted_version(form))
    flash(_("De wijzigingen in %(name)s zijn opgeslagen.", name=chain.name), "success")
    return redirect(url_for("valuechains.chain_detail", chain_id=chain.id))


@bp.route("/<int:chain_id>/delete", methods=["GET", "POST"])
@login_required
def chain_delete(chain_id: int):
    require_manager()
    chain = get_chain(chain_id)
    cancel = url_for("valuechains.chain_detail", chain_id=chain.id)
    form = ConfirmForm(data={"version": str(chain.version)})
    if not form.validate_on_submit():
        return _confirm_delete(form, chain, "chain", cancel, usage=chain_usage(chain))
    form_page(form, lambda: _confirm_delete(form, chain, "chain", cancel,
                                            usage=chain_usage(chain))[0],
              conflict_message=_l("Iemand anders heeft deze waardeketen intussen gewijzigd. Bekijk "
                                  "de huidige gegevens voordat u haar verwijdert."))
    delete_value_chain(chain, actor=current_user, expected_version=form.version.data or None)
    flash(_("Waardeketen %(name)s is verwijderd. Een beheerder kan haar herstellen.",
            name=chain.name), "success")
    return redirect(url_for("valuechains.cluster_detail", cluster_id=chain.cluster_id))


# --- Stages -----------------------------------------------------------------------------------

@bp.route("/<int:chain_id>/stages", methods=["POST"])
@login_required
def stage_add(chain_id: int):
    require_manager()
    chain = get_chain(chain_id)
    form = StageForm()
    if not form.validate():
        return render_chain(chain, stage_form=form, status=INVALID)
    form_page(form, lambda: render_chain(chain, stage_form=form)[0])
    stage = add_stage(chain, form.name.data, actor=current_user)
    flash(_("Fase %(name)s is toegevoegd.", name=stage.name), "success")
    return redirect(url_for("valuechains.chain_detail", chain_id=chain.id, _anchor="fasen"))


@bp.route("/<int:chain_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@login_required
def stage_edit(chain_id: int, stage_id: int):
    require_manager()
    chain = get_chain(chain_id)
    stage = get_stage(chain, stage_id)
    form = StageForm(data={"name": stage.name}) if request.method == "GET" else StageForm()

    def render():  # after a refusal the rolled-back stage shows its stored name again
        return render_template("valuechains/stage_form.html", form=form, chain=chain, stage=stage)

    if request.method == "GET":
        return render()
    if not form.validate():
        return render(), INVALID
    form_page(form, render)
    rename_stage(stage, form.name.data, actor=current_user)
    flash(_("De fase heet nu %(name)s.", name=stage.name), "success")
    return redirect(url_for("valuechains.chain_detail", chain_id=chain.id, _anchor="fasen"))


def _stage_action(chain_id: int, stage_id: int, action, done: str):
    require_manager()
    chain = get_chain(chain_id)
    stage = get_stage(chain, stage_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    # The form's fields are all hidden, so a refusal's messages end up at form level.
    form_page(form, lambda: render_chain(chain, error=" ".join(map(str, form.form_errors)))[0])
    action(stage, form)
    flash(done, "success")
    return redirect(url_for("valuechains.chain_detail", chain_id=chain_id, _anchor="fasen"))


@bp.route("/<int:chain_id>/stages/<int:stage_id>/move", methods=["POST"])
@login_required
def stage_move(chain_id: int, stage_id: int):
    return _stage_action(
        chain_id, stage_id,
        lambda stage, form: move_stage(stage, actor=current_user,
                                       direction=form.direction.data or "?"),
        _("De volgorde van de fasen is aangepast."))


@bp.route("/<int:chain_id>/stages/<int:stage_id>/delete", methods=["POST"])
@login_required
def stage_delete(chain_id: int, stage_id: int):
    return _stage_action(chain_id, stage_id,
                         lambda stage, form: delete_stage(stage, actor=current_user),
                         _("De fase is verwijderd."))


from . import network_views  # noqa: E402,F401  (roles, supply links, cluster membership)
