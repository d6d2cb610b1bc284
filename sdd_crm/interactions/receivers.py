"""How interactions react to other features' changes (connected when the package is imported)."""

from __future__ import annotations

from ..organisations.merge import repoint_records
from ..signals import organisations_merged
from .models import Interaction, Task
from .services import refresh_last_contact


@organisations_merged.connect
def move_interactions(survivor, *, merged, result, **_kwargs) -> None:
    """The merged record's contact moments and tasks (deleted ones too) belong to the survivor,
    whose date of last contact is then the latest of both."""
    repoint_records(Interaction, survivor, merged, result, "interactions")
    repoint_records(Task, survivor, merged, result, "tasks")
    refresh_last_contact(survivor.id, merged.id)
