"""/api/v1/programmes: programmes by ``code`` (e.g. ``scale``), their progress, and participations.

Everyone signed in reads programmes, progress and participations (viewers without the notes and
without contact moments). Admins create, change (PATCH with ``version``) and soft delete
programmes; admins, regional account managers and business developers manage participations
(``programmes/<code>/participations``), through the same services as the screens.
"""

from __future__ import annotations

from flask import Response, url_for

from ..programmes.admin_services import (MAX_CODE, create_programme, delete_programme,
                                          update_programme)
from ..programmes.tally import tally
from ..programmes.queries import get_programme_or_404, programme_list
from . import bp, errors
from .auth import admins_only, api_user
from .openapi import LOCATION
from .schemas.base import PageArgs, VersionArgs, page_of
from .schemas.programmes import (PROGRAMME, PROGRAMME_CREATE, PROGRAMME_LIST, PROGRAMME_PATCH,
                                 PROGRAMME_PROGRESS, Progress)
from .state import refused_as_conflict

TAGS = ["programmes"]
# A programme's URL by its code (e.g. ``scale``): the converter's bounds document the parameter.
PROGRAMME_URL = f"/programmes/<string(maxlength={MAX_CODE}):code>"




@bp.get("/programmes", tags=TAGS)
@bp.doc(operationId="listProgrammes", summary="Programmes (not deleted), by name.")
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, PROGRAMME_LIST, description="One page.")
def list_programmes(**args):
    return page_of(programme_list(), args, "api.list_programmes")


@bp.get(PROGRAMME_URL, tags=TAGS)
@bp.doc(operationId="getProgramme", summary="One programme, by its code (e.g. `scale`).")
@bp.response(200, PROGRAMME, description="The programme.")
def get_programme_item(code: str):
    return get_programme_or_404(code)


@bp.post("/programmes", tags=TAGS)
@bp.doc(operationId="createProgramme",
        summary="Create a programme with its region and targets (admins).")
@errors(403, 409)
@admins_only
@bp.arguments(PROGRAMME_CREATE)
@bp.response(201, PROGRAMME, description="Created.", headers=LOCATION)
def create_programme_item(data):
    programme = create_programme(data, actor=api_user())
    return programme, 201, {"Location": url_for("api.get_programme_item", code=programme.code)}


@bp.patch(PROGRAMME_URL, tags=TAGS)
@bp.doc(operationId="updateProgramme",
        summary="Change the fields sent (admins); `version` is required, the code cannot change.")
@errors(403, 409, 428)
@admins_only
@bp.arguments(PROGRAMME_PATCH)
@bp.response(200, PROGRAMME, description="The changed programme.")
def update_programme_item(data, code: str):
    programme = get_programme_or_404(code)
    version = data.pop("version")
    # A new start_date may fall after the stored end_date: refused on end_date, also when the
    # request left it out.
    with refused_as_conflict("end_date"):
        update_programme(programme, data, actor=api_user(), expected_version=version,
                         partial=True)
    return programme


@bp.delete(PROGRAMME_URL, tags=TAGS)
@bp.doc(operationId="deleteProgramme",
        summary="Soft delete (admins); an admin can restore it in the screens.")
@errors(403, 409, 422)
@admins_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_programme_item(args, code: str):
    programme = get_programme_or_404(code)
    delete_programme(programme, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)


@bp.get(f"{PROGRAMME_URL}/progress", tags=TAGS)
@bp.doc(operationId="getProgrammeProgress",
        summary="Progress against the target (DESIGN 4.2): counted, unverified, excluded per "
                "reason (all reasons, zeros included) and the count per municipality of the "
                "region.")
@bp.response(200, PROGRAMME_PROGRESS, description="The count.")
def get_programme_progress(code: str):
    """DESIGN 4.2 and 5: the target, what counts, why the rest does not, per municipality."""
    programme = get_programme_or_404(code)
    # Kept current by programmes/tally.py: the count, not the pipeline or the days.
    kept = tally(programme, kinds=("counted", "unverified", "excluded", "municipality"))
    return Progress(programme, kept.count)


from . import programme_participations  # noqa: E402,F401  (registers the participation routes)
