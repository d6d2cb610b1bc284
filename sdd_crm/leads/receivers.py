"""How leads react to other features' changes (connected when the package is imported)."""

from __future__ import annotations

from ..organisations.merge import repoint_records
from ..signals import organisations_merged
from .models import Lead


@organisations_merged.connect
def move_leads(survivor, *, merged, result, **_kwargs) -> None:
    """The merged record's leads (deleted ones too) belong to the survivor."""
    repoint_records(Lead, survivor, merged, result, "leads")
