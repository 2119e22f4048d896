"""Benchmark the rep's queue on PostgreSQL (not a test: it prints ratios against baselines of the same run).

    DATABASE_URL=postgres://.../leadops_queue_bench python bench/bench_queue.py \\
        --small-database-url postgres://.../leadops_queue [--clients 20] [--requests 150]

Expects leads generated beforehand (1M in DATABASE_URL, 100k in --small-database-url) over 200 reps by the
data generator (`bench/generate.py --leads N --activities M --reps 200 --truncate`). It measures:

1. The queue page's p95 server time under `--clients` concurrent clients, each a different rep, against a
   bare Django view (same middleware, session and login) on the same gunicorn server in the same run.
2. Page 100 against page 1 of one rep's queue (keyset pagination), sequentially on the same server.
3. The due-follow-up reminder scan at the small and the large database, each given the same 1,000 due
   follow-ups (so the same batch and the same work), timed in alternating rounds (median of 50 runs each);
   the ratio quoted is the median of the rounds' ratios.

Setup it performs on the large database (said in its output): one rep is given enough open leads for
100 pages (owner changes only, no stage writes), sessions are created for the reps, and the lead table is
vacuumed and analysed (as autovacuum does after a bulk load).
Server time is the `Server-Timing` header a bench-only middleware adds (the time inside Django).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE_SIZE = 25
HEAVY_REP = "bench_rep_001"
SCAN_RUNS = 200
# Due follow-ups at both sizes (two batches of the scan's 500): the same work, a tenfold table.
DUE_FOLLOW_UPS = 1000


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    import django

    django.setup()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def scan_setup() -> int:
    """Give this database exactly DUE_FOLLOW_UPS due follow-ups; return how many are pending in all.

    The scan's cost should follow its batch, not the table: so both sizes get the same due backlog (the
    last runs compared a full batch at 1M with a short one at 100k). Follow-ups more than a day ahead are
    pending too (owed later, as the queue services mark them), so the not-yet-due part of the index grows
    with the table, as it would.
    """
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from leads.models import Lead
    from leads.services.reminders import WORKED

    now = timezone.now()
    owned = Lead.objects.filter(owner__isnull=False, stage__in=WORKED)
    Lead.objects.filter(reminder_due_at__isnull=False).update(reminder_due_at=None)
    ahead = owned.filter(next_follow_up_at__gt=now + dt.timedelta(days=1)).update(
        reminder_due_at=F("next_follow_up_at")
    )
    due_ids = list(
        owned.filter(next_follow_up_at__lte=now).order_by("pk").values_list("pk", flat=True)[:DUE_FOLLOW_UPS]
    )
    if len(due_ids) < DUE_FOLLOW_UPS:
        raise SystemExit(f"Only {len(due_ids)} owned leads have a past follow-up; need {DUE_FOLLOW_UPS}.")
    Lead.objects.filter(pk__in=due_ids).update(reminder_due_at=F("next_follow_up_at"))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
    return ahead + len(due_ids)


def scan_time() -> dict:
    """Time the reminder scan (the query the beat task runs each time): median of SCAN_RUNS."""
    from django.utils import timezone

    from leads.models import Lead
    from leads.services.reminders import due_follow_ups

    now = timezone.now()
    rows = len(list(due_follow_ups(now=now)))
    times = []
    for _ in range(SCAN_RUNS):
        started = time.perf_counter()
        list(due_follow_ups(now=now))
        times.append(time.perf_counter() - started)
    return {
        "leads": Lead.objects.count(),
        "due": Lead.objects.filter(reminder_due_at__lte=now).count(),
        "batch": rows,
        "median_ms": statistics.median(times) * 1000,
    }


def prepare(*, reps_wanted: int) -> tuple[list[str], str, str]:
    """Give the heavy rep 100+ pages, create sessions; return (rep session keys, heavy session, page-100 cursor)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from leads.lifecycle import Stage
    from leads.models import Lead
    from leads.selectors_queue import WORKED, queue_page

    users = get_user_model()
    heavy = users.objects.get(username=HEAVY_REP)
    needed = PAGE_SIZE * 101
    have = Lead.objects.filter(owner=heavy, stage__in=WORKED).count()
    if have < needed:
        donors = list(
            Lead.objects.filter(owner__isnull=False, stage__in=(Stage.SAL, Stage.SQL, Stage.OPPORTUNITY))
            .exclude(owner=heavy)
            .order_by("pk")
            .values_list("pk", flat=True)[: needed - have]
        )
        Lead.objects.filter(pk__in=donors).update(owner=heavy)
        print(f"setup: gave {HEAVY_REP} {len(donors):,} more open leads ({have:,} -> {have + len(donors):,})")
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load: statistics and the visibility map (index-only scans).
        cursor.execute("VACUUM ANALYZE leads_lead")

    def session_for(user) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    reps = list(users.objects.filter(username__startswith="bench_rep_").order_by("username")[:reps_wanted])
    sessions = [session_for(rep) for rep in reps]
    cursor_value = None
    for _ in range(99):
        cursor_value = queue_page(user=heavy, cursor=cursor_value, limit=PAGE_SIZE).next_cursor
    return sessions, session_for(heavy), cursor_value


