"""How contacts react to other features' changes (connected when the package is imported)."""

from __future__ import annotations

from ..organisations.merge import repoint_records
from ..signals import organisations_merged
from .models import Contact


@organisations_merged.connect
def move_contacts(survivor, *, merged, result, **_kwargs) -> None:
    """The merged record's contacts (deleted ones too) belong to the survivor."""
    repoint_records(Contact, survivor, merged, result, "contacts")
