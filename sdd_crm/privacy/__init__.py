"""GDPR duties (issue 11 point 7; DESIGN 2, Contact): access to everything held about a contact
person (art. 15), erasure everywhere (art. 17), retention (art. 5(1)(e)) and the register of
processing activities (art. 30). Lawful basis, source and objection live on the contact itself
(``sdd_crm.contacts``).

* :mod:`.person` — what identifies a person in stored text, and how to take it out;
* :mod:`.files` — the same for kept files (imports, reports, exports);
* :mod:`.access` — everything held about a person; :mod:`.erasure` — anonymise them;
* :mod:`.retention` and :mod:`.jobs` — contacts without activity, for an admin to confirm;
* :mod:`.register` — the processing register; :mod:`.views` — the screens.
"""

from flask import Blueprint

bp = Blueprint("privacy", __name__)

from . import views  # noqa: F401
