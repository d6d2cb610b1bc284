"""Settings that administrators change at run time (e.g. the criticality weights).

A key → JSON value table that any feature may keep its settings in (the admin screens edit
them through the feature's own services); on the ground floor, so no feature imports another
to read its settings.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .db import AuditedMixin, TimestampMixin, VersionedMixin
from .extensions import db


class Setting(AuditedMixin, VersionedMixin, TimestampMixin, db.Model):
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(sa.JSON, default=dict)
