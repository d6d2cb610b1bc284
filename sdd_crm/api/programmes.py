"""/api/v1/programmes: programmes by ``code`` (e.g. ``scale``), their progress, and participations.

Everyone signed in reads programmes, progress and participations (viewers without the notes and
without contact moments). Admins create, change (PATCH with ``version``) and soft delete
programmes; admins, regional account managers and business developers manage participations
(``programmes/<code>/participations``), through the same services as the screens.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from ..extensions import db
from ..programmes.admin_services import create_programme, delete_programme, update_programme
from ..programmes.counting import Reason, count_programme
from ..programmes.models import Programme
from ..programmes.queries import get_programme_or_404, programme_list
from ..pagination import paginate
from . import bp
from .auth import api_user
from .errors import check_query_text, forbidden, json_object, page_args, read_version
from .organisations import list_response
from .serializers import OBJECT_LIST, TEXT, TEXT_LIST, _date, _timestamp, check_input

PROGRAMME_INPUT = {"code": TEXT, "name": TEXT, "funder": TEXT, "description": TEXT,
                   "start_date": TEXT, "end_date": TEXT, "municipalities": TEXT_LIST,
                   "targets": OBJECT_LIST}
PROGRAMME_READ_ONLY = {"created_at", "updated_at"}


def programme_to_dict(programme: Programme) -> dict[str, Any]:
    """One programme; ``municipalities`` and ``targets`` must be loaded (no N+1 in lists)."""
    return {
        "code": programme.code,
        "name": programme.name,
        "funder": programme.funder,
        "description": programme.description,
        "start_date": _date(programme.start_date),
        "end_date": _date(programme.end_date),
        "municipalities": sorted(m.code for m in programme.municipalities),
        "targets": [{"kind": t.kind, "value": t.value, "description": t.description}
                    for t in sorted(programme.targets, key=lambda t: t.id)],
        "version": programme.version,
        "created_at": _timestamp(programme.created_at),
        "updated_at": _timestamp(programme.updated_at),
    }


def _require_admin() -> None:
    if not api_user().is_admin:
        forbidden()


def _fresh(code: str):
    db.session.expire_all()
    return jsonify(programme_to_dict(get_programme_or_404(code)))


@bp.get("/programmes")
def list_programmes():
    check_query_text()
    page_no, per_page = page_args()
    page = paginate(programme_list(), page_no, per_page)
    return list_response(page, programme_to_dict, "api.list_programmes", ())


@bp.get("/programmes/<code>")
def get_programme_item(code: str):
    return jsonify(programme_to_dict(get_programme_or_404(code)))


@bp.post("/programmes")
def create_programme_item():
    _require_admin()
    data = check_input(json_object(), PROGRAMME_INPUT, PROGRAMME_READ_ONLY, with_version=False)
    programme = create_programme(data, actor=api_user())
    db.session.commit()
    response = _fresh(programme.code)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_programme_item", code=programme.code)
    return response


@bp.patch("/programmes/<code>")
def update_programme_item(code: str):
    _require_admin()
    programme = get_programme_or_404(code)
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = check_input(body, PROGRAMME_INPUT, PROGRAMME_READ_ONLY, with_version=True)
    update_programme(programme, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return _fresh(programme.code)


@bp.delete("/programmes/<code>")
def delete_programme_item(code: str):
    _require_admin()
    programme = get_programme_or_404(code)
    version = read_version(request.args.get("version"), required=False)
    delete_programme(programme, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204


@bp.get("/programmes/<code>/progress")
def get_programme_progress(code: str):
    """DESIGN 4.2 and 5: the target, what counts, why the rest does not, per municipality."""
    programme = get_programme_or_404(code)
    count = count_programme(programme)
    return jsonify({
        "code": programme.code,
        "name": programme.name,
        "target": count.target,
        "counted": count.counted,
        "unverified": count.unverified,
        "excluded": {r.value: count.excluded.get(r.value, 0) for r in Reason},
        "by_municipality": [{"code": m.code, "name": m.name,
                             "counted": count.by_municipality.get(m.code, 0)}
                            for m in programme.municipalities],
    })


from . import programme_participations  # noqa: E402,F401  (registers the participation routes)
