"""A re-score running while a rep edits the lead must not undo the rep's edit (PostgreSQL row locks)."""

from __future__ import annotations

import threading
import time

import pytest
from django.apps import apps as django_apps
from django.db import connection, connections, transaction

from leads.models import Lead
from scoring.defaults import default_definition_seed
from scoring.services import leads_score
from tests.factories import LeadFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two PostgreSQL connections")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rescore_during_a_reps_edit_keeps_the_edit_and_writes_the_score():
    # An earlier transactional test's flush may have removed the definition the migration installed.
    default_definition_seed(django_apps.get_model)
    lead = LeadFactory(title="Analyst", company_name="Acme", authority="decision_maker", employees=500)
    edited, release, scored = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def rep_edits_title():
        try:
            with transaction.atomic():
                Lead.objects.filter(pk=lead.pk).update(title="Head of Analytics")
                edited.set()
                release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def rescore():
        try:
            leads_score(lead_ids=[lead.pk])
            scored.set()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    rep = threading.Thread(target=rep_edits_title)
    rep.start()
    assert edited.wait(10)
    scorer = threading.Thread(target=rescore)
    scorer.start()
    time.sleep(0.5)
    # The re-score waits on the rep's row lock rather than writing a stale copy of the row.
    assert not scored.is_set()
    release.set()
    rep.join(10)
    scorer.join(10)
    assert not errors
    lead.refresh_from_db()
    assert lead.title == "Head of Analytics"
    assert (lead.score_fit, lead.grade) == (30, "C")
