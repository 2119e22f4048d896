"""Rows for bench/generate.py: seeded lead specs in chunks, activities, and their COPY text."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass

from bench import datagen

WINDOW_DAYS = 365
BENCH_SOURCE = "bench"
# (campaign kind, the source channel of its leads, base cost)
CAMPAIGN_KINDS = [
    ("trade_show", "event", 30000), ("webinar", "inbound", 4000), ("paid", "inbound", 12000),
    ("content", "inbound", 6000), ("outbound", "outbound", 8000), ("referral", "referral", 2000),
]  # fmt: skip
CHANNELS_WITHOUT_CAMPAIGN = [("inbound", 55), ("outbound", 15), ("referral", 10), ("partner", 12), ("event", 8)]
OPEN_SALES = frozenset({"sal", "sql", "opportunity"})
BUDGETS = [None] * 12 + ["5000.00", "10000.00", "25000.00", "50000.00", "100000.00", "250000.00"]

LEAD_COLUMNS = (
    "id, first_name, last_name, email, phone, title, company_name, website, company_domain, employees, "
    "size_band, industry, country, region, budget, authority, need, timeframe, source_channel, campaign_id, "
    "owner_id, stage, stage_entered_at, score, grade, created_at, updated_at, last_touch_at, "
    "next_follow_up_at, sales_touches, nurture_touches, extra"
)
STAGE_COLUMNS = "lead_id, from_stage, to_stage, changed_at, changed_by_id, owner_id, reason"
ACTIVITY_COLUMNS = "id, lead_id, kind, occurred_at, recorded_by_id, source, payload, created_at"


@dataclass(slots=True)
class LeadSpec:
    """One generated lead: its fields, the stages it passed through and when, and its activity stats."""

    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str
    title: str
    authority: str
    company: object
    budget: str | None
    need: str
    timeframe: str
    channel: str
    campaign_id: int | None
    owner_id: int | None
    path: list[str]
    times: list[int]
    grade: str
    score: int
    last_touch: int | None = None
    sales_touches: int = 0
    nurture_touches: int = 0
    follow_up: int | None = None


class Generator:
    """Seeded lead and activity generation in chunks; knows nothing about the database."""

    def __init__(self, *, leads: int, activities: int, seed: int, reps: list[int], campaigns: list[tuple]) -> None:
        self.dg = datagen
        self.n = leads
        self.m = activities
        self.rng = random.Random(seed)
        # About fifty leads a company (a few big accounts get many more: companies are drawn skewed).
        self.pools = datagen.build_pools(random.Random(seed + 1), companies=min(20_000, max(200, leads // 50)))
        self.reps = reps
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = (now - dt.timedelta(days=WINDOW_DAYS)).replace(hour=0, minute=0, second=0)
        self.end = int((now - start).total_seconds())
        self.clock = datagen.Clock(start, WINDOW_DAYS + 30)  # follow-ups run two weeks ahead
        # Campaigns a lead created on day d may come from: those running or ended in the last 30 days.
        self.campaigns_by_day: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for campaign_id, first_day, last_day, kind in campaigns:
            for day in range(max(0, first_day), min(WINDOW_DAYS + 1, last_day + 31)):
                self.campaigns_by_day[day].append((campaign_id, kind))
        self.channel_of_kind = {kind: channel for kind, channel, _ in CAMPAIGN_KINDS}
        self.channels = [c for c, _ in CHANNELS_WITHOUT_CAMPAIGN]
        self.channel_cum = datagen._cum([w for _, w in CHANNELS_WITHOUT_CAMPAIGN])

    def chunk(self, *, index: int, count: int, first_id: int, first_activity_id: int):
        """Return (leads, activities) for leads number index..index+count, activities as tuples.

        The chunk's share of the M activities is exact (so the total is exactly M); within the chunk
        a Pareto weight per lead makes a few leads very active and most quiet, owned leads more so.
        """
        dg, rng, pools, end = self.dg, self.rng, self.pools, self.end
        rand = rng.random
        quota = self.m * (index + count) // self.n - self.m * index // self.n
        span = end - 3600
        specs: list[LeadSpec] = []
        first_names, last_names, companies = pools.first_names, pools.last_names, pools.companies
        n_first, n_last, n_comp = len(first_names), len(last_names), len(companies)
        for k in range(count):
            i = index + k
            lead_id = first_id + k
            created = int(span * (i + rand()) / self.n)
            first = first_names[int(rand() * n_first)]
            last = last_names[int(rand() * n_last)]
            company = companies[int(n_comp * rand() ** 2)]
            roll = rand()
            if roll < 0.03:
                email = None
            else:
                # The lead id in the address keeps e-mails unique across runs without a lookup; the name
                # pools are ASCII letters only, so lower() is the whole normalisation.
                if roll < 0.6:
                    local = f"{first}.{last}"
                elif roll < 0.85:
                    local = f"{first[0]}{last}"
                else:
                    local = f"{first}_{last}"
                email = f"{local.lower()}{lead_id}@{company.domain}"
            phone = ""
            if email is None or rand() < 0.4:
                phone = f"+1 555 {int(rand() * 900) + 100} {int(rand() * 9000) + 1000}"
            title, authority = pools.titles[dg.pick(pools.title_cum, rand())]
            path = dg.stage_walk(pools, rng)
            times = dg.move_times(created, len(path) - 1, end, rng)
            owner_id = None
            if dg.OWNED_FROM in path and self.reps:
                owner_id = self.reps[int(rand() * len(self.reps))]
            final = path[-1]
            grade = dg.GRADES[dg.pick(pools.grade_cum[final], rand())]
            low, high = dg.SCORE_BANDS[grade]
            campaign_id, channel = None, None
            options = self.campaigns_by_day.get(created // dg.DAY)
            if options and rand() < 0.55:
                campaign_id, kind = options[int(rand() * len(options))]
                channel = self.channel_of_kind[kind]
            if channel is None:
                channel = self.channels[dg.pick(self.channel_cum, rand())]
            specs.append(
                LeadSpec(
                    id=lead_id,
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=phone,
                    title=title,
                    authority=authority,
                    company=company,
                    budget=BUDGETS[int(rand() * len(BUDGETS))] if final != "inquiry" else None,
                    need=dg.NEEDS[int(rand() * len(dg.NEEDS))],
                    timeframe=dg.TIMEFRAMES[dg.pick(pools.timeframe_cum, rand())][0],
                    channel=channel,
                    campaign_id=campaign_id,
                    owner_id=owner_id,
                    path=path,
                    times=times,
                    grade=grade,
                    score=low + int(rand() * (high - low + 1)),
                    follow_up=(end + int((rand() * 17 - 3) * dg.DAY))
                    if final in ("sal", "sql", "opportunity")
                    else None,
                )
            )
        activities = self._activities(specs, quota, first_activity_id)
        return specs, activities

    def _activities(self, specs: list[LeadSpec], quota: int, first_id: int) -> list[tuple]:
        dg, rng, pools, end = self.dg, self.rng, self.pools, self.end
        rand = rng.random
        # Capped: an uncapped Pareto(1.3) once gave one lead two thirds of its chunk (67k activities).
        weights = [min(rng.paretovariate(1.3), 100.0) * (3.0 if s.owner_id else 1.0) for s in specs]
        total = sum(weights)
        counts = [int(quota * w / total) for w in weights]
        for j in rng.choices(range(len(specs)), weights=weights, k=quota - sum(counts)):
            counts[j] += 1
        rows: list[tuple] = []
        append = rows.append
        activity_id = first_id
        marketing_cum, marketing_kinds = pools.marketing_cum, dg.MARKETING_KIND_LIST
        owned_cum, owned_kinds = pools.owned_cum, pools.owned_kinds
        by_owner, touches, nurture = dg.BY_OWNER_KINDS, dg.SALES_TOUCH_SET, "nurture_email"
        for spec, count in zip(specs, counts, strict=True):
            if not count:
                continue
            created = spec.times[0]
            room = max(60, end - created)
            owner = spec.owner_id
            cum, kinds = (owned_cum, owned_kinds) if owner else (marketing_cum, marketing_kinds)
            top = cum[-1]
            last_touch = None
            n_sales = n_nurture = 0
            for _ in range(count):
                kind = kinds[dg.bisect.bisect(cum, rand() * top)]
                at = min(end, created + int(room * rand() ** 2))
                by = None
                if kind in by_owner:
                    by = owner
                    if kind in touches:
                        n_sales += 1
                        if last_touch is None or at > last_touch:
                            last_touch = at
                elif kind == nurture:
                    n_nurture += 1
                append((activity_id, spec.id, kind, at, by))
                activity_id += 1
            spec.last_touch = last_touch
            spec.sales_touches = n_sales
            spec.nurture_touches = n_nurture
        return rows


def lead_lines(specs: list[LeadSpec], clock) -> str:
    """Return COPY text rows for leads (our pools hold no tab, newline or backslash, so no escaping)."""
    text = clock.text
    out = []
    for s in specs:
        c = s.company
        times = s.times
        changed = times[-1]
        touch = s.last_touch
        updated = max(changed, touch) if touch is not None else changed
        out.append(
            "\t".join(
                (
                    str(s.id),
                    s.first_name,
                    s.last_name,
                    s.email or r"\N",
                    s.phone,
                    s.title,
                    c.name,
                    f"https://www.{c.domain}",
                    c.domain,
                    str(c.employees),
                    c.size_band,
                    c.industry,
                    c.country,
                    c.region,
                    s.budget or r"\N",
                    s.authority,
                    s.need,
                    s.timeframe,
                    s.channel,
                    str(s.campaign_id) if s.campaign_id else r"\N",
                    str(s.owner_id) if s.owner_id else r"\N",
                    s.path[-1],
                    text(changed),
                    str(s.score),
                    s.grade,
                    text(times[0]),
                    text(updated),
                    text(touch) if touch is not None else r"\N",
                    text(s.follow_up) if s.follow_up is not None else r"\N",
                    str(s.sales_touches),
                    str(s.nurture_touches),
                    "{}",
                )
            )  # fmt: skip
        )
    out.append("")
    return "\n".join(out)


def stage_lines(specs: list[LeadSpec], clock, owned_from: str) -> str:
    """Return COPY text rows for every stage each lead passed through, from "" at creation."""
    text = clock.text
    out = []
    for s in specs:
        owner = r"\N"
        previous = ""
        lead_id = str(s.id)
        for stage, at in zip(s.path, s.times, strict=True):
            by = r"\N"
            if stage == owned_from and s.owner_id:
                owner = str(s.owner_id)
            if owner != r"\N" and previous:
                by = owner
            out.append(f"{lead_id}\t{previous}\t{stage}\t{text(at)}\t{by}\t{owner}\t")
            previous = stage
    out.append("")
    return "\n".join(out)


def activity_lines(rows: list[tuple], clock, payloads: dict[str, list[str]], rng: random.Random) -> str:
    text = clock.text
    rand = rng.random
    out = []
    for activity_id, lead_id, kind, at, by in rows:
        choices = payloads[kind]
        stamp = text(at)
        out.append(
            f"{activity_id}\t{lead_id}\t{kind}\t{stamp}\t{by if by else chr(92) + 'N'}\t{BENCH_SOURCE}\t"
            f"{choices[int(rand() * len(choices))]}\t{stamp}"
        )
    out.append("")
    return "\n".join(out)
