"""Benchmark the funnel dashboard on rollups against the same numbers from the raw tables, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_reporting_bench \
        python bench/bench_dashboard.py [--repeat 5] [--raw-scenarios 4] [--day-changes 0] [--rebuild] [--no-day]

Needs a database filled by bench/generate.py (1M leads, 10M activities for the target numbers). Prints:
- the first full build of the rollups (only when they are empty or with --rebuild);
- per scenario (period x filter): the dashboard page's server time (a full GET through Django: selectors
  on rollups + template), and the same reports computed from the raw stage log, leads and activities;
- p50/p95 of each and the ratio raw p95 / page p95 (target >= 20x, page p95 <= 500 ms);
- the incremental refresh's time for a day of changes (stage moves and sales touches written through
  the services on the day after the data ends), and a check that the day's rollups equal the raw log.
Timings are wall-clock on this machine; compare the ratios, not the absolute numbers, across machines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")
    # Debug off: with it on Django keeps every query in memory and renders slower than production does.
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_executive():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from leads.roles import Role

    user, created = get_user_model().objects.get_or_create(username="bench_executive")
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=Role.EXECUTIVE))
    return user


def scenarios(last_day: dt.date) -> list[tuple[str, dict]]:
    """Return (name, query) pairs: periods ending on the data's last day, with and without filters."""
    from leads.models import Campaign, Profile

    month = last_day.replace(day=1)
    quarter_start = last_day - dt.timedelta(days=89)
    campaign = Campaign.objects.order_by("pk").values_list("pk", flat=True).first()
    team = Profile.objects.exclude(team=None).order_by("team_id").values_list("team_id", flat=True).first()
    rep = Profile.objects.filter(user__username__startswith="bench_rep").values_list("user_id", flat=True).first()
    month_q = {"period": "custom", "start": month.isoformat(), "end": last_day.isoformat()}
    quarter_q = {"period": "custom", "start": quarter_start.isoformat(), "end": last_day.isoformat()}
    found = [
        ("month", month_q),
        ("quarter", quarter_q),
        ("month, source=event", {**month_q, "source": "event"}),
        ("quarter, source=inbound", {**quarter_q, "source": "inbound"}),
    ]
    if campaign:
        found.append(("quarter, campaign", {**quarter_q, "campaign": campaign}))
    if team:
        found.append(("month, team", {**month_q, "team": team}))
    if rep:
        found.append(("quarter, rep", {**quarter_q, "rep": rep}))
    return found


def raw_reports(query: dict) -> None:
    """Compute everything the dashboard shows from the raw tables (the baseline)."""
    from reporting.filters import ReportFilterForm, report_scope
    from reporting.selectors import RAW, cost_report, funnel_report
    from reporting.tables import cost_tables, funnel_tables

    user = bench_executive()
    scope = report_scope(user)
    filters = ReportFilterForm(query, scope=scope).filters()
    report = funnel_report(filters=filters, scope=scope, source=RAW)
    funnel_tables(report)
    cost_tables(cost_report(report=report))


