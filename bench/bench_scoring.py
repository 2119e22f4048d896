"""Benchmark the full re-score through the real Celery path against two baselines measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_scoring_bench \
    REDIS_URL=redis://127.0.0.1:6379/2 python bench/bench_scoring.py [--bulk-update-sample 100000]

Needs a migrated PostgreSQL database already filled with leads and activities (bench/generate.py) and a
Redis. It starts its own Celery worker process and stops it at the end.

1. Warm-up (untimed): every lead gets its score under the active version (v1) by the floor UPDATE.
2. Real path (timed): a draft v2 with changed weights is signed off by Marketing and a Sales Manager;
   that records a re-score run and enqueues its chunks on commit; the worker scores them. Timed from the
   second sign-off (the enqueue) until the run record says finished. Sales-ready hand-offs included.
3. Floor (b), timed: ONE UPDATE of every lead with v2's scores, computed by the same SELECT the real
   path uses, writing every row (no change check, no history, no hand-off). It writes every row whatever
   they held, so it needs no reset to v1 first (a full pass costs ~15 minutes on the shared machine).
4. Django bulk_update (a), timed: v2's scores for the first N leads are computed in SQL and fetched
   (untimed), then written with `bulk_update(batch_size=1000)`, which also writes every row given. Only
   the write is timed, which flatters this baseline; its rate is leads per second of that write.
5. Single lead: mean time of `lead_score_explain` (Python engine, the lead page) and of
   `leads_score(lead_ids=[id])` (set-based write path) over random leads.

Memory: peak resident memory of the worker's pool processes during the run, sampled from /proc.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workers import celery_worker_command  # noqa: E402 - after the path is set

WORKER_LOG = Path(os.environ.get("LEADOPS_VAR_DIR", ROOT / "var")) / "bench_scoring_worker.log"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django

    django.setup()


def floor_update(version, *, now) -> tuple[int, float]:
    """Write every lead's score under `version` in one UPDATE; return (rows, seconds)."""
    from django.db import connection, transaction

    from scoring.selectors import rules_for
    from scoring.sql import Sql, graded_select

    fit, eng = rules_for(version=version)
    graded = graded_select(
        version=version, fit_rules=fit, engagement_rules=eng, now=now, lead_filter=Sql().add("l.id IS NOT NULL")
    )
    sql = Sql().add("UPDATE leads_lead l SET score = g.total, grade = g.grade, score_fit = g.fit, ")
    sql.add("score_engagement = g.eng, scored_at = %s FROM (", now).extend(graded).add(") g WHERE l.id = g.id")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        rows = cursor.rowcount
    return rows, time.perf_counter() - started


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    except OSError:
        return []
    return [int(x) for x in out.stdout.split()]


