"""Generate N leads and M activities fast, with full stage histories, for benchmarks and load tests.

    python bench/generate.py --leads 1000000 --activities 10000000 [--reps 20] [--seed 0] [--truncate]

Uses the Django settings (DATABASE_URL). On PostgreSQL it streams rows with COPY in chunks of leads, so
memory stays flat whatever N is: a second thread runs the COPY of chunk k while the main thread builds
chunk k+1 (psycopg2 releases the GIL while it talks to the server), which keeps both cores busy.

COPY bypasses the model guard (`Lead.save`/`bulk_create` refuse stage writes outside the lifecycle
service) on purpose: going through the ORM would cost an hour for 1M leads. The guard exists so the
stage log stays complete, so this script writes one StageChange row for every stage each lead passed
through (from "" to inquiry at creation, then every move, at increasing times), and the invariant
`leads.selectors.stage_log_mismatches()` holds on what it writes.

Default is to append (new ids, e-mails and timestamps after what is there); `--truncate` first empties
leads, their activities and stage log (and, by CASCADE, rows of other apps that point at leads).
On another database (SQLite) it falls back to the ORM through the lifecycle service for up to
`FALLBACK_MAX_LEADS` leads, so tests can exercise the same distributions, and refuses more.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FALLBACK_MAX_LEADS = 20_000
CHUNK_LEADS = 10_000
WINDOW_DAYS = 365
BENCH_SOURCE = "bench"

LEAD_COLUMNS = (
    "id, first_name, last_name, email, phone, title, company_name, website, company_domain, employees, "
    "size_band, industry, country, region, budget, authority, need, timeframe, source_channel, campaign_id, "
    "owner_id, stage, stage_entered_at, score, grade, created_at, updated_at, last_touch_at, "
    "next_follow_up_at, sales_touches, nurture_touches, extra"
)
STAGE_COLUMNS = "lead_id, from_stage, to_stage, changed_at, changed_by_id, owner_id, reason"
ACTIVITY_COLUMNS = "id, lead_id, kind, occurred_at, recorded_by_id, source, payload, created_at"

# (campaign kind, the source channel of its leads, base cost)
CAMPAIGN_KINDS = [
    ("trade_show", "event", 30000), ("webinar", "inbound", 4000), ("paid", "inbound", 12000),
    ("content", "inbound", 6000), ("outbound", "outbound", 8000), ("referral", "referral", 2000),
]  # fmt: skip
CHANNELS_WITHOUT_CAMPAIGN = [("inbound", 55), ("outbound", 15), ("referral", 10), ("partner", 12), ("event", 8)]
OPEN_SALES = frozenset({"sal", "sql", "opportunity"})
BUDGETS = [None] * 12 + ["5000.00", "10000.00", "25000.00", "50000.00", "100000.00", "250000.00"]


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")
    import django

    django.setup()


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
        from bench import datagen

        self.dg = datagen
        self.n = leads
        self.m = activities
        self.rng = random.Random(seed)
        self.pools = datagen.build_pools(random.Random(seed + 1))
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
        weights = [rng.paretovariate(1.3) * (3.0 if s.owner_id else 1.0) for s in specs]
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


def lead_lines(specs: list[LeadSpec], clock, payloads=None) -> str:
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


def ensure_reps(count: int) -> list[int]:
    """Return the ids of `count` bench sales reps, creating them, their teams (8 a team) and managers."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from leads.models import Profile, Team
    from leads.roles import Role

    user_model = get_user_model()
    rep_group = Group.objects.get(name=Role.SALES_REP)
    manager_group = Group.objects.get(name=Role.SALES_MANAGER)
    ids = []
    for i in range(count):
        team, _ = Team.objects.get_or_create(name=f"Bench Team {i // 8 + 1}")
        manager, created = user_model.objects.get_or_create(
            username=f"bench_manager_{i // 8 + 1:02d}", defaults={"first_name": "Bench", "last_name": "Manager"}
        )
        if created:
            manager.set_unusable_password()
            manager.save(update_fields=["password"])
            manager.groups.add(manager_group)
            Profile.objects.update_or_create(user=manager, defaults={"team": team})
        rep, created = user_model.objects.get_or_create(
            username=f"bench_rep_{i + 1:03d}", defaults={"first_name": "Bench", "last_name": f"Rep {i + 1}"}
        )
        if created:
            rep.set_unusable_password()
            rep.save(update_fields=["password"])
            rep.groups.add(rep_group)
            Profile.objects.update_or_create(user=rep, defaults={"team": team, "manager": manager})
        ids.append(rep.pk)
    return ids


