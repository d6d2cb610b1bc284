"""Reference data: municipalities, places and SBI codes (DESIGN 2)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Municipality(db.Model):
    """A gemeente, keyed by its CBS code (``GM0505``)."""

    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    drechtsteden_member: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.name}>"


class Place(db.Model):
    """A woonplaats and the municipality it lies in (Heerjansdam → Zwijndrecht)."""

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(
        sa.ForeignKey("municipality.code"), index=True
    )


class SbiCode(db.Model):
    """An SBI activity code; SBI 2008 and SBI 2025 live side by side (the register switched in 2025)."""

    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10))
    version: Mapped[str] = mapped_column(sa.String(4), default="2008")
    label_nl: Mapped[str] = mapped_column(sa.String(255))
    label_en: Mapped[str | None] = mapped_column(sa.String(255))
    focus: Mapped[bool] = mapped_column(default=False)
    suggested_cluster: Mapped[str | None] = mapped_column(sa.String(100))
