"""Fast, seeded, realistic lead data: name pools, the stage walk, activity mixes, timestamp strings.

Pure Python and database-free so that `bench/generate.py` (COPY on PostgreSQL) and its ORM fallback share
one source of distributions. Names come from Faker's word lists, combined here: calling Faker per row
costs ~250 µs (a company name), which alone would take minutes for a million leads.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import unicodedata
from dataclasses import dataclass

from faker.providers.person.en_US import Provider as PersonProvider

from leads.lifecycle import ALLOWED_TRANSITIONS, Stage
from leads.models.activity import SALES_TOUCH_KINDS, ActivityKind
from leads.models.lead import SizeBand

DAY = 86_400

INDUSTRIES = [
    "Software", "Manufacturing", "Financial services", "Healthcare", "Retail", "Logistics", "Education",
    "Energy", "Telecommunications", "Construction", "Media", "Professional services", "Public sector",
    "Automotive", "Hospitality", "Pharmaceuticals", "Insurance", "Real estate",
]  # fmt: skip

# (country, region, weight): most leads from a few markets, a long tail elsewhere.
COUNTRIES = [
    ("United States", "North America", 38), ("Canada", "North America", 5), ("United Kingdom", "EMEA", 10),
    ("Germany", "EMEA", 9), ("France", "EMEA", 6), ("Netherlands", "EMEA", 3), ("Spain", "EMEA", 3),
    ("Italy", "EMEA", 2), ("Sweden", "EMEA", 2), ("India", "APAC", 5), ("Australia", "APAC", 4),
    ("Japan", "APAC", 3), ("Singapore", "APAC", 2), ("Brazil", "LATAM", 4), ("Mexico", "LATAM", 2),
    ("South Africa", "EMEA", 1), ("Poland", "EMEA", 1),
]  # fmt: skip

# (title, authority, weight)
TITLES = [
    ("Chief Executive Officer", "decision_maker", 2), ("Chief Technology Officer", "decision_maker", 3),
    ("Chief Marketing Officer", "decision_maker", 2), ("Chief Financial Officer", "decision_maker", 1),
    ("VP of Engineering", "decision_maker", 3), ("VP of Marketing", "decision_maker", 3),
    ("VP of Sales", "decision_maker", 3), ("Head of Operations", "decision_maker", 3),
    ("Director of IT", "decision_maker", 4), ("Director of Marketing", "influencer", 4),
    ("Marketing Manager", "influencer", 8), ("IT Manager", "influencer", 7), ("Product Manager", "influencer", 6),
    ("Operations Manager", "influencer", 6), ("Procurement Manager", "influencer", 3),
    ("Software Engineer", "user", 9), ("Data Analyst", "user", 6), ("Marketing Specialist", "user", 6),
    ("Sales Representative", "user", 4), ("Consultant", "user", 4), ("Student", "", 2), ("", "", 3),
]  # fmt: skip

COMPANY_SUFFIXES = ["Inc", "LLC", "Group", "Ltd", "Systems", "Labs", "Technologies", "Partners", "& Co", "GmbH",
                    "Solutions", "Holdings", "Industries", "Analytics", "Logistics", "Health"]  # fmt: skip
TLDS = ["com"] * 8 + ["io", "co", "net", "de", "co.uk", "fr", "ai"]

NEEDS = [
    "", "", "", "", "", "Replacing spreadsheets for lead tracking.", "Needs CRM integration before Q3.",
    "Evaluating three vendors.", "Wants a pilot for the EMEA team.", "Budget approved; looking for a start date.",
    "Consolidating marketing tools.",
]  # fmt: skip
TIMEFRAMES = [("", 40), ("now", 5), ("lt_3m", 15), ("3_6m", 18), ("6_12m", 14), ("gt_12m", 8)]

# The stage walk: from each stage, the chance of stopping there or moving on (every move is an allowed
# transition, asserted below). It yields a realistic funnel: about half the leads stay inquiries, a fifth
# go to nurture, and a few percent reach opportunity and won.
WALK: dict[str, list[tuple[str | None, float]]] = {
    Stage.INQUIRY: [(None, 0.50), (Stage.MQL, 0.24), (Stage.SAL, 0.03), (Stage.NURTURE, 0.17),
                    (Stage.DISQUALIFIED, 0.06)],
    Stage.MQL: [(None, 0.30), (Stage.SAL, 0.45), (Stage.NURTURE, 0.18), (Stage.DISQUALIFIED, 0.07)],
    Stage.SAL: [(None, 0.25), (Stage.SQL, 0.55), (Stage.NURTURE, 0.12), (Stage.DISQUALIFIED, 0.08)],
    Stage.SQL: [(None, 0.25), (Stage.OPPORTUNITY, 0.55), (Stage.LOST, 0.10), (Stage.NURTURE, 0.07),
                (Stage.DISQUALIFIED, 0.03)],
    Stage.OPPORTUNITY: [(None, 0.30), (Stage.WON, 0.40), (Stage.LOST, 0.30)],
    Stage.WON: [(None, 1.0)],
    Stage.LOST: [(None, 0.80), (Stage.NURTURE, 0.20)],
    Stage.NURTURE: [(None, 0.85), (Stage.MQL, 0.13), (Stage.DISQUALIFIED, 0.02)],
    Stage.DISQUALIFIED: [(None, 0.97), (Stage.NURTURE, 0.03)],
}  # fmt: skip
MAX_MOVES = 8
# Stages at which a rep owns the lead: the lead is assigned when a rep accepts it (SAL).
OWNED_FROM = Stage.SAL

# Grade by final stage (weights for A, B, C, D, not scored) and the score band of each grade.
GRADES = ["A", "B", "C", "D", ""]
GRADE_WEIGHTS = {
    Stage.INQUIRY: [4, 25, 30, 26, 15], Stage.MQL: [70, 30, 0, 0, 0], Stage.SAL: [80, 20, 0, 0, 0],
    Stage.SQL: [85, 15, 0, 0, 0], Stage.OPPORTUNITY: [90, 10, 0, 0, 0], Stage.WON: [90, 10, 0, 0, 0],
    Stage.LOST: [40, 40, 20, 0, 0], Stage.NURTURE: [0, 30, 40, 30, 0], Stage.DISQUALIFIED: [0, 0, 30, 70, 0],
}  # fmt: skip
SCORE_BANDS = {"A": (70, 100), "B": (50, 69), "C": (30, 49), "D": (0, 29), "": (0, 0)}

# Activity mix: what marketing automation sees for every lead, plus sales touches for owned leads.
MARKETING_KINDS = [
    (ActivityKind.WEB_VISIT, 36), (ActivityKind.EMAIL_OPEN, 22), (ActivityKind.EMAIL_CLICK, 8),
    (ActivityKind.FORM_FILL, 5), (ActivityKind.DOWNLOAD, 5), (ActivityKind.WEBINAR, 2),
    (ActivityKind.BADGE_SCAN, 2), (ActivityKind.NURTURE_EMAIL, 7),
]  # fmt: skip
# Kinds a rep records (sales touches and notes); only owned leads get them.
SALES_KINDS = [
    (ActivityKind.CALL, 7), (ActivityKind.EMAIL_SENT, 8), (ActivityKind.MEETING, 2), (ActivityKind.SOCIAL, 1),
    (ActivityKind.NOTE, 2),
]  # fmt: skip

PAGES = ["/", "/pricing", "/product", "/customers", "/blog/lead-scoring", "/blog/funnel-metrics", "/docs", "/demo"]
ASSETS = ["ULD whitepaper", "Funnel benchmark report", "Lead scoring guide", "ROI calculator", "Case study: Acme"]
EMAILS = ["Newsletter", "Product update", "Webinar invite", "Event follow-up", "Nurture step 1", "Nurture step 2"]


def _payloads(kind: str) -> list[str]:
    if kind == ActivityKind.WEB_VISIT:
        items = [{"url": page} for page in PAGES]
    elif kind in (ActivityKind.EMAIL_OPEN, ActivityKind.EMAIL_CLICK, ActivityKind.NURTURE_EMAIL):
        items = [{"email": name} for name in EMAILS]
    elif kind == ActivityKind.DOWNLOAD:
        items = [{"asset": name} for name in ASSETS]
    elif kind == ActivityKind.FORM_FILL:
        items = [{"form": name} for name in ("Contact us", "Demo request", "Newsletter signup", "Gated content")]
    elif kind == ActivityKind.CALL:
        items = [{"outcome": name} for name in ("connected", "voicemail", "no answer")]
    else:
        items = [{}]
    return [json.dumps(item, separators=(",", ":")) for item in items]


PAYLOADS = {kind: _payloads(kind) for kind in ActivityKind.values}


def _check_walk() -> None:
    for stage, moves in WALK.items():
        assert abs(sum(p for _, p in moves) - 1) < 1e-9, stage
        for target, _ in moves:
            assert target is None or target in ALLOWED_TRANSITIONS[stage], (stage, target)


_check_walk()


def ascii_slug(text: str, sep: str = "") -> str:
    """Return `text` lower-cased ASCII letters and digits only (accents dropped), words joined by `sep`."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in plain.split()]
    return sep.join(word for word in words if word)


