"""The per-token throttle: a sliding-window counter, O(1) per request, with a Retry-After that fits."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from leadops.cache import cache_failures_forget
from leads.api.throttling import APITokenRateThrottle
from tests.factories import APITokenFactory

LEADS = "/api/leads/"


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for the throttle, starting at the beginning of a minute."""
    now = {"t": 60.0 * 1_000_000}
    monkeypatch.setattr(APITokenRateThrottle, "timer", staticmethod(lambda: now["t"]))
    return now


@pytest.fixture
def four_a_minute():
    from django.conf import settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "4/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        yield


def _client(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    return client


def test_the_previous_minute_counts_by_how_much_of_it_is_still_in_the_window(alice, clock, four_a_minute):
    client = _client(APITokenFactory(user=alice))
    clock["t"] += 50  # late in the first minute
    assert [client.get(LEADS).status_code for _ in range(5)] == [200, 200, 200, 200, 429]

    clock["t"] += 25  # 15 s into the next minute: 4 × 0.75 = 3 still count, so one more fits
    assert [client.get(LEADS).status_code for _ in range(2)] == [200, 429]

    clock["t"] += 30  # 45 s in: 4 × 0.25 + 1 = 2, two more fit
    assert [client.get(LEADS).status_code for _ in range(3)] == [200, 200, 429]


def test_a_refused_request_says_when_to_retry_and_is_not_counted(alice, clock, four_a_minute):
    client = _client(APITokenFactory(user=alice))
    for _ in range(4):
        assert client.get(LEADS).status_code == 200
    refused = client.get(LEADS)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60

    # 20 refused retries change nothing: the next minute starts with the same 4 behind it.
    for _ in range(20):
        assert client.get(LEADS).status_code == 429
    clock["t"] += 60 + 30  # half-way into the next minute: 4 × 0.5 = 2 count, so two fit
    assert [client.get(LEADS).status_code for _ in range(3)] == [200, 200, 429]


def test_token_requests_are_served_while_the_cache_redis_is_stopped_or_frozen(
    alice, clock, four_a_minute, private_redis_cache, caplog
):
    client = _client(APITokenFactory(user=alice))
    assert client.get(LEADS).status_code == 200  # counted in Redis

    # Stopped: the connection is refused; the request goes through uncounted and the failure is logged.
    private_redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="leadops.cache"):
        assert [client.get(LEADS).status_code for _ in range(6)] == [200] * 6
    assert "cache unavailable for the API throttle" in caplog.text

    # Frozen (SIGSTOP): connections are accepted but never answered; the socket timeout ends the wait.
    private_redis_cache.start()
    private_redis_cache.pause()
    cache_failures_forget()  # ask the frozen Redis, rather than skip it after the failure above
    assert client.get(LEADS).status_code == 200

    # Back: the limit applies again (the restarted Redis kept no counts).
    private_redis_cache.resume()
    cache_failures_forget()
    assert [client.get(LEADS).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
