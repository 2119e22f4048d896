"""The lead lifecycle: stages and the one table of allowed transitions.

inquiry -> MQL -> SAL -> SQL -> opportunity -> won | lost, with the side states nurture (returned to
marketing) and disqualified. Only `leads.services.lifecycle.lead_stage_change` moves a lead between them.
"""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"


# The funnel order, used by reports and by "has reached at least" questions.
FUNNEL = (Stage.INQUIRY, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON)

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    # A direct inquiry (a demo request) may go straight to a rep who accepts it: inquiry -> SAL.
    Stage.INQUIRY: frozenset({Stage.MQL, Stage.SAL, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.MQL: frozenset({Stage.SAL, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.SAL: frozenset({Stage.SQL, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.SQL: frozenset({Stage.OPPORTUNITY, Stage.LOST, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.OPPORTUNITY: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset(),
    # Nurture hands a lead back to sales when it meets the definition again.
    Stage.NURTURE: frozenset({Stage.MQL, Stage.DISQUALIFIED}),
    Stage.DISQUALIFIED: frozenset({Stage.NURTURE}),
    Stage.LOST: frozenset({Stage.NURTURE}),
}

# Stages in which a lead is open work for sales.
SALES_OPEN = frozenset({Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})
TERMINAL = frozenset({Stage.WON})


def is_allowed(from_stage: str, to_stage: str) -> bool:
    return to_stage in ALLOWED_TRANSITIONS.get(from_stage, frozenset())


def allowed_targets(from_stage: str) -> list[str]:
    """Return the stages a lead may move to next, in funnel order then side states."""
    order = [s.value for s in Stage]
    return sorted(ALLOWED_TRANSITIONS.get(from_stage, frozenset()), key=order.index)