def _cum(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


@dataclass
class Company:
    name: str
    domain: str
    industry: str
    country: str
    region: str
    employees: int
    size_band: str


@dataclass
class Pools:
    """Precomputed, seeded pools every lead draws from."""

    first_names: list[str]
    last_names: list[str]
    companies: list[Company]
    titles: list[tuple[str, str]]
    title_cum: list[float]
    timeframe_cum: list[float]
    grade_cum: dict[str, list[float]]
    walk: dict[str, tuple[list[float], list[str | None]]]
    marketing_cum: list[float]
    owned_cum: list[float]
    owned_kinds: list[str]


def build_pools(rng: random.Random, *, companies: int = 4000) -> Pools:
    """Build the name, company and distribution pools (about 0.1 s)."""
    first = [n for n in PersonProvider.first_names if n.isalpha() and n.isascii()]
    last = [n for n in PersonProvider.last_names if n.isalpha() and n.isascii()]
    country_cum = _cum([w for _, _, w in COUNTRIES])
    taken: set[str] = set()
    pool: list[Company] = []
    for _ in range(companies):
        roll = rng.random()
        if roll < 0.45:
            name = f"{rng.choice(last)} {rng.choice(COMPANY_SUFFIXES)}"
        elif roll < 0.75:
            name = f"{rng.choice(last)}-{rng.choice(last)}"
        else:
            name = f"{rng.choice(last)}, {rng.choice(last)} and {rng.choice(last)}"
        base = ascii_slug(name.replace("-", " ").split(",")[0].replace(" and ", " "))
        domain = f"{base}.{rng.choice(TLDS)}"
        n = 2
        while domain in taken:
            domain = f"{base}{n}.{rng.choice(TLDS)}"
            n += 1
        taken.add(domain)
        country, region, _ = COUNTRIES[bisect.bisect(country_cum, rng.random() * country_cum[-1])]
        employees = max(1, int(rng.lognormvariate(4.2, 1.6)))
        pool.append(
            Company(
                name=name,
                domain=domain,
                industry=rng.choice(INDUSTRIES),
                country=country,
                region=region,
                employees=employees,
                size_band=SizeBand.for_employees(employees),
            )
        )
    owned = MARKETING_KINDS + SALES_KINDS
    return Pools(
        first_names=first,
        last_names=last,
        companies=pool,
        titles=[(t, a) for t, a, _ in TITLES],
        title_cum=_cum([w for _, _, w in TITLES]),
        timeframe_cum=_cum([w for _, w in TIMEFRAMES]),
        grade_cum={stage: _cum(w) for stage, w in GRADE_WEIGHTS.items()},
        walk={stage: (_cum([p for _, p in moves]), [t for t, _ in moves]) for stage, moves in WALK.items()},
        marketing_cum=_cum([w for _, w in MARKETING_KINDS]),
        owned_cum=_cum([w for _, w in owned]),
        owned_kinds=[k for k, _ in owned],
    )


MARKETING_KIND_LIST = [k for k, _ in MARKETING_KINDS]
BY_OWNER_KINDS = frozenset(k for k, _ in SALES_KINDS)
# As `activity_record` counts them: sales touches bump `sales_touches` and `last_touch_at`.
SALES_TOUCH_SET = frozenset(SALES_TOUCH_KINDS)


def pick(cum: list[float], rnd: float) -> int:
    """Return the index a uniform `rnd` in [0, 1) falls on in the cumulative weights `cum`."""
    return bisect.bisect(cum, rnd * cum[-1])


def stage_walk(pools: Pools, rng: random.Random) -> list[str]:
    """Return the stages one lead passes through, starting at inquiry; every step is an allowed move."""
    path = [Stage.INQUIRY.value]
    walk = pools.walk
    for _ in range(MAX_MOVES):
        cum, targets = walk[path[-1]]
        target = targets[bisect.bisect(cum, rng.random() * cum[-1])]
        if target is None:
            break
        path.append(str(target))
    return path


def move_times(created: int, moves: int, end: int, rng: random.Random) -> list[int]:
    """Return strictly increasing second offsets for a lead's creation and `moves` later stage changes.

    Gaps average five days; a lead created near the end of the window has its moves squeezed in before it.
    """
    times = [created]
    t = created
    for _ in range(moves):
        gap = int(rng.expovariate(1 / (5 * DAY))) + 60
        room = end - t
        if gap >= room:
            gap = max(1, int(room * rng.random() * 0.5))
        t += gap
        times.append(t)
    return times


class Clock:
    """Turn second offsets from the window start into PostgreSQL timestamp text, fast (two lookups)."""

    def __init__(self, start: dt.datetime, days: int) -> None:
        self.start = start
        self.days = [(start + dt.timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(days + 2)]
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]

    def text(self, offset: int) -> str:
        return self.days[offset // DAY] + self.times[offset % DAY]

    def datetime(self, offset: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=offset)
