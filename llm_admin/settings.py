"""Settings for LLM Admin, read from the environment (and a `.env` file beside manage.py).

Development and production share this one module; `DJANGO_DEBUG` switches between them.
With debug off the settings are production-grade and `manage.py check --deploy` is clean.
"""

import datetime
import ipaddress
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    # Development only: a fresh key per process. `make run` writes a lasting one to .env.
    from django.core.management.utils import get_random_secret_key

    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "llm_admin.apps.LLMAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    "common",
    "audit",
    "accounts",
    "models_registry",
    "webhooks",
    "worker",
    "observability",
    "django_rq",  # only used with WORKER_QUEUE=rq: its `rqworker` command and admin page
]

MIDDLEWARE = [
    # First: it breaks what the rest leave cyclic, once they are done with the response.
    "llm_admin.middleware.ReferenceCycleMiddleware",
    # Next, so that every request has its request id, and is timed, counted and written to
    # the access log, those answered by the middleware below (redirects, static files) too.
    "audit.middleware.RequestContextMiddleware",
    "observability.middleware.RequestObservationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the body: a chunked one gets its length, or a 411/413.
    "llm_admin.middleware.ChunkedRequestBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Refuses sign-ins while a username+address pair is locked out (brute-force protection).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "llm_admin.urls"
WSGI_APPLICATION = "llm_admin.wsgi.application"

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
                "accounts.context_processors.session_times",
            ],
        },
    },
]

# Database: an SQLite file by default, PostgreSQL (psycopg 3) when DATABASE_URL says so.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Writers queue up for the lock at BEGIN instead of failing mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # A threaded server (llm_admin/gunicorn.conf.py) sets DATABASE_POOL_MAX_SIZE: each process
    # then shares that many connections among its threads (psycopg's pool), each request
    # taking one for as long as it runs, instead of every thread keeping one of its own.
    # Without it, each thread keeps its connection for DATABASE_CONN_MAX_AGE seconds.
    DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
    if DATABASE_POOL_MAX_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # a request gives its connection back when it ends
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "pool",
            # A request waits at most `timeout` seconds for a free connection (then 503).
            {"min_size": 1, "max_size": DATABASE_POOL_MAX_SIZE, "timeout": 10},
        )
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT: a list page's plan over a large table is costed high enough to be JIT-compiled,
    # which takes longer (tens of ms) than running it. Options in DATABASE_URL win.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

# The owner of the tables, when the app's DATABASE_URL is a least-privilege role (see
# audit/database_roles.py): `migrate`, `prune_history` and `create_app_db_role` connect as
# this user, to the database DATABASE_URL names.
DATABASE_OWNER = env.db_url("DATABASE_OWNER_URL") if env.str("DATABASE_OWNER_URL", default="") else None

# The key of the audit chain's HMAC (audit/chain.py); SECRET_KEY when unset. Never stored in
# the database. Set it so that rotating SECRET_KEY leaves the chain verifiable.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")

