"""Time the lead list's keyset pages on a big PostgreSQL table and show which index each query uses.

Usage (a migrated database of its own, filled once by bench/lead_list_data.sql):

    createdb -h 127.0.0.1 -U postgres leadops_browser_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_browser_bench python manage.py migrate
    psql -h 127.0.0.1 -U postgres leadops_browser_bench -v n=1000000 -f bench/lead_list_data.sql
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadops_browser_bench python bench/lead_list.py

For each role and filter it prints the median time of page 1 (the baseline), of a deep page (a cursor
near the oldest lead) and their ratio, and the indexes PostgreSQL's plan names. A ratio near 1 means
paging costs the same however far the user scrolls. Then it times the searches again without the
search indexes of migration 0003 (dropped inside a transaction that is rolled back) as the baseline
those indexes are measured against.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadops.settings.local")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from leads.models import Campaign, Lead  # noqa: E402
from leads.roles import Role  # noqa: E402
from leads.selectors import lead_list  # noqa: E402

RUNS = 5


def _timed(user, **filters) -> tuple[float, str]:
    """Return the median seconds of `lead_list` and the SQL of its lead query."""
    times = []
    for _ in range(RUNS):
        user.__dict__.pop("_leadops_roles", None)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            lead_list(user=user, **filters)
            times.append(time.perf_counter() - started)
    sql = next(q["sql"] for q in captured.captured_queries if 'FROM "leads_lead"' in q["sql"])
    return statistics.median(times), sql


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    indexes = sorted(set(re.findall(r"(?:Index|Index Only) Scan(?: Backward)? using (\w+)", "\n".join(lines))))
    indexes += sorted(set(re.findall(r"Bitmap Index Scan on (\w+)", "\n".join(lines))))
    seq = " +seqscan" if any("Seq Scan on leads_lead" in line for line in lines) else ""
    return (", ".join(indexes) or "none") + seq


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (set DATABASE_URL).")
    total = Lead.objects.count()
    if total < 10_000:
        sys.exit(f"Only {total} leads; fill the database with bench/lead_list_data.sql first.")
    users = get_user_model().objects
    rep = users.get(username="bench3")
    manager = users.get(username="bench1")
    marketer, _ = users.get_or_create(username="bench-marketer", defaults={"password": "!"})
    marketer.groups.add(Group.objects.get(name=Role.MARKETING))
    campaign = Campaign.objects.filter(name__startswith="Bench campaign").order_by("pk").first()
    deep = Lead.objects.order_by("pk").values_list("pk", flat=True)[total // 20]
    scenarios = [
        ("marketing", marketer, {}),
        ("marketing", marketer, {"stage": "mql"}),
        ("marketing", marketer, {"grade": "A"}),
        ("marketing", marketer, {"campaign_id": campaign.pk}),
        ("marketing", marketer, {"owner_id": rep.pk}),
        ("marketing", marketer, {"unassigned": True}),
        ("marketing", marketer, {"stage": "won", "campaign_id": campaign.pk}),
        ("marketing", marketer, {"q": "S"}),
        ("marketing", marketer, {"q": "Zimm"}),
        ("marketing", marketer, {"q": "Smith-42"}),
        ("marketing", marketer, {"q": "Cyberdyne 17"}),
        ("marketing", marketer, {"q": "lead4242"}),
        ("marketing", marketer, {"q": "lead424242@"}),
        ("marketing", marketer, {"q": "nobody-by-this-name"}),
        ("manager", manager, {}),
        ("manager", manager, {"stage": "sal"}),
        ("manager", manager, {"q": "Zimm"}),
        ("rep", rep, {}),
        ("rep", rep, {"stage": "sql"}),
        ("rep", rep, {"q": "Zimm"}),
    ]
    print(f"{total} leads; deep page = cursor at id {deep} (the oldest 5%); median of {RUNS} runs")
    print(f"{'role':10} {'filters':38} {'page 1 ms':>9} {'deep ms':>9} {'deep/p1':>8}  indexes (page 1 | deep)")
    for role, user, filters in scenarios:
        first, first_sql = _timed(user, **filters)
        later, later_sql = _timed(user, after=deep, **filters)
        shown = ", ".join(f"{k}={v}" for k, v in filters.items()) or "(none)"
        print(
            f"{role:10} {shown:38} {first * 1000:9.1f} {later * 1000:9.1f} {later / first:8.2f}  "
            f"{_plan(first_sql)} | {_plan(later_sql)}"
        )
    compare_search_indexes(marketer)


SEARCH_INDEXES = ("lead_search_last_name", "lead_search_first_name", "lead_search_company", "lead_search_email")


def compare_search_indexes(marketer) -> None:
    """Time searches with the 0003 indexes and, in a rolled-back transaction, without them."""
    searches = ["S", "Zimm", "Cyberdyne 17", "lead4242", "lead424242@", "nobody-by-this-name"]
    with_indexes = {q: _timed(marketer, q=q)[0] for q in searches}
    with transaction.atomic():
        with connection.cursor() as cursor:
            for name in SEARCH_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
        without = {q: _timed(marketer, q=q)[0] for q in searches}
        transaction.set_rollback(True)
    print(f"\n{'search (marketing, page 1)':38} {'indexed ms':>10} {'no index ms':>11} {'slowdown':>9}")
    for q in searches:
        print(f"q={q:36} {with_indexes[q] * 1000:10.1f} {without[q] * 1000:11.1f} {without[q] / with_indexes[q]:9.1f}x")


if __name__ == "__main__":
    main()
