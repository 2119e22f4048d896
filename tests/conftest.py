"""Shared fixtures: the named people of the permission tests, as healthchecks names alice, bob, charlie."""

from __future__ import annotations

import os
import shutil

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from leadops.cache import cache_failures_forget
from leads.queue_policy import policy_cache_clear
from leads.roles import Role
from scoring.defaults import default_definition_seed
from tests.factories import LeadFactory, TeamFactory, UserFactory
from tests.redis_support import PrivateRedis


@pytest.fixture(autouse=True)
def _fresh_queue_policy():
    """Build the queue policy anew in each test: tests edit the agreed version in place, which the app never
    does (an agreed version is frozen), and a rolled-back test leaves the same version key behind."""
    policy_cache_clear()
    yield
    policy_cache_clear()


@pytest.fixture
def private_redis_cache(tmp_path, settings, monkeypatch):
    """A private redis-server (tests/redis_support.py) as the cache and the broker, with the app's cache options.

    The machine's shared Redis is never touched; stop(), pause() and resume() it to test an outage.
    """
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary")
    from leadops.celery import app as celery_app

    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": settings.LEADOPS_REDIS_CACHE_OPTIONS,
        }
    }
    monkeypatch.setattr(celery_app.conf, "broker_url", server.url)
    cache_failures_forget()
    try:
        yield server
    finally:
        server.stop()
        cache_failures_forget()


# One Chromium for every browser test (tests/browser_support.py); a real Celery worker (tests/worker_support.py).
pytest_plugins = ["tests.browser_support", "tests.worker_support"]


def pytest_configure(config):
    """In CI, refuse to run without PostgreSQL and Redis rather than quietly fall back to SQLite."""
    if os.environ.get("CI", "").strip().lower() in {"", "0", "false", "no"}:
        return
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(
            f"CI is set but not {', '.join(missing)}: CI runs the suite on PostgreSQL and Redis "
            "(.ci/run starts them and sets DATABASE_URL and REDIS_URL)."
        )


def pytest_collection_modifyitems(config, items):
    """Refuse `serialized_rollback`: a test asks for `migrated_data` instead (that fixture says why)."""
    serialized = [
        item.nodeid
        for item in items
        if any(marker.kwargs.get("serialized_rollback") for marker in item.iter_markers("django_db"))
        or "django_db_serialized_rollback" in getattr(item, "fixturenames", ())
    ]
    if serialized:
        raise pytest.UsageError(
            "serialized_rollback fails after another transactional test (duplicate content types); "
            f"use the migrated_data fixture instead in: {', '.join(serialized)}"
        )


@pytest.fixture
def migrated_data(transactional_db):
    """Put back what the data migrations install (role groups, the default definition) for a transactional test.

    Every transactional test ends with a flush, which keeps only what post_migrate recreates (content types,
    permissions), so the next one finds no groups and no definition. Tests ask for this fixture instead of
    `serialized_rollback`: that restores a copy kept on a context-local connection, which collides with the
    content types post_migrate recreated after an earlier flush (duplicate key), and which a test run in
    another context (a live-server or browser test) silently does without.
    """
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    default_definition_seed(django_apps.get_model)


@pytest.fixture
def team_east(db):
    return TeamFactory(name="East")


@pytest.fixture
def team_west(db):
    return TeamFactory(name="West")


@pytest.fixture
def manager(team_east):
    return UserFactory(username="maria", role=Role.SALES_MANAGER, team=team_east)


@pytest.fixture
def alice(team_east, manager):
    """A rep on the East team."""
    return UserFactory(username="alice", role=Role.SALES_REP, team=team_east, team__manager=manager)


@pytest.fixture
def bob(team_east, manager):
    """Another rep on the East team."""
    return UserFactory(username="bob", role=Role.SALES_REP, team=team_east, team__manager=manager)


@pytest.fixture
def charlie(team_west):
    """A rep on the West team."""
    return UserFactory(username="charlie", role=Role.SALES_REP, team=team_west)


@pytest.fixture
def marketer(db):
    return UserFactory(username="mark", role=Role.MARKETING)


@pytest.fixture
def executive(db):
    return UserFactory(username="erin", role=Role.EXECUTIVE)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def lead_factory(db):
    return LeadFactory
