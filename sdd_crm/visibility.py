"""Who sees which interaction, task and lead (DESIGN 4.4): the rules, gathered for the web layer.

The rules live with their features — ``interactions/visibility.py`` (interactions and tasks) and
``leads/visibility.py`` (leads) — and the features import them from there. This module only
re-exports them for the views and the API modules that still import them from here; it is not
ground floor (it stands on interactions and leads), and nothing below the web layer imports it.
"""

from __future__ import annotations

from .interactions.visibility import (  # noqa: F401
    can_see_interaction,
    can_see_interactions,
    interaction_visible,
    task_visible,
)
from .leads.visibility import (  # noqa: F401
    can_move_lead,
    can_see_lead,
    is_receiver,
    lead_receivers_condition,
    lead_visible,
)
