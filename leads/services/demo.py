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
from functools import cached_property

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
    ULDVersion,
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
TIMEFRAMES = ["", "lt_3m", "3_6m", "6_12m"]

# The grade a lead that never qualified ends with, by the stage it stopped at (weights of B, C, D). The
# product's premise is that few inquiries are sales-ready (5-15%): a still-open inquiry is never A here,
# and only some are B, nearly there; nurture holds those with some interest; disqualified ones fit poorly.
UNQUALIFIED_GRADES = {
    Stage.INQUIRY: (10, 42, 48),
    Stage.NURTURE: (25, 45, 30),
    Stage.DISQUALIFIED: (5, 35, 60),
}
# What an interested lead does: the signals added where its story needs more engagement than it drew.
INTENT = [
    (ActivityKind.WEB_VISIT, {"url": "/pricing"}), (ActivityKind.FORM_FILL, {"form": "demo"}),
    (ActivityKind.DOWNLOAD, {}), (ActivityKind.WEBINAR, {}), (ActivityKind.EMAIL_CLICK, {}),
    (ActivityKind.WEB_VISIT, {"url": "/demo"}), (ActivityKind.EMAIL_OPEN, {}),
]  # fmt: skip
RATINGS = ["hot", "warm", "cold"]  # a booth's rating of a badge scan, warmest first
FIT_DRAWS = 8  # companies, titles and timeframes tried for a fit that suits the planned grade
ENGAGEMENT_REACH = 40  # at most this many points of engagement are planned to lift a lead into its band
ENGAGEMENT_ROOM = 5  # a lead's fit stays this far under its band's top, so some engagement still fits
INTEREST_TRIES = 12  # signals added at most to reach a grade
RECENT = dt.timedelta(days=14)  # how far back "recent interest" goes
SESSION = dt.timedelta(hours=1)  # the visit that made a lead sales-ready, before it qualified


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
    # The lead data is planned against the active definition, so the engine grades each lead as its stages say.
    scorer = _Scorer.active()
    objs, histories, plans = _leads_plan(
        count=leads, rng=rng, faker=faker, now=now, campaigns=campaigns, reps=reps, scorer=scorer
    )
    activities = _activities_plan(leads=objs, plans=plans, rng=rng, now=now, scorer=scorer)
    _scores_set(leads=objs, activities=activities, now=now, scorer=scorer)
    created = leads_bulk_create_with_history(leads=objs, histories=histories, reason="Demo data")
    # The activities hold the lead objects, which have their ids now.
    Activity.objects.bulk_create(activities, batch_size=2000)
    # The leads were scored from these very activities: the trigger's marks would only re-score them. Every
    # mark of these leads is this transaction's own (the leads are new), so all of them go.
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


@dataclass(frozen=True)
class _Scorer:
    """The active definition's rules, so the demo is planned against the grades the engine itself gives."""

    version: ULDVersion
    fit_rules: list
    engagement_rules: list

    @classmethod
    def active(cls) -> _Scorer | None:
        version = uld_active()
        return None if version is None else cls(version, *rules_for(version=version))

    @property
    def a_min(self) -> int:
        return self.version.grade_a_min

    def band(self, grade: str) -> tuple[int | None, int | None]:
        """Return the lowest and highest total the version grades `grade` (None: no bound)."""
        v = self.version
        return {
            "A": (v.grade_a_min, None),
            "B": (v.grade_b_min, v.grade_a_min - 1),
            "C": (v.grade_c_min, v.grade_b_min - 1),
            "D": (None, v.grade_c_min - 1),
        }[grade]

    def scores(self, activity: Activity) -> bool:
        return any(rule.kind == activity.kind for rule in self.engagement_rules)

    @cached_property
    def intent_worth(self) -> list[int]:
        """Return the points each `INTENT` signal earns alone and fresh under these rules."""
        at = timezone.now()
        return [
            self._compute(
                lead=Lead(), fit_rules=[], activities=[Activity(kind=k, occurred_at=at, payload=p)], now=at
            ).engagement
            for k, p in INTENT
        ]

    def fit(self, lead: Lead) -> int:
        return self._compute(lead=lead, fit_rules=self.fit_rules, activities=[], now=timezone.now()).fit

    def engagement(self, lead: Lead, activities: list[Activity], now: dt.datetime) -> int:
        return self._compute(lead=lead, fit_rules=[], activities=activities, now=now).engagement

    def _compute(self, *, lead, fit_rules, activities, now):
        return lead_score_compute(
            version=self.version,
            fit_rules=fit_rules,
            engagement_rules=self.engagement_rules if activities else [],
            lead=lead,
            activities=activities,
            now=now,
        )


