from flask_login import login_required

from . import bp


@bp.route("/users")
@login_required
def users():
    return ""
