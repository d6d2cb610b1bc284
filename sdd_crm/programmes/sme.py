"""The SME (mkb) rule exactly as DESIGN 4.1 states it, for counting towards programme targets.

An organisation is an SME when it is a ``company``, has fewer than 250 employees, and has an annual
turnover of at most EUR 50 million OR a balance-sheet total of at most EUR 43 million
(Commission Recommendation 2003/361/EC, art. 2(1)). With employees known and below 250 but both
financial figures unknown it counts as an SME whose figures are *unverified*. Unknown employees:
not counted (*data missing*). An organisation whose parent organisation (group) is not an SME is
not an SME.

Choices where DESIGN is silent, made conservatively because the count is reported to the fund:
- one financial figure known and over its ceiling, the other unknown: not an SME (the alternative
  ceiling cannot be shown to hold);
- a parent that is not a company (e.g. a public body) makes its subsidiaries not SMEs (under the
  Recommendation, art. 3(4), an enterprise controlled by public bodies is not an SME);
- a parent whose own SME status is unverified or whose employees are unknown does not disqualify,
  but makes the subsidiary *unverified*.
"""

from __future__ import annotations

import decimal
import enum
from dataclasses import dataclass

from ..organisations.size import SME_MAX_BALANCE, SME_MAX_EMPLOYEES, SME_MAX_TURNOVER

# The ceilings (fewer employees than; turnover or balance-sheet total at most) are the EU's,
# written once in organisations/size.py.
MAX_EMPLOYEES = SME_MAX_EMPLOYEES
MAX_TURNOVER = SME_MAX_TURNOVER
MAX_BALANCE = SME_MAX_BALANCE


class SmeStatus(enum.StrEnum):
    SME = "sme"
    SME_UNVERIFIED = "sme_unverified"
    NOT_COMPANY = "not_company"
    EMPLOYEES_UNKNOWN = "employees_unknown"
    NOT_SME = "not_sme"
    GROUP_NOT_SME = "group_not_sme"

    @property
    def counts(self) -> bool:
        return self in (SmeStatus.SME, SmeStatus.SME_UNVERIFIED)


@dataclass(frozen=True)
class SizeFacts:
    """What the rule needs to know of one organisation."""

    id: int
    org_type: str
    employees: int | None
    turnover: decimal.Decimal | None
    balance: decimal.Decimal | None
    parent_id: int | None = None


def own_status(facts: SizeFacts) -> SmeStatus:
    """The organisation's own SME status, without looking at its group."""
    if facts.org_type != "company":
        return SmeStatus.NOT_COMPANY
    if facts.employees is None:
        return SmeStatus.EMPLOYEES_UNKNOWN
    if facts.employees >= MAX_EMPLOYEES:
        return SmeStatus.NOT_SME
    if facts.turnover is None and facts.balance is None:
        return SmeStatus.SME_UNVERIFIED
    if (facts.turnover is not None and facts.turnover <= MAX_TURNOVER) or (
        facts.balance is not None and facts.balance <= MAX_BALANCE
    ):
        return SmeStatus.SME
    return SmeStatus.NOT_SME


def sme_status(facts: SizeFacts, lookup) -> SmeStatus:
    """SME status including the group test; ``lookup(id)`` returns a parent's SizeFacts or None."""
    status = own_status(facts)
    if not status.counts:
        return status
    seen = {facts.id}
    parent_id = facts.parent_id
    unverified = status == SmeStatus.SME_UNVERIFIED
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = lookup(parent_id)
        if parent is None:
            break
        parent_status = own_status(parent)
        if parent_status in (SmeStatus.NOT_SME, SmeStatus.NOT_COMPANY):
            return SmeStatus.GROUP_NOT_SME
        if parent_status in (SmeStatus.SME_UNVERIFIED, SmeStatus.EMPLOYEES_UNKNOWN):
            unverified = True
        parent_id = parent.parent_id
    return SmeStatus.SME_UNVERIFIED if unverified else SmeStatus.SME
