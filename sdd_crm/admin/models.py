"""Application settings that administrators change at run time (e.g. criticality weights)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import AuditedMixin, TimestampMixin, VersionedMixin
from ..extensions import db


class Setting(AuditedMixin, VersionedMixin, TimestampMixin, db.Model):
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(sa.JSON, default=dict)
