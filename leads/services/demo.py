"""Demo data for `manage.py seed_demo`: the demo logins, teams, three trade shows and a few thousand leads.

Everything is seeded (random and Faker) so two databases seeded the same day hold the same data, and it
is written in one transaction through the lifecycle service's bulk history path, so every lead's stage
log follows the allowed transitions. Demo only: never run against production data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from faker import Faker

from leadops.errors import ApplicationError
from leads.demo_accounts import DEMO_PASSWORD, DEMO_USERS
from leads.lifecycle import Stage
from leads.models import (
    Activity,
    AssignmentRule,
    Campaign,
    CampaignKind,
    Lead,
    Profile,
    RuleField,
    SizeBand,
    SourceChannel,
    Team,
)
from leads.models.activity import SALES_TOUCH_KINDS, ActivityKind
from leads.selectors_uld import uld_active
from leads.services.lifecycle import StageStep, leads_bulk_create_with_history
from nurture.demo import default_tracks_ensure, demo_enrolments_seed
from scoring.engine import lead_score_compute
from scoring.models import ScoreDirty
from scoring.selectors import rules_for

DEMO_SOURCE = "demo"
MAX_LEADS = 50_000

# (name, cost, days before "now" it starts, length in days). Their presence marks a seeded database.
DEMO_CAMPAIGNS = [
    ("Demo: Revenue Operations Summit", Decimal("42000.00"), 160, 3),
    ("Demo: Cloud Infrastructure Expo", Decimal("28500.00"), 95, 2),
    ("Demo: Marketing Tech World", Decimal("35750.00"), 35, 3),
]

# The stage walk of a demo lead: from each stage the chance of stopping or of each allowed move. Richer
# than a real funnel so that the dashboard and every queue have something to show.
WALK: dict[str, list[tuple[str | None, float]]] = {
    Stage.INQUIRY: [(None, 0.42), (Stage.MQL, 0.30), (Stage.SAL, 0.04), (Stage.NURTURE, 0.18),
                    (Stage.DISQUALIFIED, 0.06)],
    Stage.MQL: [(None, 0.30), (Stage.SAL, 0.50), (Stage.NURTURE, 0.14), (Stage.DISQUALIFIED, 0.06)],
    Stage.SAL: [(None, 0.22), (Stage.SQL, 0.60), (Stage.NURTURE, 0.10), (Stage.DISQUALIFIED, 0.08)],
    Stage.SQL: [(None, 0.22), (Stage.OPPORTUNITY, 0.60), (Stage.LOST, 0.10), (Stage.NURTURE, 0.08)],
    Stage.OPPORTUNITY: [(None, 0.30), (Stage.WON, 0.40), (Stage.LOST, 0.30)],
    Stage.WON: [(None, 1.0)],
    Stage.LOST: [(None, 0.75), (Stage.NURTURE, 0.25)],
    Stage.NURTURE: [(None, 0.85), (Stage.MQL, 0.15)],
    Stage.DISQUALIFIED: [(None, 1.0)],
}  # fmt: skip
MARKETING_KINDS = [
    (ActivityKind.WEB_VISIT, 40), (ActivityKind.EMAIL_OPEN, 20), (ActivityKind.EMAIL_CLICK, 8),
    (ActivityKind.FORM_FILL, 6), (ActivityKind.DOWNLOAD, 6), (ActivityKind.WEBINAR, 3),
    (ActivityKind.NURTURE_EMAIL, 6),
]  # fmt: skip
SALES_KINDS = [(ActivityKind.CALL, 8), (ActivityKind.EMAIL_SENT, 8), (ActivityKind.MEETING, 3), (ActivityKind.NOTE, 2)]
INDUSTRIES = ["Software", "Manufacturing", "Financial services", "Healthcare", "Retail", "Logistics", "Education"]
COUNTRIES = [("United States", "North America"), ("Canada", "North America"), ("United Kingdom", "EMEA"),
             ("Germany", "EMEA"), ("France", "EMEA"), ("Australia", "APAC")]  # fmt: skip
TITLES = [("VP of Marketing", "decision_maker"), ("CTO", "decision_maker"), ("Head of Sales Ops", "decision_maker"),
          ("Marketing Manager", "influencer"), ("IT Manager", "influencer"), ("Demand Gen Lead", "influencer"),
          ("Data Analyst", "user"), ("Marketing Specialist", "user")]  # fmt: skip
PAGES = ["/pricing", "/product", "/customers", "/blog/lead-scoring", "/demo"]


@dataclass(frozen=True)
class DemoSeedResult:
    created: bool
    users: int = 0
    leads: int = 0
    stage_changes: int = 0
    activities: int = 0
    won: int = 0


def demo_is_seeded() -> bool:
    """Return whether the demo data is there (its campaigns are the marker)."""
    return Campaign.objects.filter(name__in=[name for name, *_ in DEMO_CAMPAIGNS]).exists()


@transaction.atomic
def demo_seed(*, leads: int = 3000, seed: int = 42, now: dt.datetime | None = None) -> DemoSeedResult:
    """Create the demo logins, teams, campaigns, and `leads` leads over six months, unless already seeded.

    Running it again changes nothing. Opportunities and won deals carry a deal amount.
    """
    if not 1 <= leads <= MAX_LEADS:
        raise ApplicationError(f"The demo needs between 1 and {MAX_LEADS:,} leads (asked for {leads:,}).")
    if demo_is_seeded():
        default_tracks_ensure()
        return DemoSeedResult(created=False)
    now = (now or timezone.now()).replace(microsecond=0)
    rng = random.Random(seed)
    faker = Faker("en_US")
    faker.seed_instance(seed)
    users = demo_users_ensure()
    campaigns = _campaigns_create(now=now, marketer=users["marketer"])
    reps = [users[name] for name in ("rep1", "rep2", "rep3")]
    objs, histories, plans = _leads_plan(count=leads, rng=rng, faker=faker, now=now, campaigns=campaigns, reps=reps)
    activities = _activities_plan(leads=objs, plans=plans, rng=rng, now=now)
    _scores_set(leads=objs, activities=activities, now=now)
    created = leads_bulk_create_with_history(leads=objs, histories=histories, reason="Demo data")
    # The activities hold the lead objects, which have their ids now.
    Activity.objects.bulk_create(activities, batch_size=2000)
    # The leads were scored from these very activities: the trigger's marks would only re-score them.
    ScoreDirty.objects.filter(lead_id__in=[lead.pk for lead in created]).delete()
    # The nurture tracks the default ULD routes name, and some nurture leads already on their way.
    default_tracks_ensure(owner=users["marketer"])
    demo_enrolments_seed(seed=seed, now=now)
    return DemoSeedResult(
        created=True,
        users=len(users),
        leads=len(created),
        stage_changes=sum(len(h) for h in histories),
        activities=len(activities),
        won=sum(1 for lead in created if lead.stage == Stage.WON),
    )


def demo_users_ensure() -> dict[str, object]:
    """Create (or reset) the demo logins with `DEMO_PASSWORD`, their roles, teams East/West and profiles."""
    user_model = get_user_model()
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("East", "West")}
    # One hash for all: the password is published anyway, and each PBKDF2 hash costs about half a second.
    password = make_password(DEMO_PASSWORD)
    users = {}
    for username, role, _team, first_name, last_name in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(username=username)
        user.first_name, user.last_name = first_name, last_name
        user.email = f"{username}@demo.leadops.example"
        user.is_superuser = user.is_staff = role == "Admin"
        user.password = password
        user.save()
        if role != "Admin":
            user.groups.add(Group.objects.get(name=role))
        users[username] = user
    manager = users["manager"]
    for username, _role, team, *_ in DEMO_USERS:
        if team is None:
            continue
        # The manager manages the reps of their own team (East); West reps report to no one here.
        reports_to = manager if team == "East" and username != "manager" else None
        Profile.objects.update_or_create(
            user=users[username], defaults={"team": teams[team], "manager": reports_to, "territory": ""}
        )
    _assignment_rules_ensure(teams)
    return users


def _assignment_rules_ensure(teams: dict[str, Team]) -> None:
    """Route North American leads to West and everyone else to East, so new A leads reach a rep."""
    rules = [
        (10, RuleField.REGION, "North America", teams["West"]),
        (100, RuleField.ANY, "", teams["East"]),
    ]
    for position, field, values, team in rules:
        AssignmentRule.objects.get_or_create(position=position, field=field, defaults={"values": values, "team": team})


def _campaigns_create(*, now: dt.datetime, marketer) -> list[Campaign]:
    out = []
    for name, cost, days_ago, length in DEMO_CAMPAIGNS:
        starts = (now - dt.timedelta(days=days_ago)).date()
        out.append(
            Campaign.objects.create(
                name=name,
                kind=CampaignKind.TRADE_SHOW,
                starts_on=starts,
                ends_on=starts + dt.timedelta(days=length - 1),
                cost=cost,
                owner=marketer,
            )
        )
    return out


@dataclass
class _Plan:
    """What a lead's activities need to know: when it arrived, its campaign's show day, its owner."""

    created: dt.datetime
    show_day: dt.datetime | None
    owner_id: int | None


def _walk(rng: random.Random) -> list[str]:
    path = [Stage.INQUIRY.value]
    for _ in range(8):
        moves = WALK[path[-1]]
        roll, total = rng.random(), 0.0
        target = None
        for candidate, chance in moves:
            total += chance
            if roll < total:
                target = candidate
                break
        if target is None:
            break
        path.append(str(target))
    return path


def _leads_plan(*, count, rng, faker, now, campaigns, reps):
    """Return unsaved leads, their stage histories and activity plans."""
    companies = []
    for _ in range(max(20, count // 8)):
        name = faker.company()
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:30] + rng.choice([".com", ".io", ".co"])
        employees = max(1, int(rng.lognormvariate(4.5, 1.5)))
        companies.append((name, domain, employees, rng.choice(INDUSTRIES), *rng.choice(COUNTRIES)))
    objs, histories, plans = [], [], []
    window = 182 * 86400
    for index in range(count):
        first, last = faker.first_name(), faker.last_name()
        company, domain, employees, industry, country, region = rng.choice(companies)
        campaign = rng.choice(campaigns) if rng.random() < 0.35 else None
        if campaign is not None:
            show_day = dt.datetime.combine(campaign.starts_on, dt.time(10), tzinfo=dt.UTC)
            created = show_day + dt.timedelta(seconds=rng.randint(0, 3 * 86400))
            channel = SourceChannel.EVENT
        else:
            show_day = None
            created = now - dt.timedelta(seconds=int(window * rng.random() ** 0.8))
            channel = rng.choices(
                [SourceChannel.INBOUND, SourceChannel.OUTBOUND, SourceChannel.REFERRAL, SourceChannel.PARTNER],
                weights=[60, 15, 12, 13],
            )[0]
        path = _walk(rng)
        owner = rng.choice(reps) if Stage.SAL in path else None
        steps, at, owner_now = [], created, None
        for stage in path:
            if steps:
                at = min(at + dt.timedelta(seconds=int(rng.expovariate(1 / (4 * 86400))) + 3600), now)
            if stage == Stage.SAL:
                owner_now = owner
            by = owner_now.pk if owner_now is not None and steps else None
            steps.append(
                StageStep(to_stage=stage, at=at, by_id=by, owner_id=owner_now.pk if owner_now is not None else None)
            )
        title, authority = rng.choice(TITLES)
        email = None if rng.random() < 0.03 else f"{first}.{last}.{index}@{domain}".lower()
        has_deal = path[-1] in (Stage.OPPORTUNITY, Stage.WON) or (path[-1] == Stage.LOST and Stage.OPPORTUNITY in path)
        deal_amount = Decimal(rng.randrange(8_000, 180_000, 500)) if has_deal else None
        open_work = path[-1] in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
        follow_up = now + dt.timedelta(days=rng.randint(-3, 10)) if open_work else None
        objs.append(
            Lead(
                first_name=first, last_name=last, email=email,
                phone=faker.numerify("+1 ###-###-####") if email is None or rng.random() < 0.5 else "",
                title=title, authority=authority, company_name=company, company_domain=domain,
                website=f"https://www.{domain}", employees=employees, industry=industry, country=country,
                region=region, source_channel=channel, campaign=campaign,
                budget=Decimal(rng.choice([10_000, 25_000, 50_000, 100_000])) if path[-1] != Stage.INQUIRY else None,
                timeframe=rng.choice(["", "lt_3m", "3_6m", "6_12m"]),
                next_follow_up_at=follow_up,
                # The queue's contract: a follow-up is owed a reminder until the reminder scan claims it.
                reminder_due_at=follow_up,
                deal_amount=deal_amount,
                expected_close_on=(at + dt.timedelta(days=rng.randint(14, 90))).date() if has_deal else None,
            )
        )  # fmt: skip
        histories.append(steps)
        plans.append(_Plan(created=created, show_day=show_day, owner_id=owner.pk if owner is not None else None))
    return objs, histories, plans


def _scores_set(*, leads: list[Lead], activities: list[Activity], now: dt.datetime) -> None:
    """Score the unsaved leads as the engine would at `now` under the active definition, from their activities.

    So the demo's grades are the ones a re-score gives (a made-up grade moved at the first re-score).
    """
    version = uld_active()
    if version is None:
        return
    fit_rules, engagement_rules = rules_for(version=version)
    by_lead: dict[int, list[Activity]] = {id(lead): [] for lead in leads}
    for activity in activities:
        by_lead[id(activity.lead)].append(activity)
    for lead in leads:
        # As the bulk insert will, so a fit rule on the size band sees it.
        if lead.employees is not None and not lead.size_band:
            lead.size_band = SizeBand.for_employees(lead.employees)
        result = lead_score_compute(
            version=version,
            fit_rules=fit_rules,
            engagement_rules=engagement_rules,
            lead=lead,
            activities=by_lead[id(lead)],
            now=now,
        )
        lead.score, lead.grade, lead.scored_at = result.total, result.grade, now
        lead.score_fit, lead.score_engagement = result.fit, result.engagement


def _cum(pairs):
    return [k for k, _ in pairs], list(itertools.accumulate(w for _, w in pairs))


def _activities_plan(*, leads: list[Lead], plans: list[_Plan], rng: random.Random, now: dt.datetime) -> list[Activity]:
    """Return a skewed number of activities per lead (most a few, some many); set the touch counts they imply."""
    marketing, marketing_cum = _cum(MARKETING_KINDS)
    owned, owned_cum = _cum(MARKETING_KINDS + SALES_KINDS)
    by_owner = frozenset(kind for kind, _ in SALES_KINDS)
    rows = []
    for lead, plan in zip(leads, plans, strict=True):
        kinds, cum = (owned, owned_cum) if plan.owner_id else (marketing, marketing_cum)
        count = min(60, int(rng.paretovariate(1.4) * (4 if plan.owner_id else 2)))
        room = max(60, int((now - plan.created).total_seconds()))
        if plan.show_day is not None:
            rows.append(
                Activity(
                    lead=lead, kind=ActivityKind.BADGE_SCAN, occurred_at=plan.created, created_at=plan.created,
                    source=DEMO_SOURCE, payload={"campaign": lead.campaign.name},
                )
            )  # fmt: skip
        sales_touches, nurture_touches, last_touch = 0, 0, None
        for _ in range(count):
            kind = kinds[bisect.bisect(cum, rng.random() * cum[-1])]
            at = plan.created + dt.timedelta(seconds=int(room * rng.random() ** 2))
            by_id = plan.owner_id if kind in by_owner else None
            if kind in SALES_TOUCH_KINDS:
                sales_touches += 1
                last_touch = max(last_touch or at, at)
            elif kind == ActivityKind.NURTURE_EMAIL:
                nurture_touches += 1
            payload = {"url": rng.choice(PAGES)} if kind == ActivityKind.WEB_VISIT else {}
            rows.append(
                Activity(
                    lead=lead, kind=kind, occurred_at=at, created_at=at, recorded_by_id=by_id, source=DEMO_SOURCE,
                    payload=payload,
                )
            )  # fmt: skip
        lead.sales_touches, lead.nurture_touches, lead.last_touch_at = sales_touches, nurture_touches, last_touch
    return rows