def ensure_campaigns(start: dt.date) -> list[tuple[int, int, int, str]]:
    """Return (id, first day, last day, kind) of two bench campaigns a month over the window, with costs."""
    from leads.models import Campaign

    out = []
    for month in range(12):
        for slot in range(2):
            kind, _, cost = CAMPAIGN_KINDS[(month * 2 + slot) % len(CAMPAIGN_KINDS)]
            first_day = month * 30 + slot * 14
            starts = start + dt.timedelta(days=first_day)
            last_day = first_day + (2 if kind == "trade_show" else 20)
            campaign, _ = Campaign.objects.get_or_create(
                name=f"Bench {starts:%Y-%m} {kind.replace('_', ' ')} {slot + 1}",
                defaults={
                    "kind": kind,
                    "starts_on": starts,
                    "ends_on": start + dt.timedelta(days=last_day),
                    "cost": Decimal(cost + month * 250),
                },
            )
            out.append((campaign.pk, first_day, last_day, kind))
    return out


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)

    def add(self, part: str, seconds: float, rows: int = 0) -> None:
        self.seconds[part] += seconds
        self.rows[part] += rows

    def report(self, out: Callable[[str], None]) -> None:
        for part, seconds in self.seconds.items():
            rows = self.rows[part]
            rate = f"{rows / seconds:>12,.0f} rows/s" if rows and seconds else ""
            out(f"  {part:<32} {seconds:8.2f} s {rows:>12,} rows {rate}")


def run(
    *,
    leads: int,
    activities: int,
    reps: int = 20,
    seed: int = 0,
    truncate: bool = False,
    chunk: int = CHUNK_LEADS,
    out: Callable[[str], None] = print,
) -> dict[str, int]:
    """Generate the data and return the number of rows written per table."""
    from django.db import connection

    from leadops.errors import ApplicationError

    if leads < 1 or activities < 0 or reps < 1:
        raise ApplicationError("--leads must be at least 1, --activities at least 0 and --reps at least 1.")
    timer = Timer()
    wall = time.perf_counter()
    if connection.vendor != "postgresql" and leads > FALLBACK_MAX_LEADS:
        raise ApplicationError(
            f"{connection.vendor} has no COPY: this script writes at most {FALLBACK_MAX_LEADS:,} leads through "
            "the ORM there. Set DATABASE_URL to a PostgreSQL database for more."
        )
    t = time.perf_counter()
    rep_ids = ensure_reps(reps)
    window_start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=WINDOW_DAYS)).date()
    campaigns = ensure_campaigns(window_start)
    timer.add("setup (reps, campaigns)", time.perf_counter() - t)
    gen = Generator(leads=leads, activities=activities, seed=seed, reps=rep_ids, campaigns=campaigns)
    if connection.vendor == "postgresql":
        from bench.generate_pg import copy_all

        counts = copy_all(gen=gen, chunk=chunk, truncate=truncate, timer=timer)
    else:
        counts = orm_fallback(gen=gen, chunk=chunk, truncate=truncate, timer=timer)
    elapsed = time.perf_counter() - wall
    out(
        f"Generated {counts['leads']:,} leads, {counts['stage_changes']:,} stage changes, "
        f"{counts['activities']:,} activities on {connection.vendor} in {elapsed:.1f} s:"
    )
    timer.report(out)
    return counts


