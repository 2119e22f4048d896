"""Benchmark the lead import against django-import-export and the COPY floor, on PostgreSQL.

Run from the repository root (see bench/README.md, "Import benchmark"):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_imports_bench \
    REDIS_URL=redis://127.0.0.1:6379/3 python bench/bench_import.py [--rows 100000] [--big 1000000]

Every run starts from the same state (the lead tables truncated, then the leads the file's 10% matches
point at), so the rows are comparable. Prints times and the ratios the issue sets targets for.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")

from bench.workers import celery_worker_command  # noqa: E402 - after the path is set

HEADERS = [
    "Badge ID",
    "First Name",
    "Last Name",
    "Email",
    "Company",
    "Job Title",
    "Phone",
    "Country",
    "No. of Employees",
    "Rating",
    "Notes",
    "Scan Date/Time",
]
FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST = [
    "Müller",
    "Smith",
    "García",
    "Rossi",
    "Dubois",
    "Nowak",
    "Kowalski",
    "Tanaka",
    "Silva",
    "Jensen",
    "O'Brien",
    "Novak",
    "Yilmaz",
    "Ivanova",
    "Cohen",
]
COMPANY = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
]
SUFFIX = ["GmbH", "Ltd", "Inc", "S.A.", "AG & Co. KG", "LLC", "BV", "plc"]
TITLES = ["CEO", "CTO", "VP Sales", "IT Manager", "Head of Operations", "Engineer", "Procurement Lead", "CFO"]
COUNTRIES = ["Germany", "US", "France", "United Kingdom", "Japan", "Brazil", "DE", "Spain"]
SIZES = ["1-10", "11-50", "51-200", "250", "1,000", "1000+", "5000", "201-1000"]
RATINGS = ["Hot", "Warm", "Cold", "A", "B", "C", ""]
NOTES = ["Wants a demo", "Budget in Q3", "Just browsing", "Line one\nline two", '=HYPERLINK("x")', "", ""]


def setup_django() -> None:
    import django

    django.setup()


def generate_rows(rows: int, *, seed: int = 7) -> tuple[list[list[str]], list[str]]:
    """Return a trade-show list's rows and the emails meant to match leads already in the database."""
    rng = random.Random(seed)
    data = []
    existing: list[str] = []
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}"
        domain = company.split()[0].lower() + f"{i % 997}.example.com"
        email = f"{first[0].lower()}.{last.lower().replace(chr(39), '')}{i}@{domain}"
        roll = rng.random()
        if roll < 0.05 and data:  # a duplicate within the file, in another case and with spaces
            email = "  " + rng.choice(data)[3].strip().upper() + " "
        elif roll < 0.07:  # invalid
            email = email.replace("@", " at ")
        elif roll < 0.17:  # matches a lead already in the database
            existing.append(email)
        phone = rng.choice(["", f"+49 30 {rng.randint(1000000, 9999999)}", f"0{rng.randint(100000000, 999999999)}"])
        data.append(
            [
                f"B{100000 + i}",
                first,
                last,
                email,
                company,
                rng.choice(TITLES),
                phone,
                rng.choice(COUNTRIES),
                rng.choice(SIZES),
                rng.choice(RATINGS),
                rng.choice(NOTES),
                f"2026-10-{14 + i % 3} {9 + i % 8:02d}:{i % 60:02d}",
            ]
        )
    return data, existing