@dataclass
class _Plan:
    """What a lead's activities need to know: when it arrived and was handled, and the grades its stages imply."""

    created: dt.datetime
    show_day: dt.datetime | None
    owner_id: int | None
    owned_from: dt.datetime | None = None
    nurture_from: dt.datetime | None = None
    # A lead that never qualified: the grade it ends with. One that did: "A", from `qualified_at` (its last
    # move to MQL, or straight to SAL) until it went cold (`cooled_from`, when it left for nurture or was
    # disqualified); it still has to be A now if it waits at MQL or SAL (`keeps_a`).
    grade: str | None = None
    qualified_at: dt.datetime | None = None
    cooled_from: dt.datetime | None = None
    keeps_a: bool = False

    def ceiling(self, scorer: _Scorer, at: dt.datetime) -> int | None:
        """Return the highest total the lead may have at `at` (None: no bound)."""
        if self.qualified_at is None:
            return scorer.band(self.grade)[1]
        if at < self.qualified_at - SESSION or (self.cooled_from is not None and at >= self.cooled_from):
            return scorer.a_min - 1
        return None

    def floor_now(self, scorer: _Scorer) -> int | None:
        """Return the lowest total the lead must have now (None: no bound)."""
        if self.qualified_at is None:
            return scorer.band(self.grade)[0]
        return scorer.a_min if self.keeps_a else None


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


def _story(*, plan: _Plan, path: list[str], steps: list[StageStep], rng: random.Random) -> None:
    """Set the grades the lead's stage walk implies: A from the moment it qualified, else a B-D by where it stopped."""
    for previous, stage, step in zip([None, *path], path, steps, strict=False):
        if stage == Stage.MQL or (stage == Stage.SAL and previous != Stage.MQL):
            plan.qualified_at = step.at
        if stage == Stage.SAL and plan.owned_from is None:
            plan.owned_from = step.at
        if stage == Stage.NURTURE and plan.nurture_from is None:
            plan.nurture_from = step.at
    if plan.qualified_at is None:
        plan.grade = rng.choices("BCD", weights=UNQUALIFIED_GRADES[path[-1]])[0]
        return
    plan.grade = "A"
    plan.keeps_a = path[-1] in (Stage.MQL, Stage.SAL)
    if path[-1] in (Stage.NURTURE, Stage.DISQUALIFIED):
        plan.cooled_from = steps[-1].at


def _fit_apply(lead: Lead, company: tuple, title: tuple[str, str], timeframe: str, email_local: str | None) -> None:
    name, domain, employees, industry, country, region = company
    lead.company_name, lead.company_domain, lead.website = name, domain, f"https://www.{domain}"
    # As the bulk insert will, so a fit rule on the size band sees it.
    lead.employees, lead.size_band = employees, SizeBand.for_employees(employees)
    lead.industry, lead.country, lead.region = industry, country, region
    lead.title, lead.authority = title
    lead.timeframe = timeframe
    lead.email = None if email_local is None else f"{email_local}@{domain}".lower()


def _fit_draw(
    *, lead: Lead, plan: _Plan, rng: random.Random, companies: list, email_local: str | None, scorer: _Scorer | None
) -> None:
    """Give the lead a company, title and timeframe whose fit under the active rules suits its planned grade.

    A few are drawn and the first kept whose fit points leave the planned engagement room to land in the
    grade's band (not above it before any activity, not so far below that only a flood of activity reaches
    it); failing that, the nearest miss.
    """
    low, high = scorer.band(plan.grade) if scorer is not None else (None, None)
    best = None
    for _ in range(FIT_DRAWS):
        drawn = (rng.choice(companies), rng.choice(TITLES), rng.choice(TIMEFRAMES))
        _fit_apply(lead, *drawn, email_local)
        if scorer is None:
            return
        fit = scorer.fit(lead)
        miss = max(
            0,
            0 if low is None else low - ENGAGEMENT_REACH - fit,
            0 if high is None else fit - (high - ENGAGEMENT_ROOM),
        )
        if miss == 0:
            return
        if best is None or miss < best[0]:
            best = (miss, drawn)
    _fit_apply(lead, *best[1], email_local)