# Webhooks (docs/contract.md §7; docs/webhooks.md). Deliveries go to https URLs only, unless
# WEBHOOK_ALLOW_HTTP; never to a private, loopback or link-local address unless its host
# name, the address or a network holding it is listed in WEBHOOK_ALLOWED_HOSTS.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# The key the signing secrets are encrypted with at rest (webhooks/encryption.py); SECRET_KEY
# when unset. Never stored in the database.
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default="")
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5.0)  # seconds
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=15.0)  # seconds for a whole attempt
WEBHOOK_RESPONSE_MAX_BYTES = env.int("WEBHOOK_RESPONSE_MAX_BYTES", default=16 * 1024)  # read of an answer, at most
# Each delivery is retried (backoff doubling to an hour, with jitter) for at least this long;
# a subscription nothing reached for as long is disabled.
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24.0)
# Finished deliveries (delivered or given up) and their attempts are kept this many days,
# then the worker deletes them; pending ones are kept until they finish.
WEBHOOK_DELIVERY_RETENTION_DAYS = env.float("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30.0)
# The worker (`manage.py run_worker`): threads sending webhooks, and how often an idle worker
# looks for new work (seconds).
WEBHOOK_SENDER_THREADS = env.int("WEBHOOK_SENDER_THREADS", default=4)
WORKER_POLL_INTERVAL = env.float("WORKER_POLL_INTERVAL", default=0.2)
if (
    WEBHOOK_SENDER_THREADS < 1
    or WORKER_POLL_INTERVAL <= 0
    or WEBHOOK_TIMEOUT <= 0
    or WEBHOOK_CONNECT_TIMEOUT <= 0
    or WEBHOOK_DELIVERY_RETENTION_DAYS <= 0
):
    raise ImproperlyConfigured(
        "WEBHOOK_SENDER_THREADS must be at least 1; WORKER_POLL_INTERVAL, the webhook timeouts and "
        "WEBHOOK_DELIVERY_RETENTION_DAYS above 0."
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: in-process by default; Redis when REDIS_URL is set, so every process shares it.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache behind a circuit breaker: after a failure, the cache is
            # skipped for CACHE_FAILURE_COOLDOWN seconds instead of every request waiting.
            "BACKEND": "llm_admin.cache.CircuitBreakerRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "llm_admin",
            "TIMEOUT": 3600,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHE_FAILURE_COOLDOWN = env.int("CACHE_FAILURE_COOLDOWN", default=30)


def worker_queue(engine: str, redis_url: str) -> str:
    """WORKER_QUEUE: `database` (the embedded worker, nothing but the database) or `rq`."""
    engine = engine.strip().lower()
    if engine not in ("database", "rq"):
        raise ImproperlyConfigured(f"WORKER_QUEUE must be database or rq: got {engine!r}.")
    if engine == "rq" and not redis_url:
        raise ImproperlyConfigured(
            "WORKER_QUEUE=rq needs REDIS_URL (redis://host:6379/0): RQ keeps its queue in Redis. "
            "Set it, or leave WORKER_QUEUE unset for the embedded worker."
        )
    return engine


# Where deliveries are sent (docs/webhooks.md, docs/operators.md "run_worker"). The database
# stays the source of truth either way: with `rq`, run_worker claims due deliveries as the
# embedded worker does and RQ only carries each claimed batch to `manage.py rqworker` processes.
WORKER_QUEUE = worker_queue(env.str("WORKER_QUEUE", default="database"), REDIS_URL)
WORKER_RQ_QUEUE = env.str("WORKER_RQ_QUEUE", default="llm_admin")
if WORKER_QUEUE == "rq":
    RQ_QUEUES = {WORKER_RQ_QUEUE: {"URL": REDIS_URL}}
# django-rq's admin page (queue statistics) reads Redis: shown only when RQ is in use.
RQ_SHOW_ADMIN_LINK = WORKER_QUEUE == "rq"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Sessions: idle expiry (each request extends it) plus an absolute lifetime.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_LIFETIME = env.int("SESSION_ABSOLUTE_LIFETIME", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Destructive admin operations ask for the password again when the last sign-in is older.
REAUTHENTICATE_AFTER = env.int("REAUTHENTICATE_AFTER", default=15 * 60)

# Brute-force protection (django-axes): 5 failures lock that username *from that address*
# for 15 minutes. Never for good, and others cannot lock a real user out from elsewhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "audit.security.client_ip"  # the one reading of the client's address

# Behind a reverse proxy: only then are X-Forwarded-Proto (HTTPS) and X-Forwarded-For (the
# client's address) believed. Without a proxy any client could send them.
TRUST_PROXY_HEADERS = env.bool("DJANGO_TRUST_PROXY_HEADERS", default=False)

# API tokens that fail: after API_AUTH_FAILURE_LIMIT failures from one address within a
# window of API_AUTH_FAILURE_WINDOW seconds, that address gets 429 until the window ends
# (0 switches it off). Counted in the cache, so all workers sharing Redis agree.
API_AUTH_FAILURE_LIMIT = env.int("API_AUTH_FAILURE_LIMIT", default=20)
API_AUTH_FAILURE_WINDOW = env.int("API_AUTH_FAILURE_WINDOW", default=300)
if API_AUTH_FAILURE_WINDOW < 1:
    raise ImproperlyConfigured("API_AUTH_FAILURE_WINDOW is a number of seconds, at least 1.")


def rate_limit(value: str) -> str | None:
    """`1000/min` (at least 1, per s, min, hour or day), or none/off."""
    value = value.strip().lower()
    if value in ("", "none", "off"):
        return None
    count, _, period = value.partition("/")
    periods = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")
    if not count.isdigit() or int(count) < 1 or period not in periods:
        raise ImproperlyConfigured(f"API_RATE_LIMIT must look like 1000/min, or be none: got {value!r}.")
    return value


# Requests per API client (per token; per user for admin sessions).
API_RATE_LIMIT = rate_limit(env.str("API_RATE_LIMIT", default="1000/min"))

# Production hardening: everything `check --deploy` asks for when debug is off.
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    if TRUST_PROXY_HEADERS:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Load balancers probe health, and Prometheus scrapes each server directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_FAILURE_VIEW = "llm_admin.api.errors.csrf_failure"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# Seconds a client is asked to wait (Retry-After) when the database cannot be reached (503).
DATABASE_UNAVAILABLE_RETRY_AFTER = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER", default=5)

# The change feed (GET /api/v1/changes): the longest a `wait` is honoured, in seconds (at most
# 30, the contract's bound). Lower it below a proxy's read timeout if that is shorter.
CHANGE_FEED_MAX_WAIT = env.int("CHANGE_FEED_MAX_WAIT", default=30)
if not 0 <= CHANGE_FEED_MAX_WAIT <= 30:
    raise ImproperlyConfigured("CHANGE_FEED_MAX_WAIT is a number of seconds from 0 to 30.")

# Import files (docs/operators.md "Import limits"; the defaults are in models_registry/limits.py).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=32 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
IMPORT_MAX_INFLATED_BYTES = env.int("IMPORT_MAX_INFLATED_BYTES", default=256 * 1024 * 1024)

# The REST API (docs/contract.md section 3).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["llm_admin.api.permissions.RegistryPermissions"],
    "DEFAULT_PAGINATION_CLASS": "llm_admin.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["llm_admin.api.filters.FilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["llm_admin.api.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["llm_admin.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "llm_admin.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "llm_admin.api.exceptions.exception_handler",
    "URL_FORMAT_OVERRIDE": None,  # `?format=csv` on the audit log is ours, not a renderer switch
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": API_RATE_LIMIT},
}
# API tokens: django-rest-knox, hashed, no expiry unless asked for.
# The token model is ours (accounts.ServiceToken); knox's own migrations would still create
# an unused table whose foreign key to auth_user blocks flushing the database.
MIGRATION_MODULES = {"knox": None}
KNOX_TOKEN_MODEL = "accounts.ServiceToken"  # noqa: S105 (a model name, not a secret)
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Bearer", "TOKEN_MODEL": KNOX_TOKEN_MODEL}
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Admin API",
    "DESCRIPTION": "The registry of AI models: models, providers, industries, dependencies, bulk operations, "
    "the audit and security logs, and an OpenAI-compatible model listing.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BulkActionEnum": "models_registry.choices.BulkAction",
        "AuditActionEnum": "audit.choices.AuditAction",
        "EventTypeEnum": "audit.choices.EventType",
        "StatusEnum": "models_registry.choices.ModelStatus",
        "ScheduledStatusEnum": "models_registry.choices.ScheduledStatus",
        "ScheduledChangeStateEnum": "models_registry.choices.ScheduledChangeState",
    },
}

# django-simple-history: reasons can be long; the user is stored as an id, not a
# foreign key, so that audit rows outlive users and stay untouched (append-only).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# GET /metrics (docs/contract.md §7 "Scale"): answered to a caller presenting METRICS_TOKEN
# as a bearer token, or coming from an address in METRICS_ALLOWED_IPS (addresses or CIDRs;
# the client's address as audit.security.client_ip reads it). Neither set: refused to all.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")


def networks(name: str, values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} takes addresses or networks (CIDR), comma-separated: {error}") from None


METRICS_ALLOWED_IPS = networks("METRICS_ALLOWED_IPS", env.list("METRICS_ALLOWED_IPS", default=[]))
# Several server processes (gunicorn's workers) share their metrics through files in this
# directory (prometheus_client's multiprocess mode); llm_admin/gunicorn.conf.py sets it up.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR} is not a directory.")

# Logs: `json` writes one JSON object per line on standard output (production's default),
# `text` one readable line on standard error (development's; the tests set it too). Every
# record carries the request id, user and door of the request or command that logged it
# (observability/logs.py); the access log (logger `llm_admin.access`) has a line per request.
# A management command's standard output is its output (a CSV export, a token for `tail -1`),
# so a command other than the development server logs to standard error in either format.
LOG_FORMAT = env.str("LOG_FORMAT", default="").strip().lower() or ("text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT is json or text, not {LOG_FORMAT!r}.")
RUNNING_A_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] != ["runserver"]
LOG_STREAM = "ext://sys.stdout" if LOG_FORMAT == "json" and not RUNNING_A_COMMAND else "ext://sys.stderr"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "observability.logs.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "observability.logs.JsonLinesFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": LOG_STREAM,
            "formatter": LOG_FORMAT,
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
    "loggers": {"llm_admin.access": {"level": "INFO"}},
}
