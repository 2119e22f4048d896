from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, F

from bench.generate import FALLBACK_MAX_LEADS, main, run
from leadops.errors import ApplicationError
from leads.models import Activity, Lead, StageChange
from tests.stage_logs import assert_stage_logs_follow_transitions

pytestmark = pytest.mark.django_db(transaction=False)


def _generate(**kwargs) -> tuple[dict[str, int], list[str]]:
    lines: list[str] = []
    counts = run(**{"leads": 250, "activities": 2000, "reps": 3, "seed": 7, "out": lines.append, **kwargs})
    return counts, lines


def test_generate_writes_exact_counts_and_a_valid_stage_log():
    counts, lines = _generate()
    assert Lead.objects.count() == counts["leads"] == 250
    assert Activity.objects.count() == counts["activities"] == 2000
    assert StageChange.objects.count() == counts["stage_changes"]
    assert assert_stage_logs_follow_transitions() == counts["stage_changes"] > 250
    assert "rows/s" in "\n".join(lines)


def test_generate_emails_are_unique_lower_case_and_some_leads_have_a_phone_only():
    _generate()
    emails = list(Lead.objects.exclude(email=None).values_list("email", flat=True))
    assert len(emails) == len(set(emails)) and all(e == e.lower() for e in emails)
    assert Lead.objects.filter(email=None).exclude(phone="").exists()
    assert not Lead.objects.filter(email=None, phone="").exists()


def test_generate_owners_sales_touches_and_activity_skew_are_plausible():
    _generate()
    past_mql = Lead.objects.filter(stage__in=["sal", "sql", "opportunity", "won"])
    assert past_mql.exists() and not past_mql.filter(owner=None).exists()
    assert not Lead.objects.filter(owner=None, sales_touches__gt=0).exists()
    per_lead = sorted(Lead.objects.annotate(n=Count("activities")).values_list("n", flat=True))
    assert per_lead[-1] > 5 * per_lead[len(per_lead) // 2]
    assert not Activity.objects.filter(occurred_at__lt=F("lead__created_at")).exists()
    assert not Activity.objects.exclude(lead__in=Lead.objects.all()).exists()


def test_generate_appends_by_default_and_truncate_starts_over():
    _generate(leads=100, activities=500)
    _generate(leads=100, activities=500, seed=8)
    assert Lead.objects.count() == 200 and Activity.objects.count() == 1000
    emails = Lead.objects.exclude(email=None).values_list("email", flat=True)
    assert emails.count() == len(set(emails))
    _generate(leads=50, activities=300, truncate=True)
    assert Lead.objects.count() == 50 and Activity.objects.count() == 300
    assert_stage_logs_follow_transitions()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL takes any size through COPY")
def test_generate_refuses_large_runs_without_copy():
    with pytest.raises(ApplicationError, match="at most"):
        run(leads=FALLBACK_MAX_LEADS + 1, activities=0, out=lambda line: None)
    assert not Lead.objects.exists()


def test_generate_cli_reports_bad_arguments(capsys):
    assert main(["--leads", "0", "--activities", "10"]) == 2
    assert "--leads must be at least 1" in capsys.readouterr().err


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the ORM comparison runs next to the COPY path")
def test_generate_compare_orm_prints_a_ratio_and_rolls_its_rows_back():
    counts, lines = _generate(leads=100, activities=500, compare_orm=40)
    assert Lead.objects.count() == 100 and Activity.objects.count() == 500
    assert "x" in lines[-1] and "rolled back" in lines[-1]
    assert any("PostgreSQL backend CPU" in line for line in lines)