def write_csv(data: list[list[str]], path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(data)
    return path


def generate(rows: int, out_dir: Path, *, seed: int = 7) -> dict:
    """Write the CSV and the same data as XLSX: ~5% in-file duplicates, ~10% existing, ~2% invalid."""
    data, existing = generate_rows(rows, seed=seed)
    csv_path = write_csv(data, out_dir / f"show-{rows}.csv")
    xlsx_path = out_dir / f"show-{rows}.xlsx"
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("Leads")
    sheet.write_row(0, 0, HEADERS)
    for r, row in enumerate(data, start=1):
        for c, value in enumerate(row):
            if c == 6 and value.startswith("0"):
                sheet.write_number(r, c, int(value))  # Excel stores phones as numbers (leading zero lost)
            else:
                sheet.write_string(r, c, value)
    workbook.close()
    seen: set[str] = set()
    dedup_path = out_dir / f"show-{rows}-dedup.csv"
    new_only_path = out_dir / f"show-{rows}-new.csv"
    existing_set = set(existing)
    with (
        open(dedup_path, "w", encoding="utf-8", newline="") as d,
        open(new_only_path, "w", encoding="utf-8", newline="") as n,
    ):
        dw, nw = csv.writer(d), csv.writer(n)
        dw.writerow(HEADERS)
        nw.writerow(HEADERS)
        for row in data:
            key = row[3].strip().lower()
            if key in seen:
                continue
            seen.add(key)
            dw.writerow(row)
            if key not in existing_set:
                nw.writerow(row)
    return {"csv": csv_path, "xlsx": xlsx_path, "dedup": dedup_path, "new_only": new_only_path, "existing": existing}


def reset(existing: list[str], *, filler: int = 0) -> None:
    """Empty the lead tables, then insert the leads the file matches (and `filler` unrelated ones)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_importrowerror, leads_importchange, leads_importjob, leads_activity, "
            "leads_stagechange, leads_lead RESTART IDENTITY CASCADE"
        )
        insert = (
            "INSERT INTO leads_lead (first_name, last_name, email, phone, title, company_name, website, "
            "company_domain, size_band, industry, country, region, authority, need, timeframe, source_channel, "
            "stage, stage_entered_at, score, grade, created_at, updated_at, sales_touches, nurture_touches, extra) "
            "SELECT 'Old', '', e, '', '', '', '', '', '', '', '', '', '', '', '', 'inbound', 'inquiry', now(), 0, '', "
            "now(), now(), 0, 0, '{}'::jsonb FROM {source}"
        )
        cursor.execute(insert.replace("{source}", "unnest(%s::text[]) AS e"), [sorted(set(existing))])
        if filler:
            cursor.execute(
                insert.replace(
                    "{source}",
                    f"(SELECT 'filler' || g || '@bulk.example' AS e FROM generate_series(1, {int(filler)}) g) s",
                )
            )
        cursor.execute("ANALYZE leads_lead")
    # Flush the dirty pages of the setup (a 1M-row insert) now, not during the timed run after it.
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def bench_user_and_campaign():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from leads.models import Campaign

    user, _ = get_user_model().objects.get_or_create(username="bench-marketer")
    user.groups.add(Group.objects.get(name="Marketing"))
    campaign, _ = Campaign.objects.get_or_create(name="Bench Expo")
    return user, campaign


class Worker:
    """A real Celery worker on Redis, as production runs it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            celery_worker_command(concurrency=1),
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(4)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_ours(path: Path, user, campaign) -> tuple[float, dict]:
    """Upload and configure (untimed), then time from "run" to "done" through the Celery worker."""
    from django.core.files import File

    from leads.models import ImportJob, ImportStatus
    from leads.services.imports import import_job_create, import_job_start

    with open(path, "rb") as handle:
        job = import_job_create(by=user, upload=File(handle, name=path.name), campaign=campaign, source="bench")
    started = time.perf_counter()
    import_job_start(job=job, by=user)
    while True:
        job = ImportJob.objects.get(pk=job.pk)
        if job.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    assert job.status == ImportStatus.DONE, job.message
    counts = {
        k: getattr(job, k)
        for k in ("created_count", "updated_count", "skipped_count", "duplicate_count", "error_count")
    }
    return elapsed, counts


def die_resource(tuned: bool):
    from import_export import fields, resources

    from leads.models import Lead

    columns = {
        "first_name": "First Name",
        "last_name": "Last Name",
        "email": "Email",
        "company_name": "Company",
        "title": "Job Title",
        "phone": "Phone",
        "country": "Country",
    }

    attrs = {name: fields.Field(attribute=name, column_name=column) for name, column in columns.items()}

    def before_import_row(self, row, **kwargs):
        # What anyone wiring it up would add: the email is the import id and is stored lower-cased.
        row["Email"] = (row.get("Email") or "").strip().lower()

    meta_attrs = {"model": Lead, "import_id_fields": ("email",), "fields": tuple(columns)}
    if tuned:
        meta_attrs.update(use_bulk=True, batch_size=1000, skip_diff=True, force_init_instance=True)
    attrs["Meta"] = type("Meta", (), meta_attrs)
    attrs["before_import_row"] = before_import_row
    return type("LeadResource", (resources.ModelResource,), attrs)()


def run_die(path: Path, *, tuned: bool) -> float:
    import tablib

    from leads.models.guard import stage_writes_allowed

    started = time.perf_counter()
    dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    # Lead.save()/bulk_create of a new lead is guarded (its stage is logged by the lifecycle service);
    # django-import-export knows nothing of that, so the benchmark opens the guard around its run.
    with stage_writes_allowed():
        result = die_resource(tuned).import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - started
    assert not result.has_errors()
    return elapsed


def run_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_staging")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_staging (" + ", ".join(f"c{i} text" for i in range(len(HEADERS))) + ")"
        )
    db = connection.settings_dict
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"],
            "-d",
            db["NAME"],
            "-q",
            "-c",
            f"\\copy bench_staging FROM '{path}' WITH (FORMAT csv, HEADER true)",
        ],
        check=True,
    )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_staging")
    return elapsed


