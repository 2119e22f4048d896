"""Load run (issue #8): reps polling their queues while events stream in and a big import runs.

    DATABASE_URL=postgres://.../leadops_queue_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        python bench/load_run.py [--reps 50] [--duration 60] [--events-per-second 200] [--import-rows 100000]

Not a test: it starts a real gunicorn (several gthread workers, the bench settings) and a real Celery
worker on the given database and Redis, then runs two phases with an asyncio client (aiohttp):

1. **quiet**: `--reps` logged-in bench reps poll `/queue/` every `--poll-interval` seconds for
   `--duration` seconds: the queue's p95 without load.
2. **loaded**: the same polling, plus single events POSTed to `/api/events/` at `--events-per-second`
   (open loop: sent on a clock, not after the previous answer) with a bearer token made by
   `manage.py api_token_create`, plus a `--import-rows` CSV uploaded to the import API at the start.
   The phase lasts `--duration` seconds or until the import is done, whichever is later.

Reports: 5xx responses per endpoint (target 0), the queue's p95 loaded / quiet (target <= 2x; client
latency, and the server time the bench middleware puts in `Server-Timing`), events accepted per second,
the import's time and outcome, and the CPU used by this client, the web server and the Celery worker
(the client shares the two cores with the server: its share is printed so the reader can judge).
Missing pieces (the events endpoint or the token command, built on other branches) are reported as
such and the other parts run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workers import celery_worker_command  # noqa: E402 - after the path is set

EVENT_TYPES = ("web_visit", "form_fill", "email_click", "webinar", "download")
TOKEN_USER = "bench-integration"  # noqa: S105 - a user name, not a secret
IMPORT_USER = "bench-marketer"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    import django

    django.setup()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else float("nan")


# --- setup (synchronous, through Django) -------------------------------------------------------------


def session_for(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def rep_sessions(count: int) -> list[str]:
    from django.contrib.auth import get_user_model

    reps = list(get_user_model().objects.filter(username__startswith="bench_rep_").order_by("username")[:count])
    if len(reps) < count:
        raise SystemExit(f"Need {count} bench reps, found {len(reps)}: run bench/generate.py --reps {count} first.")
    return [session_for(rep) for rep in reps]


def role_user(username: str, role: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


def api_token() -> tuple[str | None, str]:
    """Return (bearer token, note) from `manage.py api_token_create`, or (None, why not)."""
    role_user(TOKEN_USER, "Marketing")
    command = [
        sys.executable,
        "manage.py",
        "api_token_create",
        "--user",
        TOKEN_USER,
        "--name",
        f"load-run {time.strftime('%Y-%m-%d %H:%M:%S')}",
        "--scopes",
        "events:write",
        "--kind",
        "integration",
    ]
    done = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[0]
        return None, f"`manage.py api_token_create` failed on this branch ({why})"
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return (lines[-1], "token from api_token_create") if lines else (None, "api_token_create printed no token")


def known_emails(limit: int = 20_000) -> list[str]:
    """Recent leads' e-mails that the events API accepts (earlier imports stored some with non-ASCII local
    parts, which the API's EmailField refuses with a 400: events for them would only measure refusals)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from leads.models import Lead

    found = []
    for email in Lead.objects.filter(email__isnull=False).order_by("-pk").values_list("email", flat=True)[:limit]:
        try:
            validate_email(email)
        except ValidationError:
            continue
        found.append(email)
    return found


def import_file(rows: int, directory: Path) -> Path:
    """The import bench's trade-show list, with e-mails made unique to this run (so it creates leads)."""
    from bench.bench_import import generate_rows, write_csv

    data, _ = generate_rows(rows, seed=random.randrange(1 << 30))
    tag = secrets.token_hex(3)
    for row in data:
        row[3] = row[3].replace("@", f".lr{tag}@", 1)
    return write_csv(data, directory / f"load-run-{rows}.csv")


# --- processes -----------------------------------------------------------------------------------------