def _leads_plan(*, count, rng, faker, now, campaigns, reps, scorer):
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
        plan = _Plan(created=created, show_day=show_day, owner_id=owner.pk if owner is not None else None)
        _story(plan=plan, path=path, steps=steps, rng=rng)
        email_local = None if rng.random() < 0.03 else f"{first}.{last}.{index}"
        has_deal = path[-1] in (Stage.OPPORTUNITY, Stage.WON) or (path[-1] == Stage.LOST and Stage.OPPORTUNITY in path)
        deal_amount = Decimal(rng.randrange(8_000, 180_000, 500)) if has_deal else None
        open_work = path[-1] in (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
        follow_up = now + dt.timedelta(days=rng.randint(-3, 10)) if open_work else None
        lead = Lead(
            first_name=first, last_name=last,
            phone=faker.numerify("+1 ###-###-####") if email_local is None or rng.random() < 0.5 else "",
            source_channel=channel, campaign=campaign,
            budget=Decimal(rng.choice([10_000, 25_000, 50_000, 100_000])) if path[-1] != Stage.INQUIRY else None,
            next_follow_up_at=follow_up,
            # The queue's contract: a follow-up is owed a reminder until the reminder scan claims it.
            reminder_due_at=follow_up,
            deal_amount=deal_amount,
            expected_close_on=(at + dt.timedelta(days=rng.randint(14, 90))).date() if has_deal else None,
        )  # fmt: skip
        _fit_draw(lead=lead, plan=plan, rng=rng, companies=companies, email_local=email_local, scorer=scorer)
        objs.append(lead)
        histories.append(steps)
        plans.append(plan)
    return objs, histories, plans


def _scores_set(*, leads: list[Lead], activities: list[Activity], now: dt.datetime, scorer: _Scorer | None) -> None:
    """Score the unsaved leads as the engine would at `now` under the active definition, from their activities.

    So the demo's grades are the ones a re-score gives (a made-up grade moved at the first re-score).
    """
    if scorer is None:
        return
    by_lead: dict[int, list[Activity]] = {id(lead): [] for lead in leads}
    for activity in activities:
        by_lead[id(activity.lead)].append(activity)
    for lead in leads:
        if lead.employees is not None and not lead.size_band:
            lead.size_band = SizeBand.for_employees(lead.employees)
        result = lead_score_compute(
            version=scorer.version,
            fit_rules=scorer.fit_rules,
            engagement_rules=scorer.engagement_rules,
            lead=lead,
            activities=by_lead[id(lead)],
            now=now,
        )
        lead.score, lead.grade, lead.scored_at = result.total, result.grade, now
        lead.score_fit, lead.score_engagement = result.fit, result.engagement


def _cum(pairs):
    return [k for k, _ in pairs], list(itertools.accumulate(w for _, w in pairs))


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime, skew: float = 1.0) -> dt.datetime:
    """Return a whole second in [start, end], nearer the start the larger `skew`."""
    room = max(0, int((end - start).total_seconds()))
    return start + dt.timedelta(seconds=int(room * rng.random() ** skew))


def _activities_plan(
    *, leads: list[Lead], plans: list[_Plan], rng: random.Random, now: dt.datetime, scorer: _Scorer | None
) -> list[Activity]:
    """Return a skewed number of activities per lead (most a few, some many); set the touch counts they imply.

    A rep's touches come after the rep accepted the lead, nurture emails after it went to nurture; with an
    active definition the rest is shaped so the engine grades the lead as its stages say (`_engagement_shape`).
    """
    marketing, marketing_cum = _cum(MARKETING_KINDS)
    owned, owned_cum = _cum(MARKETING_KINDS + SALES_KINDS)
    by_owner = frozenset(kind for kind, _ in SALES_KINDS)
    rows = []
    for lead, plan in zip(leads, plans, strict=True):
        kinds, cum = (owned, owned_cum) if plan.owner_id else (marketing, marketing_cum)
        count = min(60, int(rng.paretovariate(1.4) * (4 if plan.owner_id else 2)))
        drawn = []
        if plan.show_day is not None:
            drawn.append(
                Activity(
                    lead=lead, kind=ActivityKind.BADGE_SCAN, occurred_at=plan.created, created_at=plan.created,
                    source=DEMO_SOURCE, payload={"campaign": lead.campaign.name},
                )
            )  # fmt: skip
        for _ in range(count):
            kind = kinds[bisect.bisect(cum, rng.random() * cum[-1])]
            if kind in by_owner:
                at = _between(rng, plan.owned_from, now)
            elif kind == ActivityKind.NURTURE_EMAIL:
                if plan.nurture_from is None:
                    continue
                at = _between(rng, plan.nurture_from, now)
            else:
                at = _between(rng, plan.created, now, skew=2)
            payload = {"url": rng.choice(PAGES)} if kind == ActivityKind.WEB_VISIT else {}
            drawn.append(
                Activity(
                    lead=lead, kind=kind, occurred_at=at, created_at=at,
                    recorded_by_id=plan.owner_id if kind in by_owner else None, source=DEMO_SOURCE, payload=payload,
                )
            )  # fmt: skip
        activities = drawn if scorer is None else _engagement_shape(lead, plan, drawn, rng, now, scorer)
        touches = [a.occurred_at for a in activities if a.kind in SALES_TOUCH_KINDS]
        lead.sales_touches, lead.last_touch_at = len(touches), max(touches, default=None)
        lead.nurture_touches = sum(1 for a in activities if a.kind == ActivityKind.NURTURE_EMAIL)
        rows.extend(activities)
    return rows