def peak_memory(path: Path, user_id: int, campaign_id: int) -> int:
    """Run one import in a fresh process (the worker's code path, no broker) and return its peak RSS in KB."""
    code = "\n".join(
        [
            "import os, sys, django",
            f"sys.path.insert(0, {str(REPO)!r}); django.setup()",
            "from django.core.files import File",
            "from django.contrib.auth import get_user_model",
            "from leads.models import Campaign, ImportJob",
            "from leads.services import imports as s",
            f"u = get_user_model().objects.get(pk={user_id}); c = Campaign.objects.get(pk={campaign_id})",
            f"f = open({str(path)!r}, 'rb')",
            f"job = s.import_job_create(by=u, upload=File(f, name={path.name!r}), campaign=c)",
            "ImportJob.objects.filter(pk=job.pk).update(status='queued')",
            "s.import_job_run(job_id=job.pk)",
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), capture_output=True, text=True, check=True
    )
    peak = int(out.stdout.split()[-1])
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="leads already in the table for the big-table run")
    parser.add_argument("--small-rows", type=int, default=20_000, help="file size for the memory comparison")
    parser.add_argument("--skip-die", action="store_true", help="leave out django-import-export (slow)")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the peak-memory runs")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database and REDIS_URL to Redis (see bench/README.md).")
    setup_django()
    from django.conf import settings

    print(f"import benchmark: {args.rows:,} rows, PostgreSQL {settings.DATABASES['default']['NAME']}")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t = time.perf_counter()
        files = generate(args.rows, out)
        small = generate(args.small_rows, out, seed=8)
        print(
            f"generated files in {time.perf_counter() - t:.1f}s ({files['csv'].stat().st_size / 1e6:.1f} MB CSV, "
            f"{files['xlsx'].stat().st_size / 1e6:.1f} MB XLSX)"
        )
        user, campaign = bench_user_and_campaign()
        worker = Worker()
        try:
            reset(files["existing"])
            results["ours_csv"], counts = run_ours(files["csv"], user, campaign)
            print(f"leadops CSV via Celery      {results['ours_csv']:7.2f}s  {counts}")
            # The floor right after the run it is compared with: on a shared machine the load moves.
            results["copy"] = run_copy(files["csv"])
            print(f"psql \\copy floor            {results['copy']:7.2f}s")
            reset(files["existing"])
            results["ours_xlsx"], counts = run_ours(files["xlsx"], user, campaign)
            print(f"leadops XLSX via Celery     {results['ours_xlsx']:7.2f}s  {counts}")
            reset(files["existing"], filler=args.big)
            results["ours_big"], counts = run_ours(files["csv"], user, campaign)
            print(f"leadops CSV, {args.big:,} leads in table {results['ours_big']:7.2f}s  {counts}")
        finally:
            worker.stop()
        results["die_default"] = results["die_tuned"] = float("nan")
        if not args.skip_die:
            reset(files["existing"])
            results["die_default"] = run_die(files["dedup"], tuned=False)
            print(f"django-import-export default {results['die_default']:7.2f}s  (file without in-file duplicates)")
            reset(files["existing"])
            results["die_tuned"] = run_die(files["new_only"], tuned=True)
            print(f"django-import-export tuned  {results['die_tuned']:7.2f}s  (new rows only: force_init_instance)")
        mem_small = mem_large = mem_small_x = mem_large_x = float("nan")
        if not args.skip_memory:
            reset(files["existing"])
            mem_small = peak_memory(small["csv"], user.pk, campaign.pk)
            reset(files["existing"])
            mem_large = peak_memory(files["csv"], user.pk, campaign.pk)
            reset(files["existing"])
            mem_small_x = peak_memory(small["xlsx"], user.pk, campaign.pk)
            reset(files["existing"])
            mem_large_x = peak_memory(files["xlsx"], user.pk, campaign.pk)
        reset([])
    ours = results["ours_csv"]
    rows = [
        ("rows/s, leadops CSV", f"{args.rows / ours:,.0f}", ""),
        ("django-import-export default / leadops", f"{results['die_default'] / ours:.1f}x", ">= 10"),
        ("django-import-export tuned / leadops", f"{results['die_tuned'] / ours:.1f}x", ">= 3"),
        ("leadops / psql \\copy floor", f"{ours / results['copy']:.1f}x", "<= 5"),
        ("leadops XLSX / CSV", f"{results['ours_xlsx'] / ours:.2f}x", "<= 1.5"),
        (f"{args.big:,} leads in table / empty", f"{results['ours_big'] / ours:.2f}x", "<= 1.5"),
        (
            f"peak RSS CSV {args.rows:,} / {args.small_rows:,} rows",
            f"{mem_large / mem_small:.2f}x ({mem_small / 1024:.0f} -> {mem_large / 1024:.0f} MB)",
            "flat",
        ),
        (
            f"peak RSS XLSX {args.rows:,} / {args.small_rows:,} rows",
            f"{mem_large_x / mem_small_x:.2f}x ({mem_small_x / 1024:.0f} -> {mem_large_x / 1024:.0f} MB)",
            "flat",
        ),
    ]
    print()
    for name, value, target in rows:
        print(f"{name:<44} {value:>28}   target {target}" if target else f"{name:<44} {value:>28}")


if __name__ == "__main__":
    main()
