"""Each user's notification preferences: in the app, an e-mail per notification, a daily digest.

Kept on the user (``notify_in_app``, ``notify_email``, ``notify_digest``; set on the account
page) and read by :func:`sdd_crm.notifications.services.notify` for all receivers in one query:

* in the app off: the notification is still stored — the e-mail and the digest are made from it —
  but as already read, so it raises no unread badge;
* e-mail off: no e-mail for it (the e-mail job checks again when it runs);
* everything off: nothing is stored at all.

E-mail and the digest are only sent when mail is configured (:mod:`sdd_crm.mail`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..auth.models import User
from ..extensions import db


@dataclass(frozen=True)
class Channels:
    """How one receiver wants to be told (and in which language)."""

    locale: str
    in_app: bool = True
    email: bool = True
    digest: bool = False

    @property
    def stored(self) -> bool:
        """Any channel at all: the notification row is kept."""
        return self.in_app or self.email or self.digest


def channels_for(user_ids) -> dict[int, Channels]:
    """Receiver id → :class:`Channels`, in one query; unknown ids are left out."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(User.id, User.locale, User.notify_in_app, User.notify_email, User.notify_digest)
        .where(User.id.in_(ids)))
    return {uid: Channels(locale or "nl", bool(in_app), bool(email), bool(digest))
            for uid, locale, in_app, email, digest in rows}


def set_preferences(user: User, *, in_app: bool, email: bool, digest: bool) -> User:
    """Store the user's own choice (audited as a change of the user)."""
    user.notify_in_app = bool(in_app)
    user.notify_email = bool(email)
    user.notify_digest = bool(digest)
    db.session.flush()
    return user
