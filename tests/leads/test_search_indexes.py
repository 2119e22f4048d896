from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search indexes exist on PostgreSQL only")
def test_prefix_search_indexes_exist_on_postgresql():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "leads_lead")
    names = {"lead_search_last_name", "lead_search_first_name", "lead_search_company", "lead_search_email"}
    assert names <= set(constraints)
