"""Settings shared by every environment. Everything that varies comes from the environment."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# An empty value counts as unset (an env file line `LEADOPS_VAR_DIR=` must not mean the current directory).
VAR_DIR = Path(os.environ.get("LEADOPS_VAR_DIR") or BASE_DIR / "var")


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "leads",
    "scoring",
    "nurture",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "leadops.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leadops.urls"
WSGI_APPLICATION = "leadops.wsgi.application"
ASGI_APPLICATION = "leadops.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leads.context_processors.navigation",
            ],
        },
    },
]

# DATABASE_URL selects PostgreSQL (or anything dj-database-url knows); unset or empty means a SQLite file
# under var/ (`DATABASE_URL= make run` is the usual way to say "not PostgreSQL this time").
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'leadops.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server, worker and beat share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Covering indexes (INCLUDE columns) are a PostgreSQL speed-up; SQLite builds them as plain indexes.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The axes backend refuses a locked-out login before the model backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# EMAIL_URL: smtp://user:pass@host:port, smtp+tls://..., console://, file:///path. Default: files under var/.
EMAIL_URL = os.environ.get("EMAIL_URL", f"file://{VAR_DIR / 'mail'}")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "leadops <leadops@localhost>")


def _email_settings(url: str) -> dict[str, object]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parts.path),
        }
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme in {"smtp", "smtp+tls", "smtps"}:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or (465 if scheme == "smtps" else 587 if scheme == "smtp+tls" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtps",
        }
    raise ValueError(f"EMAIL_URL has an unknown scheme {scheme!r}")


globals().update(_email_settings(EMAIL_URL))

# Celery. REDIS_URL selects Redis; unset means Celery's filesystem transport under var/broker/ (or
# LEADOPS_BROKER_DIR), still consumed by a real worker process (never eager mode). Every process that
# shares the broker (web, worker, beat) must see the same folder; leadops/celery.py creates it.
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = Path(os.environ.get("LEADOPS_BROKER_DIR") or VAR_DIR / "broker")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu's default is a folder named "control" in the current directory: keep it with the queue.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
# The cache holds API throttle counters and the queue's time-zone lookups: shared by every web process
# when Redis is there. Nothing in it is needed to answer a request, so a stopped or frozen Redis must cost
# a request at most these timeouts (redis-py's default is 5 s) before callers go on without it
# (`leadops.cache`); a local Redis answers in well under a millisecond.
LEADOPS_REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": LEADOPS_REDIS_CACHE_OPTIONS,
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

REST_FRAMEWORK = {
    # The token first: its `WWW-Authenticate: Bearer` header makes a request without credentials a 401
    # (DRF asks the first class for the header; the session class has none and would turn it into 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leads.api.authentication.APITokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "leads.api.permissions.TokenHasScope",
    ],
    # DRF's parsers, with a JSON parser that answers 400 to bodies nested too deeply to walk safely.
    "DEFAULT_PARSER_CLASSES": [
        "leads.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # DRF's renderers, with a JSON renderer that can quote a lone surrogate of the request in a 400.
    "DEFAULT_RENDERER_CLASSES": [
        "leads.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["leads.api.throttling.APITokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Requests per token (personal / integration); e.g. "600/min", "20000/hour".
        "token": os.environ.get("LEADOPS_API_TOKEN_RATE", "600/min"),
        "integration": os.environ.get("LEADOPS_API_INTEGRATION_RATE", "3000/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "leads.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "leads.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "leadops API",
    "DESCRIPTION": (
        "Lead management: leads, lifecycle, scoring, imports, the lead definition and reporting. "
        "Authenticate with a session (the browser) or `Authorization: Bearer <token>` (API tokens page)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs page are for signed-in users and token holders (any scope), not the public.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "leads.api.permissions.TokenHasScope"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["leads.api.schema.only_api_paths"],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "leads.lifecycle.Stage",
        "GradeEnum": "leads.models.lead.Grade",
        "ULDStatusEnum": "leads.models.uld.ULDStatus",
        "TrackStatusEnum": "nurture.models.Track.Status",
        "EnrolmentStatusEnum": "nurture.models.Enrolment.Status",
    },
}

# --- Security (see README "Security") ---------------------------------------------------------------
# Login throttling (django-axes): after LEADOPS_LOGIN_FAILURE_LIMIT failures a username is locked, from
# everywhere and per address, for LEADOPS_LOGIN_COOLOFF_MINUTES; any attempt during the lock restarts it.
# The address is REMOTE_ADDR unless LEADOPS_TRUSTED_PROXY_COUNT of our proxies stand in front (see
# leadops.security.client_ip), so a spoofed X-Forwarded-For does not buy fresh attempts.
LEADOPS_TRUSTED_PROXY_COUNT = int(os.environ.get("LEADOPS_TRUSTED_PROXY_COUNT", "0"))
AXES_FAILURE_LIMIT = max(1, int(os.environ.get("LEADOPS_LOGIN_FAILURE_LIMIT", "5")))
AXES_COOLOFF_TIME = dt.timedelta(minutes=max(1, int(os.environ.get("LEADOPS_LOGIN_COOLOFF_MINUTES", "15"))))
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True  # the lockout page's "try again in N minutes" relies on it
AXES_CLIENT_IP_CALLABLE = "leadops.security.client_ip"
AXES_LOCKOUT_CALLABLE = "leadops.security.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # one store for SQLite and PostgreSQL alike
AXES_VERBOSE = False

# Content-Security-Policy (django-csp): only our own scripts and styles, no inline code anywhere. Pico's
# icons are data: URIs in its stylesheet; Chart.js sizes its canvas through CSSOM, which CSP allows.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# SecurityMiddleware sends these on every response; set here so no environment depends on Django's defaults.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Pages send the CSRF token from the template (hx-headers), never from the cookie: scripts need not read it.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Upload limits (imports) and request size limits.
LEADOPS_IMPORT_MAX_BYTES = int(os.environ.get("LEADOPS_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
# Pause between an import's chunks (5,000 rows each), in milliseconds: paces a big import so the reps'
# pages keep their speed on a small machine, at the cost of a longer import (see bench/README.md).
LEADOPS_IMPORT_CHUNK_PAUSE_MS = int(os.environ.get("LEADOPS_IMPORT_CHUNK_PAUSE_MS", "0"))
if LEADOPS_IMPORT_CHUNK_PAUSE_MS < 0:
    raise ImproperlyConfigured("LEADOPS_IMPORT_CHUNK_PAUSE_MS must be 0 or more (milliseconds).")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# How long a worker or beat may be silent before the status page shows it down.
LEADOPS_HEARTBEAT_STALE_SECONDS = int(os.environ.get("LEADOPS_HEARTBEAT_STALE_SECONDS", "180"))
# The site's address as people reach it: nurture emails carry absolute links (tracked clicks, unsubscribe).
LEADOPS_BASE_URL = os.environ.get("LEADOPS_BASE_URL") or "http://127.0.0.1:8000"

# Behaviour events API (leads.services.events). A request may spend at most HANDOVER_TIMEOUT seconds
# publishing to the broker after its events are stored; a down or paused broker leaves them for the
# re-drive, which picks up events not handed over after REDRIVE_AFTER seconds and re-sends queued ones
# not processed after REQUEUE_AFTER seconds (a broker restart may lose messages).
LEADOPS_EVENTS_BATCH_MAX = 500
LEADOPS_EVENTS_HANDOVER_TIMEOUT = 2.0
LEADOPS_EVENTS_REDRIVE_AFTER_SECONDS = 30
LEADOPS_EVENTS_REQUEUE_AFTER_SECONDS = 600
LEADOPS_EVENTS_MAX_HANDOVERS = 10
# Clock skew tolerated on a client's occurred_at.
LEADOPS_EVENTS_MAX_FUTURE_SECONDS = 24 * 3600

# Outbound webhooks (leads.services.webhooks). Private, loopback and link-local targets are refused
# unless LEADOPS_WEBHOOK_ALLOW_PRIVATE is true (local development and tests only).
LEADOPS_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADOPS_WEBHOOK_ALLOW_PRIVATE", False)
LEADOPS_WEBHOOK_TIMEOUT_SECONDS = 10
LEADOPS_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("LEADOPS_WEBHOOK_MAX_ATTEMPTS", "8"))
# First retry after about this many seconds, doubling each time (with jitter), at most 6 hours apart.
LEADOPS_WEBHOOK_BACKOFF_SECONDS = 30
LEADOPS_WEBHOOK_BACKOFF_MAX_SECONDS = 6 * 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; failures and lockouts (WARNING) are what an operator needs.
    "loggers": {"axes": {"level": "WARNING"}},
}
