"""Whether the criticality figures a page shows are current, for every page that shows them.

``criticality_figures()`` is available in every template: the notice
(``templates/valuechains/_figures_notice.html``) calls it, so a page that includes the notice
needs nothing from its view. It is read once per request (two small queries) and only by pages
that include the notice.
"""

from __future__ import annotations

from flask import g
from flask_login import current_user

from . import bp
from .criticality_services import can_run_recompute
from .recompute import FiguresState, figures_state


@bp.app_template_global("criticality_figures")
def criticality_figures() -> FiguresState:
    """How current the stored criticality is (:func:`.recompute.figures_state`), once a request."""
    if "criticality_figures" not in g:
        g.criticality_figures = figures_state()
    return g.criticality_figures


@bp.app_template_global("may_run_recompute")
def may_run_recompute() -> bool:
    """Whether the signed-in user may start a recompute (the notice's button)."""
    return can_run_recompute(current_user)
