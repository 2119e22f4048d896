"""Schemathesis against the app's own schema: generated requests for every operation, as an admin and as
a rep, must never get a 5xx and every documented response must match the schema.

In-process through WSGI (no server to start); bounded and derandomized so CI runs the same cases each time.
"""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from leads.lifecycle import Stage
from leads.selectors_uld import uld_active
from tests.factories import APITokenFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db
MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance]


@contextlib.contextmanager
def same_connection():
    """Keep the test's database connection open across requests (as Django's test client does): the
    WSGI handler would otherwise close it at the end of each request, inside the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _path_ids(path: str, ids: dict[str, int]) -> dict[str, int] | None:
    for prefix, pk in ids.items():
        if path.startswith(prefix) and "{id}" in path:
            return {"id": pk}
    return None


@pytest.mark.parametrize("who", ["admin_user", "alice"])
def test_every_operation_answers_without_5xx_and_as_documented(request, who, alice):
    user = request.getfixturevalue(who)
    lead = LeadFactory(owner=alice, stage=Stage.MQL, email="schema@example.com")
    campaign = CampaignFactory()
    token = APITokenFactory(user=user, scopes=["*"])
    headers = {"Authorization": f"Bearer {token.secret}"}
    app = get_wsgi_application()
    ids = {"/api/leads/": lead.pk, "/api/campaigns/": campaign.pk, "/api/uld/versions/": uld_active().pk}
    rates = {"token": "100000/min", "integration": "100000/min"}
    from django.conf import settings as django_settings

    failures: list[str] = []
    with (
        same_connection(),
        override_settings(REST_FRAMEWORK={**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}),
    ):
        schema = schemathesis.openapi.from_wsgi("/api/schema/", app, headers=headers)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation in operations:
            strategies = [operation.as_strategy(headers=headers)]
            fixed = _path_ids(operation.path, ids)
            if fixed:
                strategies.append(operation.as_strategy(headers=headers, path_parameters=fixed))
            for strategy in strategies:

                @settings(
                    max_examples=MAX_EXAMPLES,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def check(case):
                    case.call_and_validate(checks=CHECKS)

                try:
                    check()
                except Exception as exc:  # noqa: BLE001 (collect every failing operation, then fail once)
                    failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
