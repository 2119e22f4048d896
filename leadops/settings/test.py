"""pytest. Uses DATABASE_URL/REDIS_URL when given (CI does), SQLite and the filesystem broker otherwise."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

SECRET_KEY = "test-only-key"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Per-process cache: throttle counters never leak from one test run (or one test) into another.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's default in-memory test database: the Celery worker test starts a worker
    # process that must write to the same database as the test.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_leadops.sqlite3")}

# The webhook tests run their receiver on 127.0.0.1; the SSRF guard has its own tests with this off.
LEADOPS_WEBHOOK_ALLOW_PRIVATE = True