def start_worker(concurrency: int) -> subprocess.Popen:
    env = dict(os.environ)
    log = open(WORKER_LOG, "w")  # noqa: SIM115 - lives as long as the worker
    worker = subprocess.Popen(
        celery_worker_command(concurrency=concurrency, name=f"bench-scoring-{os.getpid()}@%h"),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from leadops.celery import app

    for _ in range(60):
        if app.control.ping(timeout=1.0):
            return worker
        if worker.poll() is not None:
            raise SystemExit(f"The Celery worker exited; see {WORKER_LOG}")
    raise SystemExit("The Celery worker did not answer a ping within a minute.")


def stop_worker(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()


def bench_users():
    from leads.roles import Role
    from tests.factories import UserFactory

    marketer = UserFactory(username="bench_scoring_marketer", role=Role.MARKETING)
    manager = UserFactory(username="bench_scoring_manager", role=Role.SALES_MANAGER)
    return marketer, manager


def make_v2(marketer):
    """A draft from the active version with changed weights: what a quarterly tuning looks like."""
    from django.db.models import F

    from leads.services.uld import uld_draft_create, uld_propose
    from scoring.models import EngagementRule, FitRule

    draft = uld_draft_create(by=marketer)
    # Alternate up and down, so the same tuning applied again still changes scores (v2 up, v3 back, ...).
    step = 1 if draft.number % 2 == 0 else -1
    fit, engagement = FitRule.objects.filter(uld_version=draft), EngagementRule.objects.filter(uld_version=draft)
    fit.filter(label="Decision maker").update(points=F("points") + 3 * step)
    fit.filter(label="Target industry").update(points=F("points") + 2 * step)
    engagement.filter(label="Visited pricing").update(points=F("points") + 2 * step)
    engagement.filter(label="Web visit").update(half_life_days=F("half_life_days") + 3 * step)
    engagement.filter(label="Email open").update(points=F("points") + step)
    uld_propose(version=draft, by=marketer)
    return draft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-update-sample", type=int, default=100_000, help="leads written by bulk_update")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--single", type=int, default=200, help="leads for the single-lead timing")
    parser.add_argument("--again", action="store_true", help="run on a database this script already used")
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.utils import timezone

    from leads.models import Activity, Lead, ULDVersion
    from leads.selectors_uld import uld_active
    from leads.services.uld import uld_sign
    from scoring.models import RescoreRun, ScoreDirty
    from scoring.selectors import lead_score_explain, rules_for
    from scoring.services import leads_score
    from scoring.sql import graded_select, id_range

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL (DATABASE_URL).")
    leads = Lead.objects.count()
    activities = Activity.objects.count()
    print(f"database: {leads:,} leads, {activities:,} activities; load average {os.getloadavg()[0]:.1f}")
    if not leads:
        raise SystemExit("No leads: fill the database with bench/generate.py first.")
    ScoreDirty.objects.all().delete()
    v1 = uld_active()
    marketer, manager = bench_users()
    now = timezone.now()
    if args.again:
        # A database this script already ran on holds the active version's scores: tune it once more.
        print(f"again: starting from the active v{v1.number} and the scores it wrote")
    elif v1.number != 1:
        raise SystemExit("The active version is not the seeded v1; use a fresh database or --again.")
    else:
        rows, seconds = floor_update(v1, now=now)
        vacuum()
        print(f"warm-up: v1 scores written to {rows:,} leads in {seconds:.1f} s (untimed)")

    v2 = make_v2(marketer)
    uld_sign(version=v2, by=marketer)
    worker = start_worker(args.concurrency)
    pool = []
    try:
        started = time.perf_counter()
        uld_sign(version=v2, by=manager)
        run = RescoreRun.objects.filter(uld_version=v2).latest("started_at")
        peak = 0
        while True:
            pool = pool or children(worker.pid)
            peak = max([peak] + [rss_kb(pid) for pid in pool])
            run.refresh_from_db()
            if run.finished_at:
                break
            time.sleep(0.2)
        real_seconds = time.perf_counter() - started
    finally:
        stop_worker(worker)
    real_rate = leads / real_seconds
    print(
        f"real path (Celery, {args.concurrency} worker processes, {run.chunks_total} chunks): {real_seconds:.1f} s, "
        f"{real_rate:,.0f} leads/s; {run.leads_changed:,} scores changed, {run.leads_qualified:,} new MQLs routed"
    )
    print(f"worker pool peak RSS: {peak / 1024:.0f} MB per process (chunks of fixed size; flat in the lead count)")

    v2 = ULDVersion.objects.get(pk=v2.pk)
    vacuum()
    rows, floor_seconds = floor_update(v2, now=run.as_of)
    floor_rate = rows / floor_seconds
    print(f"floor (b), one UPDATE: {floor_seconds:.1f} s, {floor_rate:,.0f} leads/s")

    vacuum()
    first = Lead.objects.order_by("pk").values_list("pk", flat=True).first()
    last = Lead.objects.order_by("pk").values_list("pk", flat=True)[
        args.bulk_update_sample - 1 : args.bulk_update_sample
    ]
    last = list(last)[0] if last else Lead.objects.order_by("-pk").values_list("pk", flat=True).first()
    fit, eng = rules_for(version=v2)
    graded = graded_select(
        version=v2, fit_rules=fit, engagement_rules=eng, now=run.as_of, lead_filter=id_range(first, last)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, total, grade, fit, eng FROM ({graded.text}) s", graded.params)
        computed = cursor.fetchall()
    objs = [
        Lead(pk=pk, score=total, grade=grade, score_fit=fit_points, score_engagement=eng_points, scored_at=run.as_of)
        for pk, total, grade, fit_points, eng_points in computed
    ]
    started = time.perf_counter()
    Lead.objects.bulk_update(objs, ["score", "grade", "score_fit", "score_engagement", "scored_at"], batch_size=1000)
    bulk_seconds = time.perf_counter() - started
    bulk_rate = len(objs) / bulk_seconds
    print(f"Django bulk_update (a), {len(objs):,} leads: {bulk_seconds:.1f} s, {bulk_rate:,.0f} leads/s")

    ids = random.Random(0).sample(
        range(first, Lead.objects.order_by("-pk").values_list("pk", flat=True).first()), args.single
    )
    sample = list(Lead.objects.filter(pk__in=ids))
    started = time.perf_counter()
    for lead in sample:
        lead_score_explain(lead=lead)
    explain_ms = (time.perf_counter() - started) / len(sample) * 1000
    started = time.perf_counter()
    for lead in sample:
        leads_score(lead_ids=[lead.pk])
    write_ms = (time.perf_counter() - started) / len(sample) * 1000
    print(f"single lead: explain (Python engine) {explain_ms:.1f} ms; leads_score([id]) (SQL write) {write_ms:.1f} ms")

    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print()
    print("| measure | leads/s | ratio |")
    print("|---|---:|---:|")
    print(f"| real path (Celery chunks) | {real_rate:,.0f} | 1.0 |")
    print(
        f"| (a) bulk_update(batch_size=1000) | {bulk_rate:,.0f} | real {real_rate / bulk_rate:.1f}x faster (>= 10x) |"
    )
    print(
        f"| (b) one set-based UPDATE (floor) | {floor_rate:,.0f} | floor {floor_rate / real_rate:.2f}x real (<= 3x) |"
    )


if __name__ == "__main__":
    main()