def orm_fallback(*, gen: Generator, chunk: int, truncate: bool, timer: Timer) -> dict[str, int]:
    """Write through the lifecycle service's bulk history helper (SQLite: tests and small demos)."""
    from django.db import transaction

    from leads.models import Activity, Lead, StageChange
    from leads.services.lifecycle import StageStep, leads_bulk_create_with_history

    counts = {"leads": 0, "stage_changes": 0, "activities": 0}
    clock = gen.clock
    with transaction.atomic():
        if truncate:
            Activity.objects.all().delete()
            StageChange.objects.all().delete()
            Lead.objects.all().delete()
        for index in range(0, gen.n, chunk):
            count = min(chunk, gen.n - index)
            t = time.perf_counter()
            specs, rows = gen.chunk(index=index, count=count, first_id=0, first_activity_id=0)
            timer.add("generate (python)", time.perf_counter() - t)
            t = time.perf_counter()
            objs, histories = [], []
            for s in specs:
                c = s.company
                objs.append(
                    Lead(
                        first_name=s.first_name, last_name=s.last_name, email=s.email, phone=s.phone,
                        title=s.title, company_name=c.name, website=f"https://www.{c.domain}",
                        company_domain=c.domain, employees=c.employees, size_band=c.size_band, industry=c.industry,
                        country=c.country, region=c.region, budget=s.budget, authority=s.authority, need=s.need,
                        timeframe=s.timeframe, source_channel=s.channel, campaign_id=s.campaign_id,
                        score=s.score, grade=s.grade, sales_touches=s.sales_touches,
                        nurture_touches=s.nurture_touches,
                        last_touch_at=clock.datetime(s.last_touch) if s.last_touch is not None else None,
                        next_follow_up_at=clock.datetime(s.follow_up) if s.follow_up is not None else None,
                    )
                )  # fmt: skip
                owner = None
                steps = []
                for stage, at in zip(s.path, s.times, strict=True):
                    if stage == gen.dg.OWNED_FROM and s.owner_id:
                        owner = s.owner_id
                    by = owner if (owner and steps) else None
                    steps.append(StageStep(to_stage=stage, at=clock.datetime(at), by_id=by, owner_id=owner))
                histories.append(steps)
            created = leads_bulk_create_with_history(leads=objs, histories=histories, reason="")
            timer.add("leads + stage log (orm)", time.perf_counter() - t, len(created))
            counts["leads"] += len(created)
            counts["stage_changes"] += sum(len(h) for h in histories)
            t = time.perf_counter()
            id_of = {s.id: lead.pk for s, lead in zip(specs, created, strict=True)}
            Activity.objects.bulk_create(
                [
                    Activity(
                        lead_id=id_of[lead_id], kind=kind, occurred_at=clock.datetime(at),
                        created_at=clock.datetime(at), recorded_by_id=by, source=BENCH_SOURCE, payload={},
                    )
                    for _, lead_id, kind, at, by in rows
                ],
                batch_size=2000,
            )  # fmt: skip
            timer.add("activities (orm)", time.perf_counter() - t, len(rows))
            counts["activities"] += len(rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, required=True, help="leads to create")
    parser.add_argument("--activities", type=int, required=True, help="activities to create, spread over the leads")
    parser.add_argument("--reps", type=int, default=20, help="sales reps owning leads past MQL (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--truncate", action="store_true", help="empty leads, activities and stage log first")
    parser.add_argument("--chunk", type=int, default=CHUNK_LEADS, help=f"leads per COPY chunk (default {CHUNK_LEADS})")
    args = parser.parse_args(argv)
    setup_django()
    from leadops.errors import ApplicationError

    try:
        run(
            leads=args.leads,
            activities=args.activities,
            reps=args.reps,
            seed=args.seed,
            truncate=args.truncate,
            chunk=args.chunk,
        )
    except ApplicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