class Client:
    def __init__(self, port: int, session: str) -> None:
        self.port = port
        self.cookie = f"sessionid={session}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str) -> float:
        """GET path; return the server time in milliseconds (raises on anything but 200)."""
        for attempt in range(2):
            try:
                self.conn.request("GET", path, headers={"Cookie": self.cookie})
                response = self.conn.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {body[:200]!r}")
        timing = response.getheader("Server-Timing", "")
        return float(timing.split("dur=")[1])


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_bench", "PYTHONPATH": str(ROOT)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "leadops.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def load(*, port: int, sessions: list[str], clients: int, requests: int) -> dict[str, list[float]]:
    """Run `clients` threads; each alternates the queue page and the bare view for its rep."""
    results: dict[str, list[float]] = {"queue": [], "bare": []}
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    errors: list[Exception] = []

    def run(i: int) -> None:
        rng = random.Random(i)
        client = Client(port, sessions[i % len(sessions)])
        mine: dict[str, list[float]] = {"queue": [], "bare": []}
        try:
            client.get("/queue/")
            barrier.wait()
            for _ in range(requests):
                order = ["queue", "bare"]
                rng.shuffle(order)
                for kind in order:
                    mine[kind].append(client.get("/queue/" if kind == "queue" else "/bench/bare/"))
        except Exception as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)
        with lock:
            for kind, values in mine.items():
                results[kind].extend(values)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def pages(*, port: int, session: str, cursor: str, runs: int) -> dict[str, list[float]]:
    client = Client(port, session)
    client.get("/queue/")
    client.get(f"/queue/?cursor={cursor}")
    out: dict[str, list[float]] = {"page1": [], "page100": []}
    for _ in range(runs):
        out["page1"].append(client.get("/queue/"))
        out["page100"].append(client.get(f"/queue/?cursor={cursor}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small-database-url", required=True, help="the 100k-lead database, for the scan growth")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=150, help="queue + bare requests per client")
    parser.add_argument("--page-runs", type=int, default=60)
    parser.add_argument("--port", type=int, default=8764)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--scan-rounds", type=int, default=7, help="scan rounds, small and large in turn")
    parser.add_argument("--scan-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scan-setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    setup_django()
    if args.scan_setup:
        print(json.dumps({"pending": scan_setup()}))
        return 0
    if args.scan_only:
        print(json.dumps(scan_time()))
        return 0
    from django.db import connection

    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL.", file=sys.stderr)
        return 2

    small_env = {**os.environ, "DATABASE_URL": args.small_database_url}

    def small(flag: str) -> dict:
        command = [sys.executable, __file__, "--small-database-url", "-", flag]
        return json.loads(subprocess.run(command, env=small_env, check=True, capture_output=True, text=True).stdout)

    small_pending = small("--scan-setup")["pending"]
    large_pending = scan_setup()
    rounds = []
    for _ in range(args.scan_rounds):
        rounds.append((small("--scan-only"), scan_time()))
    for small_scan, large_scan in rounds:
        if small_scan["batch"] != large_scan["batch"] or small_scan["due"] != large_scan["due"]:
            raise SystemExit(f"The scans did unequal work: {small_scan} vs {large_scan}")
    scan_ratios = sorted(large_scan["median_ms"] / small_scan["median_ms"] for small_scan, large_scan in rounds)
    small_scan, large_scan = rounds[0]
    sessions, heavy_session, cursor = prepare(reps_wanted=200)
    connection.close()
    server = start_server(args.port, args.workers, args.threads)
    try:
        loaded = load(port=args.port, sessions=sessions, clients=args.clients, requests=args.requests)
        paged = pages(port=args.port, session=heavy_session, cursor=cursor, runs=args.page_runs)
    finally:
        server.terminate()
        server.wait(timeout=30)

    queue_p95, bare_p95 = p95(loaded["queue"]), p95(loaded["bare"])
    p1, p100 = statistics.median(paged["page1"]), statistics.median(paged["page100"])
    print(f"\nQueue benchmark ({large_scan['leads']:,} leads; server {args.workers}x{args.threads} gthread)")
    print(f"{'measure':<58} {'value':>12} {'baseline':>12} {'ratio':>7} target")
    print(
        f"{'queue page p95 vs bare view p95, ' + str(args.clients) + ' clients (ms)':<58} "
        f"{queue_p95:>12.2f} {bare_p95:>12.2f} {queue_p95 / bare_p95:>7.2f} <= 3"
    )
    print(f"{'page 100 vs page 1, median (ms)':<58} {p100:>12.2f} {p1:>12.2f} {p100 / p1:>7.2f} <= 1.2")
    scan_label = f"reminder scan {large_scan['leads']:,} vs {small_scan['leads']:,} leads, median of rounds"
    scan_ratio = statistics.median(scan_ratios)
    small_ms = statistics.median(small_scan["median_ms"] for small_scan, _ in rounds)
    large_ms = statistics.median(large_scan["median_ms"] for _, large_scan in rounds)
    print(f"{scan_label + ' (ms)':<58} {large_ms:>12.3f} {small_ms:>12.3f} {scan_ratio:>7.2f} <= 1.5")
    print(
        f"\n(requests: {len(loaded['queue'])} queue + {len(loaded['bare'])} bare; page runs {args.page_runs}; "
        f"scan: {large_scan['due']:,} due follow-ups at both sizes, batch {large_scan['batch']}, pending "
        f"{large_pending:,} vs {small_pending:,}; {len(rounds)} rounds of {SCAN_RUNS} runs each, ratio per round "
        f"{', '.join(f'{r:.2f}' for r in scan_ratios)}; load average {os.getloadavg()[0]:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
