"""API test helpers: a DRF client, and clients authenticated by session or by token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import APITokenFactory


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_user(api):
    """Return a client logged in (session) as the given user."""

    def login(user):
        api.force_login(user)
        return api

    return login


@pytest.fixture
def token_client():
    """Return a fresh client sending `Authorization: Bearer` for a new token of `user` with `scopes`."""

    def make(user, scopes=("*",), kind="personal"):
        token = APITokenFactory(user=user, scopes=list(scopes), kind=kind)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
        client.token = token
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; a test never inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
