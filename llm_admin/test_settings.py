"""Settings for the test suite: the real settings, with a throwaway key and plain HTTP."""

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# Webhook tests receive on this machine, over plain HTTP (the refusals are tested with
# these settings overridden). Set in the environment, so a worker a test starts has them.
os.environ.setdefault("WEBHOOK_ALLOW_HTTP", "true")
os.environ.setdefault("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
# Readable log lines, as in development (the JSON lines are tested by configuring them).
os.environ.setdefault("LOG_FORMAT", "text")

from llm_admin.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Hashing strength is not under test; MD5 keeps user factories fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files straight from the apps (no collectstatic before a test run).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# django-axes needs the request in authenticate(), which Client.login() does not pass; the
# brute-force tests switch it on with override_settings(AXES_ENABLED=True).
AXES_ENABLED = False

# pytest-xdist: each worker has a test database of its own, and here a Redis database of its
# own too (tests empty the cache, which must not pull another worker's counts away). Done
# once: a process a test starts inherits the worker's name and is given the worker's URL.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _WORKER.startswith("gw") and os.environ.get("LLM_ADMIN_REDIS_WORKER") != _WORKER:  # noqa: F405
    _url = urlsplit(REDIS_URL)  # noqa: F405
    _database = int(_url.path.strip("/") or 0) + int(_WORKER[2:])
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_database}"))
    CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
    if WORKER_QUEUE == "rq":  # noqa: F405
        RQ_QUEUES[WORKER_RQ_QUEUE]["URL"] = REDIS_URL  # noqa: F405
    os.environ["LLM_ADMIN_REDIS_WORKER"] = _WORKER

# `make mutation` runs pytest once per mutant: there, one SQLite test database kept on disk
# (with --reuse-db) spares each run the migrations.
if os.environ.get("LLM_ADMIN_TEST_DATABASE_FILE") and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.environ["LLM_ADMIN_TEST_DATABASE_FILE"]}  # noqa: F405
