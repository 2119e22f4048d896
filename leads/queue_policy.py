"""The one seam through which the rep's queue reads its policy (SLA hours, touches, rejection routes).

`active_policy()` reads the agreed Universal Lead Definition. Nothing else in the queue hard-codes these
values.
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
    RejectionReason("not_now", "Interested, but not buying now", Route.RETURN_TO_NURTURE),
    RejectionReason("no_budget", "No budget", Route.RETURN_TO_NURTURE),
    RejectionReason("bad_fit", "Not our kind of customer", Route.DISQUALIFY),
    RejectionReason("student_or_competitor", "Student or competitor", Route.DISQUALIFY),
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


# The ULD names the nurture route "nurture"; the queue's reject action calls it "return_to_nurture".
_ULD_ROUTES = {"nurture": Route.RETURN_TO_NURTURE}
# The ULD lists "no response" among its rejection reasons; the queue offers it as its own action, which
# refuses it before the minimum touches, so it is not offered as a plain reason a rep could pick instead.
NO_RESPONSE_CODE = "no_response"


# Built policies by agreed version id. An agreed version is frozen (only drafts are edited) and a new
# agreement is a new version, so a new id: no invalidation is needed across processes. Per process.
_POLICIES: dict[int, QueuePolicy] = {}


def active_policy() -> QueuePolicy:
    """Return the queue policy of the agreed Universal Lead Definition (defaults before one is agreed).

    The SLA hours, the follow-up cadence, the touches before "no response" and the rejection reasons come
    from the ULD; escalation, reclaim and digest timing are operational settings it does not hold.
    One small query finds the agreed version; the policy built from it is reused while it stays agreed.
    """
    from leads.models import ULDStatus, ULDVersion

    return policy_of_version(ULDVersion.objects.filter(status=ULDStatus.AGREED).values_list("pk", flat=True).first())


def policy_of_version(version_id: int | None) -> QueuePolicy:
    """Return the policy of the agreed version `version_id` (None: no version agreed, the defaults).

    For callers that read the agreed version's id in a statement of their own (the queue page does).
    """
    from leads.models import ULDVersion

    if version_id is None:
        return QueuePolicy()
    policy = _POLICIES.get(version_id)
    if policy is None:
        policy = _policy_of(ULDVersion.objects.get(pk=version_id))
        _POLICIES.clear()  # only the version in force is worth keeping
        _POLICIES[version_id] = policy
    return policy


def policy_cache_clear() -> None:
    """Forget built policies (for code that edits an agreed version behind the services' back, e.g. tests)."""
    _POLICIES.clear()


def _policy_of(version) -> QueuePolicy:
    reasons = tuple(
        RejectionReason(reason.code, reason.label, _ULD_ROUTES.get(reason.route, reason.route))
        for reason in version.rejection_reasons.all()
        if reason.code != NO_RESPONSE_CODE
    )
    cadence = tuple(int(days) for days in version.follow_up_cadence_days or ()) or QueuePolicy.follow_up_cadence_days
    return QueuePolicy(
        first_touch_business_hours=version.first_touch_business_hours,
        follow_up_cadence_days=cadence,
        min_touches_before_no_response=version.min_touches_before_no_response,
        rejection_reasons=reasons or DEFAULT_REJECTION_REASONS,
    )
