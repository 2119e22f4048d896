"""Derive each lead's funnel facts from the raw tables: its stage log and its sales-touch activities.

The one definition of "reached", "velocity", "assigned" and "first touch". The rollup refresh stores what
this returns; the raw-path selectors (the baseline the rollups are checked and benchmarked against) use
it on the fly, so both paths agree by construction of the inputs, and the tests prove the sums agree.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from leads.lifecycle import FUNNEL, Stage
from leads.models import Activity, Lead, StageChange
from leads.models.activity import SALES_TOUCH_KINDS

RANK = {stage.value: rank for rank, stage in enumerate(FUNNEL)}
# The adjacent pairs whose velocity is measured, as (from, to, fact field).
VELOCITY_PAIRS = (
    (Stage.INQUIRY, Stage.MQL, "inquiry_mql_s"),
    (Stage.MQL, Stage.SAL, "mql_sal_s"),
    (Stage.SAL, Stage.SQL, "sal_sql_s"),
    (Stage.SQL, Stage.OPPORTUNITY, "sql_opportunity_s"),
    (Stage.OPPORTUNITY, Stage.WON, "opportunity_won_s"),
)


@dataclass
class Fact:
    lead_id: int
    created_at: dt.datetime
    source_channel: str
    campaign_id: int
    owner_id: int
    current_stage: str
    max_rank: int
    deal_amount: Decimal | None
    # The ULD version that last qualified the lead as an MQL (0: none).
    uld_version_id: int = 0
    mql_at: dt.datetime | None = None
    sal_at: dt.datetime | None = None
    sql_at: dt.datetime | None = None
    opportunity_at: dt.datetime | None = None
    won_at: dt.datetime | None = None
    inquiry_mql_s: int | None = None
    mql_sal_s: int | None = None
    sal_sql_s: int | None = None
    sql_opportunity_s: int | None = None
    opportunity_won_s: int | None = None
    assigned_at: dt.datetime | None = None
    first_touch_at: dt.datetime | None = None
    first_touch_s: int | None = None
    has_sales_touch: bool = False
    closed_at: dt.datetime | None = None
    is_won: bool = False
    entries: list[tuple[str, dt.datetime]] = field(default_factory=list, repr=False)


def facts_for_leads(lead_ids: Iterable[int], *, chunk_size: int = 2000) -> Iterator[Fact]:
    """Yield the funnel facts of the given leads (missing ids are skipped), reading in chunks."""
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), chunk_size):
        yield from _facts_chunk(ids[start : start + chunk_size])


def _facts_chunk(ids: list[int]) -> Iterator[Fact]:
    leads = Lead.objects.filter(pk__in=ids).values_list(
        "pk", "created_at", "source_channel", "campaign_id", "stage", "deal_amount", "qualified_uld_version_id"
    )
    log: dict[int, list[tuple[str, dt.datetime, int | None]]] = defaultdict(list)
    for lead_id, to_stage, changed_at, owner_id in (
        StageChange.objects.filter(lead_id__in=ids)
        .order_by("lead_id", "changed_at", "id")
        .values_list("lead_id", "to_stage", "changed_at", "owner_id")
    ):
        log[lead_id].append((to_stage, changed_at, owner_id))
    touches: dict[int, list[dt.datetime]] = defaultdict(list)
    for lead_id, occurred_at in Activity.objects.filter(lead_id__in=ids, kind__in=SALES_TOUCH_KINDS).values_list(
        "lead_id", "occurred_at"
    ):
        touches[lead_id].append(occurred_at)
    for lead_id, created_at, source, campaign_id, stage, amount, uld_version_id in leads:
        yield fact_from_log(
            uld_version_id=uld_version_id or 0,
            lead_id=lead_id,
            created_at=created_at,
            source_channel=source,
            campaign_id=campaign_id or 0,
            current_stage=stage,
            deal_amount=amount,
            log=log.get(lead_id, []),
            touches=touches.get(lead_id, []),
        )


def fact_from_log(
    *,
    lead_id: int,
    created_at: dt.datetime,
    source_channel: str,
    campaign_id: int,
    current_stage: str,
    deal_amount: Decimal | None,
    log: list[tuple[str, dt.datetime, int | None]],
    touches: list[dt.datetime],
    uld_version_id: int = 0,
) -> Fact:
    """Return one lead's facts from its log rows (to_stage, changed_at, owner_id) in time order."""
    fact = Fact(
        lead_id=lead_id,
        created_at=created_at,
        source_channel=source_channel,
        campaign_id=campaign_id,
        owner_id=0,
        current_stage=current_stage,
        max_rank=0,
        deal_amount=deal_amount,
        uld_version_id=uld_version_id,
    )
    first: dict[str, dt.datetime] = {}
    lost_at = None
    for to_stage, changed_at, owner_id in log:
        fact.entries.append((to_stage, changed_at))
        first.setdefault(to_stage, changed_at)
        fact.max_rank = max(fact.max_rank, RANK.get(to_stage, 0))
        fact.owner_id = owner_id or 0
        if owner_id and fact.assigned_at is None:
            fact.assigned_at = changed_at
        if to_stage == Stage.LOST:
            lost_at = changed_at
    for stage in (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON):
        setattr(fact, f"{stage.value}_at", first.get(stage.value))
    for from_stage, to_stage, name in VELOCITY_PAIRS:
        setattr(fact, name, _pair_seconds(fact, from_stage, to_stage))
    if fact.won_at is not None:
        fact.closed_at, fact.is_won = fact.won_at, True
    elif lost_at is not None:
        fact.closed_at = lost_at
    fact.has_sales_touch = bool(touches)
    if fact.assigned_at is not None:
        after = [t for t in touches if t >= fact.assigned_at]
        if after:
            fact.first_touch_at = min(after)
            fact.first_touch_s = int((fact.first_touch_at - fact.assigned_at).total_seconds())
    return fact


def _pair_seconds(fact: Fact, from_stage: str, to_stage: str) -> int | None:
    """Seconds from the latest entry into `from_stage` before the first entry into `to_stage`.

    The latest, not the first: a lead that went to nurture and came back is measured from its return.
    A lead created at `from_stage` entered it at creation (its first log row).
    """
    to_at = next((at for stage, at in fact.entries if stage == to_stage), None)
    if to_at is None:
        return None
    from_at = None
    for stage, at in fact.entries:
        if at > to_at:
            break
        if stage == from_stage:
            from_at = at
    if from_at is None:
        return None
    return int((to_at - from_at).total_seconds())