def _engagement_shape(
    lead: Lead, plan: _Plan, drawn: list[Activity], rng: random.Random, now: dt.datetime, scorer: _Scorer
) -> list[Activity]:
    """Keep the drawn activities the lead's story allows and add the interest it needs, as the engine scores it.

    Scoring activities are taken in time order, and one is left out if it would lift the lead above what
    its story allows at that moment (an A before it qualified or after it went cold, more than its grade
    if it never qualified); a badge scan is kept with a cooler rating instead. Then interest is added where
    the story needs it: a session of visits and downloads just before it qualified, and recent interest
    for a lead that must reach its grade now (waiting at MQL or SAL, or a B or C that never qualified).
    """
    fit = scorer.fit(lead)
    kept = [a for a in drawn if not scorer.scores(a)]
    scored: list[Activity] = []

    def total(at: dt.datetime) -> int:
        return fit + scorer.engagement(lead, scored, at)

    def admit(activity: Activity, *, payload: dict | None = None, rise: tuple[dt.datetime, int] | None = None) -> bool:
        """Add the activity (with `payload`) if the total stays under the ceiling at its time and, given
        `rise` (a time and the total then), goes up at that time."""
        ceiling = plan.ceiling(scorer, activity.occurred_at)
        unchanged = activity.payload
        if payload is not None:
            activity.payload = payload
        scored.append(activity)
        if (ceiling is None or total(activity.occurred_at) <= ceiling) and (rise is None or total(rise[0]) > rise[1]):
            return True
        scored.pop()
        activity.payload = unchanged
        return False

    def interest(at: dt.datetime) -> list[Activity]:
        """Return the signals a lead may send at `at`, most often the ones the rules value most first."""
        weights = [worth * rng.uniform(0.5, 1.5) for worth in scorer.intent_worth]
        order = sorted(range(len(INTENT)), key=lambda i: -weights[i])
        return [
            Activity(lead=lead, kind=kind, occurred_at=at, created_at=at, source=DEMO_SOURCE, payload=dict(payload))
            for kind, payload in (INTENT[i] for i in order)
        ]

    def reach(goal: int, at: dt.datetime, start: dt.datetime) -> None:
        """Add interest between `start` and `at`, each after the last, until the total at `at` reaches `goal`."""
        for _ in range(INTEREST_TRIES):
            reached = total(at)
            if reached >= goal:
                return
            when = _between(rng, start, at)
            if any(admit(candidate, rise=(at, reached)) for candidate in interest(when)):
                start = when

    drawn_scoring = sorted((a for a in drawn if scorer.scores(a)), key=lambda a: a.occurred_at)
    for activity in drawn_scoring:
        if activity.kind == ActivityKind.BADGE_SCAN:
            # A scan is always kept: rated as warmly as the grade suggests and the story allows.
            warmest = {"A": rng.choice([0, 0, 1]), "B": 1, "C": rng.choice([1, 2]), "D": 2}[plan.grade]
            unrated = activity.payload
            if not any(admit(activity, payload={**unrated, "rating": rating}) for rating in RATINGS[warmest:]):
                scored.append(activity)
        elif plan.qualified_at is None or activity.occurred_at < plan.qualified_at:
            admit(activity)
    if plan.qualified_at is not None:
        # The session that made it sales-ready, just before it qualified.
        at = plan.qualified_at
        reach(scorer.a_min, at, max(plan.created, at - SESSION))
        for activity in drawn_scoring:
            if activity.kind != ActivityKind.BADGE_SCAN and activity.occurred_at >= at:
                admit(activity)
    goal = plan.floor_now(scorer)
    if goal is not None:
        latest = max((a.occurred_at for a in scored), default=plan.created)
        reach(goal, now, max(latest, plan.created, now - RECENT))
    if plan.cooled_from is not None and total(now) >= scorer.a_min:
        # Sent back to nurture or disqualified too soon for its interest to fade: what the rep learned
        # (no budget, not buying for a while) is why, and it is on the lead now.
        lead.budget, lead.timeframe = None, TIMEFRAMES[-1]
    return sorted(kept + scored, key=lambda a: a.occurred_at)