def start_worker(concurrency: int, queues: str | None, name: str = "worker", nice: int = 0) -> subprocess.Popen:
    log = open(ROOT / "var" / f"load_run_{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        celery_worker_command(concurrency=concurrency, name=f"{name}.load-run@%h", queues=queues, nice=nice),
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_bench"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def process_tree(pid: int) -> list[int]:
    """Return pid and its descendants (from /proc), so a pin reaches gunicorn's and Celery's forked children."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def pin(pid: int, cpus: set[int]) -> None:
    """Set the CPU affinity of every thread of pid and its descendants (processes they fork later inherit it)."""
    for member in process_tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*"):
            try:
                os.sched_setaffinity(int(task.name), cpus)
            except OSError:
                pass  # a thread that ended meanwhile


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process on this host (the oldest process named postgres), if any."""
    done = subprocess.run(["pgrep", "-o", "-x", "postgres"], capture_output=True, text=True)
    return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def cpu_list(text: str | None) -> set[int] | None:
    return {int(part) for part in text.split(",")} if text else None


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _groups(processes: dict[str, int], database: str) -> dict[int, str]:
    """Return {pid: group} for the server's and worker's process trees and this database's backends."""
    found: dict[int, str] = {}
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat(pid)
        if fields is None:
            continue
        for group, root in processes.items():
            if pid == root or int(fields[1]) == root:  # fields[1]: the parent's id
                found[pid] = group
        if pid not in found:
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            # PostgreSQL backends' titles name their database: "postgres: 15/main: user db host idle".
            if title.startswith(b"postgres:") and marker in title:
                found[pid] = "postgres"
    return found


def _cpu(pid: int) -> float | None:
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


class CpuSampler(threading.Thread):
    """Sample the CPU of each group's processes twice a second, so processes that exit during the phase
    (Celery closes its database connection after each task, which ends that backend) keep their share."""

    def __init__(self, processes: dict[str, int], database: str) -> None:
        super().__init__(daemon=True)
        self.processes, self.database = processes, database
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.stopping = threading.Event()
        self.sample(initial=True)

    def sample(self, initial: bool = False) -> None:
        for pid, group in _groups(self.processes, self.database).items():
            cpu = _cpu(pid)
            if cpu is None:
                continue
            # A process first seen after the start began during the phase: all its CPU is the phase's.
            self.first.setdefault(pid, cpu if initial else 0.0)
            self.last[pid] = (group, cpu)

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.sample()

    def finish(self) -> dict[str, float]:
        self.stopping.set()
        self.join()
        self.sample()
        used: dict[str, float] = dict.fromkeys([*self.processes, "postgres"], 0.0)
        for pid, (group, cpu) in self.last.items():
            used[group] += cpu - self.first[pid]
        return used


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the load (asyncio) --------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    accepted: int = 0  # events the server stored (its "created" + "replayed" counts)

    def status(self, code: int) -> None:
        self.statuses[code] = self.statuses.get(code, 0) + 1

    def failure(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1

    def count(self, low: int, high: int) -> int:
        return sum(n for code, n in self.statuses.items() if low <= code <= high)


async def poll_queue(http, base: str, session: str, stop_at: float, interval: float, tally: Tally) -> None:
    import aiohttp

    await asyncio.sleep(random.uniform(0, interval))  # spread the reps over the interval
    headers = {"Cookie": f"sessionid={session}"}
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            async with http.get(f"{base}/queue/", headers=headers, allow_redirects=False) as response:
                await response.read()
                tally.status(response.status)
                if response.status == 200:
                    tally.latencies.append((time.monotonic() - started) * 1000)
                    timing = response.headers.get("Server-Timing", "")
                    if "dur=" in timing:
                        tally.server_ms.append(float(timing.split("dur=")[1]))
        except (TimeoutError, aiohttp.ClientError) as exc:
            tally.failure(type(exc).__name__)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


async def send_events(
    http,
    base: str,
    token: str,
    rate: float,
    stop_at: float,
    emails: list[str],
    tally: Tally,
    max_in_flight: int,
    batch: int = 1,
) -> int:
    """Post events on a clock (open loop), `batch` per request (1: one event object, else {"events": [...]})
    at rate / batch requests a second; return how many requests could not be sent (too many in flight)."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    in_flight = asyncio.Semaphore(max_in_flight)
    skipped = 0
    tasks: set[asyncio.Task] = set()

    def event() -> dict:
        email = random.choice(emails) if emails and random.random() < 0.9 else f"{uuid.uuid4().hex[:12]}@load.example"
        return {
            "id": str(uuid.uuid4()),
            "type": random.choice(EVENT_TYPES),
            "email": email,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "properties": {"path": f"/pricing/{random.randint(1, 50)}"},
        }

    async def one() -> None:
        body = event() if batch == 1 else {"events": [event() for _ in range(batch)]}
        started = time.monotonic()
        try:
            async with http.post(f"{base}/api/events/", data=json.dumps(body), headers=headers) as response:
                text = await response.read()
                tally.status(response.status)
                tally.latencies.append((time.monotonic() - started) * 1000)
                if response.status in (200, 202):
                    answer = json.loads(text)
                    tally.accepted += answer.get("created", 0) + answer.get("replayed", 0)
        except (TimeoutError, aiohttp.ClientError) as exc:
            tally.failure(type(exc).__name__)
        finally:
            in_flight.release()

    started = time.monotonic()
    sent = 0
    while (now := time.monotonic()) < stop_at:
        due = int((now - started) * rate / batch) - sent
        for _ in range(max(0, due)):
            sent += 1
            if in_flight.locked():
                skipped += 1
                continue
            await in_flight.acquire()
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.005)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    return skipped


async def run_import(http, base: str, session: str, path: Path, tally: Tally) -> dict:
    """Upload the CSV to the import API (which starts it) and poll its status until it ends."""
    import aiohttp

    csrf = secrets.token_hex(16)  # any 32 characters: the cookie and the header must agree
    headers = {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf}
    form = aiohttp.FormData()
    form.add_field("file", path.read_bytes(), filename=path.name, content_type="text/csv")
    form.add_field("campaign_name", f"Load run {time.strftime('%Y-%m-%d %H:%M:%S')}")
    form.add_field("source", "load-run")
    started = time.monotonic()
    async with http.post(f"{base}/imports/api/", data=form, headers=headers) as response:
        tally.status(response.status)
        body = await response.text()
    if response.status != 201:
        return {"status": f"upload refused: HTTP {response.status} {body[:300]}", "seconds": None}
    job = json.loads(body)
    while True:
        await asyncio.sleep(1)
        async with http.get(f"{base}{job['status_url']}", headers=headers) as response:
            tally.status(response.status)
            if response.status != 200:
                continue
            job = await response.json()
        if job["status"] in ("done", "failed", "cancelled"):
            job["seconds"] = time.monotonic() - started
            return job


async def phase(
    *,
    base: str,
    sessions: list[str],
    duration: float,
    interval: float,
    events: tuple[str, float, list[str], int] | None,
    importing: tuple[str, Path] | None,
    max_duration: float,
) -> dict:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    queue, event_tally, import_tally = Tally(), Tally(), Tally()
    result: dict = {}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        began = time.monotonic()
        import_task = None
        if importing is not None:
            import_task = asyncio.create_task(run_import(http, base, importing[0], importing[1], import_tally))
        stop_at = began + duration
        pollers = [asyncio.create_task(poll_queue(http, base, s, stop_at, interval, queue)) for s in sessions]
        event_task = None
        if events is not None:
            token, rate, emails, batch = events
            event_task = asyncio.create_task(
                send_events(http, base, token, rate, stop_at, emails, event_tally, 256, batch)
            )
        await asyncio.gather(*pollers)
        if event_task is not None:
            result["events_skipped"] = await event_task
        if import_task is not None and not import_task.done():
            # Keep polling (not posting events) until the import ends: the queue is measured throughout it.
            extra_stop = began + max_duration
            while not import_task.done() and time.monotonic() < extra_stop:
                more_stop = min(extra_stop, time.monotonic() + 10)
                await asyncio.gather(
                    *(poll_queue(http, base, s, more_stop, interval, queue) for s in sessions),
                )
            if not import_task.done():
                import_task.cancel()
        if import_task is not None:
            try:
                result["import"] = await import_task
            except asyncio.CancelledError:
                result["import"] = {"status": f"not finished within {max_duration:.0f} s", "seconds": None}
        result["seconds"] = time.monotonic() - began
    result.update(queue=queue, events=event_tally, imports=import_tally)
    return result


async def probe_events(base: str, token: str) -> str | None:
    """Return why events cannot be posted (None when the endpoint takes one)."""
    import aiohttp

    body = {"id": str(uuid.uuid4()), "type": "web_visit", "email": "probe@load.example"}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.post(f"{base}/api/events/", data=json.dumps(body), headers=headers) as response,
    ):
        text = await response.text()
        if response.status in (200, 202):
            return None
        return f"POST /api/events/ answered HTTP {response.status}: {text[:200]}"


def event_counts(since) -> dict[str, int]:
    from django.db.models import Count

    from leads.models import Event

    rows = Event.objects.filter(received_at__gte=since).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def events_drain(since, limit: float) -> tuple[dict[str, int], float | None]:
    """Wait until the events received since `since` are all processed (or failed); return their counts by
    status and the seconds it took after the loaded phase ended (None: still pending at `limit`)."""
    started = time.monotonic()
    while True:
        counts = event_counts(since)
        if not counts.get("received") and not counts.get("queued"):
            return counts, time.monotonic() - started
        if time.monotonic() - started > limit:
            return counts, None
        time.sleep(1)


# --- main ----------------------------------------------------------------------------------------------


def measure(label: str, run, processes: dict[str, int], database: str) -> tuple[dict, dict]:
    sampler = CpuSampler(processes, database)
    sampler.start()
    own_before, wall_before, load_before = own_cpu_seconds(), time.monotonic(), os.getloadavg()[0]
    result = asyncio.run(run)
    wall = time.monotonic() - wall_before
    cpu = {group: seconds / wall for group, seconds in sampler.finish().items()}
    cpu["client"] = (own_cpu_seconds() - own_before) / wall
    cpu["load_average"] = (load_before, os.getloadavg()[0])
    print(f"{label}: {wall:.0f} s", file=sys.stderr)
    return result, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds of each phase (the loaded one at least)")
    parser.add_argument("--max-duration", type=float, default=900, help="the loaded phase's limit if the import lags")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between one rep's polls")
    parser.add_argument("--events-per-second", type=float, default=200)
    parser.add_argument(
        "--event-batch", type=int, default=1, help="events per request (1: single events; the API takes up to 500)"
    )
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (gthread)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument(
        "--bulk-worker",
        action="store_true",
        help="serve the bulk queue (imports) by its own worker, concurrency 1, instead of the main worker",
    )
    parser.add_argument(
        "--import-chunk-pause-ms", type=int, default=None, help="LEADOPS_IMPORT_CHUNK_PAUSE_MS for the workers"
    )
    parser.add_argument(
        "--integration-rate",
        default="15000/min",
        help="LEADOPS_API_INTEGRATION_RATE for the server: the default 3000/min would refuse most of 200 events/s",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="run the Celery workers at this nice level, as the Procfile does (0: same priority as the web server)",
    )
    parser.add_argument(
        "--web-cpus",
        help="pin gunicorn to these CPUs (e.g. 0), to see the web tier on cores of its own; with --background-cpus",
    )
    parser.add_argument(
        "--background-cpus",
        help="pin the Celery workers, this database server and this client to these CPUs (e.g. 1); restored after",
    )
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for events to process")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    os.environ["LEADOPS_API_INTEGRATION_RATE"] = args.integration_rate
    if args.import_chunk_pause_ms is not None:
        os.environ["LEADOPS_IMPORT_CHUNK_PAUSE_MS"] = str(args.import_chunk_pause_ms)
    setup_django()
    from django.db import connection

    from bench.bench_queue import start_server

    if connection.vendor != "postgresql":
        print("The load run needs PostgreSQL: set DATABASE_URL.", file=sys.stderr)
        return 2
    (ROOT / "var").mkdir(exist_ok=True)
    database = connection.settings_dict["NAME"]
    sessions = rep_sessions(args.reps)
    import_session = session_for(role_user(IMPORT_USER, "Marketing"))
    token, token_note = api_token()
    emails = known_emails()
    work = Path(tempfile.mkdtemp(prefix="load-run-"))
    csv_path = import_file(args.import_rows, work) if args.import_rows else None
    connection.close()

    base = f"http://127.0.0.1:{args.port}"
    server = start_server(args.port, args.workers, args.threads)
    from leadops.celery import BULK_QUEUE, DEFAULT_QUEUE

    workers = {}
    if args.bulk_worker:
        workers["worker"] = start_worker(args.celery_concurrency, DEFAULT_QUEUE, nice=args.worker_nice)
        workers["bulk worker"] = start_worker(1, BULK_QUEUE, name="bulk", nice=args.worker_nice)
    else:  # as the Procfile's worker: no -Q, so every queue
        workers["worker"] = start_worker(args.celery_concurrency, None, nice=args.worker_nice)
    web_cpus, background_cpus = cpu_list(args.web_cpus), cpu_list(args.background_cpus)
    postmaster = postmaster_pid() if background_cpus else None
    if web_cpus:
        pin(server.pid, web_cpus)
    if background_cpus:
        for w in workers.values():
            pin(w.pid, background_cpus)
        if postmaster:
            pin(postmaster, background_cpus)
        os.sched_setaffinity(0, background_cpus)
    notes = [token_note] if token else []
    if web_cpus or background_cpus:
        found = f"postmaster {postmaster}" if postmaster else "postmaster not found"
        notes.append(
            f"pinned: gunicorn to CPUs {sorted(web_cpus or [])}; Celery, PostgreSQL ({found}) and this client"
            f" to {sorted(background_cpus or [])}"
        )
    notes.append(f"LEADOPS_API_INTEGRATION_RATE={args.integration_rate} on the server")
    if args.import_chunk_pause_ms is not None:
        notes.append(f"LEADOPS_IMPORT_CHUNK_PAUSE_MS={args.import_chunk_pause_ms}")
    try:
        events_missing = asyncio.run(probe_events(base, token)) if token else token_note
        if events_missing:
            notes.append(f"events NOT sent: {events_missing}")
        processes = {"server": server.pid, **{name: w.pid for name, w in workers.items()}}
        # Untimed warm-up: every rep's first page (worker imports, connections, caches).
        asyncio.run(
            phase(
                base=base,
                sessions=sessions,
                duration=3,
                interval=args.poll_interval,
                events=None,
                importing=None,
                max_duration=3,
            )
        )
        quiet, quiet_cpu = measure(
            "quiet phase",
            phase(
                base=base,
                sessions=sessions,
                duration=args.duration,
                interval=args.poll_interval,
                events=None,
                importing=None,
                max_duration=args.duration,
            ),
            processes,
            database,
        )
        from django.utils import timezone

        loaded_start = timezone.now()
        loaded, loaded_cpu = measure(
            "loaded phase",
            phase(
                base=base,
                sessions=sessions,
                duration=args.duration,
                interval=args.poll_interval,
                events=None if events_missing else (token, args.events_per_second, emails, args.event_batch),
                importing=(import_session, csv_path) if csv_path else None,
                max_duration=args.max_duration,
            ),
            processes,
            database,
        )
        loaded["event_counts"], loaded["drain_seconds"] = (
            events_drain(loaded_start, args.drain_timeout) if not events_missing else ({}, None)
        )
    finally:
        for w in workers.values():
            stop(w)
        server.terminate()
        server.wait(timeout=30)
        if postmaster:
            pin(postmaster, set(range(os.cpu_count() or 1)))
    report(args, quiet, quiet_cpu, loaded, loaded_cpu, notes, events_missing)
    return 0


def report(args, quiet: dict, quiet_cpu: dict, loaded: dict, loaded_cpu: dict, notes, events_missing) -> None:
    q0, q1 = quiet["queue"], loaded["queue"]
    print(
        f"\nLoad run: {args.reps} reps polling every {args.poll_interval:g} s; gunicorn {args.workers}x{args.threads}"
        f" gthread; Celery prefork x{args.celery_concurrency}"
        + (" + a bulk-queue worker x1" if args.bulk_worker else " (all queues)")
        + (f", nice {args.worker_nice}" if args.worker_nice else "")
    )
    print(f"quiet phase {quiet['seconds']:.0f} s, loaded phase {loaded['seconds']:.0f} s")
    fivexx = (
        q0.count(500, 599) + q1.count(500, 599) + loaded["events"].count(500, 599) + loaded["imports"].count(500, 599)
    )
    print(f"{'measure':<52} {'value':>10} {'baseline':>10} {'ratio':>7} target")
    print(f"{'5xx responses (all endpoints, both phases)':<52} {fivexx:>10} {'':>10} {'':>7} 0")
    c0, c1 = p95(q0.latencies), p95(q1.latencies)
    print(f"{'queue p95, client latency, loaded vs quiet (ms)':<52} {c1:>10.1f} {c0:>10.1f} {c1 / c0:>7.2f} <= 2")
    s0, s1 = p95(q0.server_ms), p95(q1.server_ms)
    print(f"{'queue p95, server time, loaded vs quiet (ms)':<52} {s1:>10.1f} {s0:>10.1f} {s1 / s0:>7.2f} <= 2")
    if events_missing or not args.events_per_second:
        why = "not run" if events_missing else "none sent"
        print(f"{'events accepted per second':<52} {why:>10} {'':>10} {'':>7} {args.events_per_second:g}")
    else:
        ev = loaded["events"]
        rate = ev.accepted / min(loaded["seconds"], args.duration)
        print(
            f"{'events accepted per second':<52} {rate:>10.1f} {args.events_per_second:>10g} "
            f"{rate / args.events_per_second:>7.2f} >= 1"
        )
        print(
            f"  events: {args.event_batch} per request; request statuses {dict(sorted(ev.statuses.items()))}, "
            f"failures {ev.failures}, p95 {p95(ev.latencies):.0f} ms, requests not sent (256 in flight) "
            f"{loaded.get('events_skipped', 0)}, events accepted {ev.accepted}"
        )
        drain = loaded.get("drain_seconds")
        print(
            f"  Event rows of the loaded phase by status: {loaded.get('event_counts')}; all processed "
            + (f"{drain:.0f} s after the phase ended" if drain is not None else f"NOT within {args.drain_timeout:g} s")
        )
    job = loaded.get("import")
    if job:
        secs = job.get("seconds")
        counts = {k: job.get(k) for k in ("created", "updated", "skipped", "duplicates_in_file", "errors")}
        print(
            f"  import of {args.import_rows:,} rows: {job.get('status')} in "
            f"{'-' if secs is None else f'{secs:.0f} s'} {counts}"
        )
    for label, tally in (("quiet", q0), ("loaded", q1)):
        print(
            f"  queue {label}: {len(tally.latencies)} polls, statuses {dict(sorted(tally.statuses.items()))}, "
            f"failures {tally.failures}, median {statistics.median(tally.latencies):.1f} ms"
        )
    for label, cpu in (("quiet", quiet_cpu), ("loaded", loaded_cpu)):
        print(
            f"  CPU cores used, {label}: client {cpu['client']:.2f}, gunicorn {cpu['server']:.2f}, "
            f"celery {cpu['worker']:.2f}"
            + (f" + bulk worker {cpu['bulk worker']:.2f}" if "bulk worker" in cpu else "")
            + f", postgres backends {cpu['postgres']:.2f}; "
            f"load average {cpu['load_average'][0]:.1f} -> {cpu['load_average'][1]:.1f}"
        )
    for note in notes:
        print(f"  note: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
