"""Report pages: who may read them, that they render the numbers, filters in the URL, CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from leads.csv_safety import formula_safe
from reporting.models import ReviewSnapshot
from reporting.services import rollups_rebuild, rollups_refresh
from reporting.tables import Table, table_csv

pytestmark = pytest.mark.django_db
MARCH = "period=custom&start=2026-03-01&end=2026-03-31"


@pytest.fixture
def refreshed(march):
    rollups_refresh()
    return march


def _get(client, user, name, query=""):
    client.force_login(user)
    return client.get(f"{reverse(name)}?{query}")


def test_executive_sees_funnel_chart_data_and_table(client, executive, refreshed):
    response = _get(client, executive, "reporting:dashboard", MARCH)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-chart="chart-data-flow"' in body
    assert 'id="chart-data-flow" type="application/json"' in body
    assert "<script>" not in body.replace('<script type="application/json"', "")
    flow = response.context["tables"][0]
    assert flow.rows[1] == ["MQL", 5]
    assert any(t.id == "cost_campaign" for t in response.context["tables"])


def test_rep_sees_own_numbers_and_no_costs(client, alice, refreshed):
    response = _get(client, alice, "reporting:dashboard", MARCH)
    assert response.status_code == 200
    flow = dict(response.context["tables"][0].rows)
    assert flow["SAL"] == 3
    assert not any(t.id.startswith("cost") for t in response.context["tables"])


def test_rep_cannot_widen_scope_with_a_filter(client, alice, bob, refreshed):
    response = _get(client, alice, "reporting:dashboard", f"{MARCH}&rep={bob.pk}")
    flow = dict(response.context["tables"][0].rows)
    assert flow["SAL"] == 0


def test_manager_sees_their_team_only(client, manager, refreshed):
    response = _get(client, manager, "reporting:dashboard", MARCH)
    flow = dict(response.context["tables"][0].rows)
    assert flow["SAL"] == 5  # alice and bob, both East
    assert flow["Inquiry"] == 0  # charlie (West) held L4's entry; the rest were unassigned


def test_user_without_a_role_is_refused(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(user)
    assert client.get(reverse("reporting:dashboard")).status_code == 403


def test_bad_filters_show_a_message_and_the_default_view(client, executive, refreshed):
    response = _get(client, executive, "reporting:dashboard", "period=custom&start=2026-03-10&end=2026-03-01")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    response = _get(client, executive, "reporting:dashboard", "period=nonsense&campaign=abc&rep=x")
    assert response.status_code == 200
    assert "Campaign: " in response.content.decode()


def test_filters_are_kept_in_the_export_link(client, executive, refreshed):
    response = _get(client, executive, "reporting:dashboard", f"{MARCH}&source=inbound")
    assert "source=inbound&amp;export=flow" in response.content.decode()


def test_csv_export_of_a_table(client, executive, refreshed):
    response = _get(client, executive, "reporting:dashboard", f"{MARCH}&export=conversions")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Step", "Converted", "Of", "Rate %"]
    assert rows[1] == ["Inquiry → MQL", "4", "5", "80.0"]


def test_unknown_export_redirects_with_a_message(client, executive, refreshed):
    response = _get(client, executive, "reporting:dashboard", f"{MARCH}&export=nope")
    assert response.status_code == 302


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_look_like_formulas_get_an_apostrophe(value):
    assert formula_safe(value) == "'" + value
    text = table_csv(Table("t", "t", ["=name"], [[value]]))
    assert text.splitlines()[0] == "'=name"


def test_alignment_page(client, executive, refreshed):
    response = _get(client, executive, "reporting:alignment", MARCH)
    assert response.status_code == 200
    table = response.context["tables"][0]
    assert table.rows[0][:4] == ["All", 5, 1, 20.0]


def test_revenue_gap_uses_measured_ratios_unless_overridden(client, executive, refreshed):
    response = _get(client, executive, "reporting:revenue_gap", f"{MARCH}&target=100000")
    rows = response.context["tables"][0].rows
    assert rows[0][:2] == ["Won deals", 10]
    assert rows[-1] == ["Inquiries", 50, 2, 48]
    response = _get(client, executive, "reporting:revenue_gap", f"{MARCH}&target=100000&avg_deal=20000&inquiry_mql=50")
    rows = response.context["tables"][0].rows
    assert rows[0][1] == 5
    assert rows[-1][1] == 40  # 20 MQLs at 50 %


def test_revenue_gap_without_measurements_asks_for_assumptions(client, executive, refreshed):
    response = _get(
        client, executive, "reporting:revenue_gap", "period=custom&start=2025-01-01&end=2025-01-31&target=1000"
    )
    assert response.status_code == 200
    assert "Nothing was measured in this period" in response.content.decode()
    response = _get(client, executive, "reporting:revenue_gap", f"{MARCH}&target=-5&mql_sal=0")
    assert response.status_code == 200
    assert response.context["tables"] == []


def test_review_is_saved_and_reopens_unchanged(client, executive, refreshed, alice):
    client.force_login(executive)
    response = client.post(reverse("reporting:review_save"), {"month": "2026-03"})
    assert response.status_code == 302
    snapshot = ReviewSnapshot.objects.get()
    saved = client.get(f"{reverse('reporting:review')}?month=2026-03").context["tables"]
    # A later change to March's history does not alter the saved review.
    from leads.services.activities import activity_record

    lead = refreshed["leads"][1]
    activity_record(lead=lead, kind="call", by=alice)
    rollups_refresh()
    again = client.get(f"{reverse('reporting:review')}?month=2026-03")
    assert [t.rows for t in again.context["tables"]] == [t.rows for t in saved]
    assert again.context["snapshot"] == snapshot
    assert {t.id for t in saved} >= {"flow", "alignment", "cost_campaign"}
    second = client.post(reverse("reporting:review_save"), {"month": "2026-03"}, follow=True)
    assert "already saved" in second.content.decode()


def test_rep_cannot_open_the_monthly_review(client, alice):
    assert _get(client, alice, "reporting:review").status_code == 403


def test_review_with_a_bad_month_redirects(client, executive):
    assert _get(client, executive, "reporting:review", "month=2026-13").status_code == 302


def test_alignment_page_shows_the_queue_tables_and_exports_them_formula_safe(client, executive, queue_march):
    expo = queue_march["expo"]
    expo.name = "=HYPERLINK(1)"
    expo.save()
    rollups_rebuild()
    response = _get(client, executive, "reporting:alignment", MARCH)
    assert response.status_code == 200
    ids = [t.id for t in response.context["tables"]]
    for table_id in ("sla_rep", "sla_team", "no_response_touches", "rejections_campaign", "win_rate_uld"):
        assert table_id in ids
        assert f'data-testid="table-{table_id}"' in response.content.decode()
    assert '<th scope="col">Compliance %</th>' in response.content.decode()
    export = _get(client, executive, "reporting:alignment", f"{MARCH}&export=rejections_campaign")
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["Campaign", "No budget", "Not our kind of customer", "Total"]
    assert rows[1] == ["'=HYPERLINK(1)", "1", "0", "1"]
    by_version = _get(client, executive, "reporting:alignment", f"{MARCH}&uld={queue_march['versions'][1].pk}")
    win_rate = next(t for t in by_version.context["tables"] if t.id == "win_rate_uld")
    assert win_rate.rows == [["Version 12", 1, 0, 100.0]]


def test_rep_sees_only_their_own_sla_line(client, alice, queue_march):
    rollups_rebuild()
    response = _get(client, alice, "reporting:alignment", MARCH)
    sla = next(t for t in response.context["tables"] if t.id == "sla_rep")
    assert [row[0] for row in sla.rows] == ["All", alice.get_full_name() or alice.username]


def test_monthly_review_includes_the_queue_tables(client, executive, queue_march):
    rollups_rebuild()
    client.force_login(executive)
    client.post(reverse("reporting:review_save"), {"month": "2026-03"})
    saved = {t["id"]: t for t in ReviewSnapshot.objects.get().data["tables"]}
    assert saved["rejections_source"]["rows"] == [["Event", 1, 0, 1], ["Inbound", 1, 1, 2]]
    assert saved["win_rate_uld"]["rows"][0] == ["Version 11", 1, 1, 50.0]
    assert {"sla_rep", "sla_team", "no_response_touches"} <= set(saved)