def day_of_changes(*, day: dt.date, moves: int, touches: int) -> tuple[int, int]:
    """Write a day's worth of stage moves and sales touches through the services, on `day`."""
    from django.utils import timezone

    from leads.lifecycle import allowed_targets
    from leads.models import Lead
    from leads.services.activities import activity_record
    from leads.services.lifecycle import lead_stage_change

    rng = random.Random(7)
    tz = timezone.get_default_timezone()
    top = Lead.objects.order_by("-pk").values_list("pk", flat=True).first()
    ids = rng.sample(range(1, top + 1), min(top, moves * 3))
    done = 0
    for lead in Lead.objects.filter(pk__in=ids).only("pk", "stage", "owner_id"):
        if done >= moves:
            break
        targets = allowed_targets(lead.stage)
        if not targets:
            continue
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=done % 28000), tz)
        lead_stage_change(lead=lead, to_stage=rng.choice(targets), at=at)
        done += 1
    touched = 0
    for lead in Lead.objects.filter(pk__in=ids[:touches]).only("pk"):
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(10)), tz)
        activity_record(lead=lead, kind="call", occurred_at=at)
        touched += 1
    return done, touched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="page requests per scenario (default 5)")
    parser.add_argument("--raw-scenarios", type=int, default=4, help="scenarios also computed raw (default 4)")
    parser.add_argument(
        "--day-changes", type=int, default=0, help="stage moves in the simulated day (0: the data's mean)"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups from scratch first")
    parser.add_argument("--no-day", action="store_true", help="skip the day of changes and the incremental refresh")
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import Client

    from leads.models import Activity, Lead, StageChange
    from reporting.days import local_day
    from reporting.filters import ReportFilters
    from reporting.models import LeadFunnelFact
    from reporting.selectors import RAW, ROLLUPS
    from reporting.services import rollups_rebuild, rollups_refresh

    print(f"database: {connection.vendor}; leads {Lead.objects.count():,}; activities ~{_estimate(Activity):,}")
    if connection.vendor != "postgresql":
        print("warning: the target numbers are for PostgreSQL")
    if args.rebuild or not LeadFunnelFact.objects.exists():
        seconds, result = timed(rollups_rebuild)
        print(f"full rollup build: {seconds:.1f} s for {result.leads:,} leads, {result.flow_days} days")
    seconds, _ = timed(rollups_refresh)
    print(f"catch-up refresh with nothing new: {seconds * 1000:.0f} ms")
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk write: statistics, and the visibility map that lets
        # the covering indexes answer without reading the table.
        tables = "reporting_leadfunnelfact, reporting_funneldailyflow, reporting_funneldailycohort"
        cursor.execute(f"VACUUM (ANALYZE) {tables}" if connection.vendor == "postgresql" else "ANALYZE")

    last = StageChange.objects.order_by("-changed_at").values_list("changed_at", flat=True).first()
    last_day = local_day(last)
    client = Client(HTTP_HOST="localhost")
    client.force_login(bench_executive())
    page_times: list[float] = []
    raw_times: list[float] = []
    print(f"\n{'scenario':28} {'page p50 ms':>12} {'page max ms':>12} {'raw s':>9} {'raw/page':>9}")
    for index, (name, query) in enumerate(scenarios(last_day)):
        times = []
        client.get("/reports/", query)  # warm the cache of the database pages the scenario reads
        for _ in range(args.repeat):
            seconds, response = timed(lambda q=query: client.get("/reports/", q))
            assert response.status_code == 200, response.status_code
            times.append(seconds)
        page_times += times
        raw = None
        if index < args.raw_scenarios:
            raw, _ = timed(lambda q=query: raw_reports(q))
            raw_times.append(raw)
        ratio = f"{raw / statistics.median(times):8.0f}x" if raw else f"{'-':>9}"
        raw_text = f"{raw:9.2f}" if raw else f"{'-':>9}"
        print(f"{name:28} {statistics.median(times) * 1000:12.0f} {max(times) * 1000:12.0f} {raw_text} {ratio}")
    page95, raw95 = p95(page_times), p95(raw_times)
    print(
        f"\ndashboard page p95 {page95 * 1000:.0f} ms over {len(page_times)} requests (target <= 500 ms); "
        f"raw p95 {raw95:.2f} s over {len(raw_times)} runs; raw p95 / page p95 = {raw95 / page95:.0f}x "
        "(target >= 20x)"
    )

    if args.no_day:
        return
    day = last_day + dt.timedelta(days=1)
    days = max((last_day - local_day(StageChange.objects.order_by("changed_at").first().changed_at)).days, 1)
    moves = args.day_changes or max(StageChange.objects.count() // days, 1)
    seconds, (done, touched) = timed(lambda: day_of_changes(day=day, moves=moves, touches=moves // 2))
    print(f"\nday of changes on {day}: {done:,} stage moves and {touched:,} sales touches written in {seconds:.1f} s")
    seconds, result = timed(rollups_refresh)
    print(
        f"incremental refresh: {seconds:.1f} s for {result.leads:,} leads, "
        f"{result.flow_days} flow days, {result.cohort_days} cohort days"
    )
    check = ReportFilters(start=day, end=day)
    same = ROLLUPS.flow(check, None) == RAW.flow(check, None)
    print(f"that day's flow from rollups equals the raw log: {same}")


def _estimate(model) -> int:
    from django.db import connection

    if connection.vendor != "postgresql":
        return model.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [model._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    main()
