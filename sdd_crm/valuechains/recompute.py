"""Keeping criticality current: schedule a recompute after the supply network changes.

Services that change roles, supply links, employees or chains call :func:`schedule_recompute`;
nobody has to remember to press a button.
"""

from __future__ import annotations


def schedule_recompute(*, reason: str = "") -> None:
    """Queue one criticality recompute after the current transaction commits (debounced)."""
    # Implemented by the criticality engine work (issue 4).
    return None
