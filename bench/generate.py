"""Generate N leads and M activities fast, with full stage histories, for benchmarks and load tests.

    python bench/generate.py --leads 1000000 --activities 10000000 [--reps 20] [--seed 0] [--truncate]

Uses the Django settings (DATABASE_URL). On PostgreSQL it streams rows with COPY in chunks of leads, so
memory stays flat whatever N is (nothing per lead is kept
across chunks): a second thread runs the COPY of chunk k while the main thread builds
chunk k+1 (psycopg2 releases the GIL while it talks to the server), which keeps both cores busy.

COPY bypasses the model guard (`Lead.save`/`bulk_create` refuse stage writes outside the lifecycle
service) on purpose: going through the ORM would cost an hour for 1M leads. The guard exists so the
stage log stays complete, so this script writes one StageChange row for every stage each lead passed
through (from "" to inquiry at creation, then every move, at increasing times), and the invariant
`leads.selectors.stage_log_mismatches()` holds on what it writes.

Default is to append (new ids and e-mails; bench reps and campaigns are reused); `--truncate` first empties
leads, their activities and stage log (and, by CASCADE, rows of other apps that point at leads).
On another database (SQLite) it falls back to the ORM through the lifecycle service for up to
`FALLBACK_MAX_LEADS` leads, so tests can exercise the same distributions, and refuses more.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FALLBACK_MAX_LEADS = 20_000
CHUNK_LEADS = 10_000


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")
    import django

    django.setup()


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
    from bench.generate_rows import CAMPAIGN_KINDS
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


def run(
    *,
    leads: int,
    activities: int,
    reps: int = 20,
    seed: int = 0,
    truncate: bool = False,
    chunk: int = CHUNK_LEADS,
    compare_orm: int = 0,
    out: Callable[[str], None] = print,
) -> dict[str, int]:
    """Generate the data and return the number of rows written per table.

    With `compare_orm` > 0 on PostgreSQL, also time the ORM path for that many leads (rolled back) and
    print how many times faster COPY was, both measured in this run.
    """
    from django.db import connection

    from bench.generate_rows import WINDOW_DAYS, Generator
    from bench.timing import Timer
    from leadops.errors import ApplicationError

    if leads < 1 or activities < 0 or reps < 1:
        raise ApplicationError("--leads must be at least 1, --activities at least 0 and --reps at least 1.")
    timer = Timer()
    wall = time.perf_counter()
    cpu = time.process_time()
    load = os.getloadavg()[0]
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
        from bench.generate_orm import orm_fallback

        counts = orm_fallback(gen=gen, chunk=chunk, truncate=truncate, timer=timer)
    elapsed = time.perf_counter() - wall
    timer.notes.append(f"this script's CPU (all threads): {time.process_time() - cpu:.1f} s")
    timer.notes.append(f"load average (1 min) at start / end: {load:.1f} / {os.getloadavg()[0]:.1f}")
    total = sum(counts.values())
    out(
        f"Generated {counts['leads']:,} leads, {counts['stage_changes']:,} stage changes, "
        f"{counts['activities']:,} activities on {connection.vendor} in {elapsed:.1f} s "
        f"({total / elapsed:,.0f} rows/s overall):"
    )
    timer.report(out)
    if compare_orm and connection.vendor == "postgresql":
        orm_rate = _orm_rate(leads=compare_orm, activities=activities * compare_orm // leads, seed=seed,
                             rep_ids=rep_ids, campaigns=campaigns, chunk=chunk)  # fmt: skip
        out(
            f"Baseline, the ORM path (lifecycle bulk helper + bulk_create) for {compare_orm:,} leads, rolled back: "
            f"{orm_rate:,.0f} rows/s; COPY path: {total / elapsed:,.0f} rows/s = {total / elapsed / orm_rate:.1f}x"
        )
    return counts


class _RollBack(Exception):
    pass


def _orm_rate(*, leads: int, activities: int, seed: int, rep_ids: list[int], campaigns: list, chunk: int) -> float:
    """Return rows/second of the ORM fallback on this database, writing in a transaction it rolls back."""
    from django.db import transaction

    from bench.generate_orm import orm_fallback
    from bench.generate_rows import Generator
    from bench.timing import Timer

    gen = Generator(leads=leads, activities=activities, seed=seed + 1, reps=rep_ids, campaigns=campaigns)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            counts = orm_fallback(gen=gen, chunk=chunk, truncate=False, timer=Timer())
            elapsed = time.perf_counter() - started
            raise _RollBack
    except _RollBack:
        pass
    return sum(counts.values()) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, required=True, help="leads to create")
    parser.add_argument("--activities", type=int, required=True, help="activities to create, spread over the leads")
    parser.add_argument("--reps", type=int, default=20, help="sales reps owning leads past MQL (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--truncate", action="store_true", help="empty leads, activities and stage log first")
    parser.add_argument(
        "--compare-orm",
        type=int,
        default=0,
        metavar="N",
        help="also time the ORM path for N leads (rolled back) and print the speed-up of COPY",
    )
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
            compare_orm=args.compare_orm,
        )
    except ApplicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
