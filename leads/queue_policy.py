"""The one seam through which the rep's queue reads its policy (SLA hours, touches, rejection routes).

Today `active_policy()` returns defaults; at integration it reads the signed Universal Lead Definition.
Nothing else in the queue hard-codes these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Route:
    """Where a rejected lead goes."""

    RETURN_TO_NURTURE = "return_to_nurture"
    DISQUALIFY = "disqualify"
    WRONG_CONTACT = "wrong_contact"
    DUPLICATE = "duplicate"

    ALL = frozenset({RETURN_TO_NURTURE, DISQUALIFY, WRONG_CONTACT, DUPLICATE})


@dataclass(frozen=True)
class RejectionReason:
    code: str
    label: str
    route: str

    def __post_init__(self) -> None:
        if self.route not in Route.ALL:
            raise ValueError(f"Rejection reason {self.code!r} has an unknown route {self.route!r}.")


DEFAULT_REJECTION_REASONS = (
    RejectionReason("not_ready", "Not ready to buy yet", Route.RETURN_TO_NURTURE),
    RejectionReason("no_budget", "No budget this year", Route.RETURN_TO_NURTURE),
    RejectionReason("not_a_fit", "Not a fit for our product", Route.DISQUALIFY),
    RejectionReason("competitor", "Competitor or student", Route.DISQUALIFY),
    RejectionReason("wrong_contact", "Wrong person at the company", Route.WRONG_CONTACT),
    RejectionReason("duplicate", "Duplicate of another lead", Route.DUPLICATE),
)


@dataclass(frozen=True)
class QueuePolicy:
    # First touch due within this many business hours of assignment (team working hours and time zone).
    first_touch_business_hours: float = 4
    # Days from one touch to the next follow-up: the n-th touch schedules cadence[n-1] (the last repeats).
    follow_up_cadence_days: tuple[int, ...] = (1, 2, 2, 3, 4, 5, 7, 7, 10, 14)
    # "No response" is refused until the rep has made this many sales touches.
    min_touches_before_no_response: int = 8
    # Hours after the first-touch deadline with no touch before the rep's manager is told.
    escalate_after_hours: float = 0
    # Hours after the first-touch deadline with no touch before the lead is taken back and reassigned.
    reclaim_after_hours: float = 24
    # Local hour (the rep's team time zone) from which the daily digest is sent.
    digest_local_hour: int = 7
    rejection_reasons: tuple[RejectionReason, ...] = field(default=DEFAULT_REJECTION_REASONS)

    def rejection_reason(self, code: str) -> RejectionReason | None:
        return next((r for r in self.rejection_reasons if r.code == code), None)

    def cadence_days_after(self, touches: int) -> int:
        """Return the days from the `touches`-th touch to the next follow-up."""
        cadence = self.follow_up_cadence_days
        return cadence[min(max(touches, 1), len(cadence)) - 1]


def active_policy() -> QueuePolicy:
    """Return the queue policy in force (defaults until the ULD supplies it)."""
    return QueuePolicy()
