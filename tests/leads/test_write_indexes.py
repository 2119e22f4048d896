"""Indexes that only cost writes: a foreign key another index leads with needs no index of its own."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

COVERED = [
    ("leads_activity", "lead_id", "activity_lead_latest"),
    ("leads_stagechange", "lead_id", "stage_change_lead"),
    ("leads_importchange", "job_id", "import_change_once_per_lead"),
    ("leads_importchange", "lead_id", "import_change_lead"),
    ("leads_lead", "campaign_id", "lead_campaign_id"),
    ("leads_lead", "owner_id", "lead_owner_id"),
    ("scoring_scorehistory", "lead_id", "score_history_lead"),
]


@pytest.mark.parametrize(("table", "column", "composite"), COVERED)
def test_a_foreign_key_led_by_a_composite_index_has_no_index_of_its_own(table, column, composite):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert constraints[composite]["columns"][0] == column  # still covered
    own = [n for n, c in constraints.items() if c["index"] and c["columns"] == [column] and n != composite]
    assert own == [], own
    assert any(c["foreign_key"] and c["columns"] == [column] for c in constraints.values())  # the key stays
