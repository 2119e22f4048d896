"""Developer machine: `make run`. Debug on, an insecure key only when none is given."""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env_bool
from .base import SECRET_KEY as _SECRET_KEY

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = _SECRET_KEY or "local-only-insecure-key-do-not-use-in-production"

# The default SQLite file lives in var/, and SQLite will not create the folder for its file.
VAR_DIR.mkdir(parents=True, exist_ok=True)

# A webhook receiver on this machine (http://127.0.0.1:...) is the usual local test.
LEADOPS_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADOPS_WEBHOOK_ALLOW_PRIVATE", True)

# No persistent database connections on a developer machine unless asked: `manage.py runserver` serves
# each request on a thread of its own, and each thread would keep its connection open for
# CONN_MAX_AGE, so a burst of requests used up PostgreSQL's connections ("too many clients").
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "0"))
