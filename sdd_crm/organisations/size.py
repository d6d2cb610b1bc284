"""The EU size classes of an enterprise: the one place their thresholds are written.

Commission Recommendation 2003/361/EC, art. 2: a headcount below the class's ceiling, and an
annual turnover OR a balance-sheet total at most the class's ceiling. An SME (mkb) is an
enterprise of the medium class or below (DESIGN 4.1); ``programmes.sme`` applies the full SME
rule (unverified figures, groups) for the programme counts.
"""

from __future__ import annotations

import decimal

from .models import SizeClass

SME_MAX_EMPLOYEES = 250  # fewer than
SME_MAX_TURNOVER = decimal.Decimal(50_000_000)  # at most, in euros
SME_MAX_BALANCE = decimal.Decimal(43_000_000)  # at most, in euros

# (class, fewer employees than, turnover at most, balance-sheet total at most), smallest first.
SIZE_LIMITS = (
    (SizeClass.MICRO, 10, decimal.Decimal(2_000_000), decimal.Decimal(2_000_000)),
    (SizeClass.SMALL, 50, decimal.Decimal(10_000_000), decimal.Decimal(10_000_000)),
    (SizeClass.MEDIUM, SME_MAX_EMPLOYEES, SME_MAX_TURNOVER, SME_MAX_BALANCE),
)


def size_class(employees: int | None, turnover, balance) -> str:
    """EU size class (Recommendation 2003/361/EC, art. 2): headcount plus turnover OR balance.

    With unknown financial figures the headcount decides (shown as unverified elsewhere).
    """
    if employees is None:
        return SizeClass.UNKNOWN
    for cls, max_staff, max_turnover, max_balance in SIZE_LIMITS:
        if employees < max_staff:
            if turnover is None and balance is None:
                return cls
            if (turnover is not None and turnover <= max_turnover) or (
                balance is not None and balance <= max_balance
            ):
                return cls
    return SizeClass.LARGE
