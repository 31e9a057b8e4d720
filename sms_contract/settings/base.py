"""Settings, read from the environment (django-environ).

With nothing set the project runs on its embedded defaults: a SQLite file in the
project folder, Celery tasks executed in-process, a local-memory cache and two
simulated carrier nodes. Production differs only through the environment; every
variable is documented in `.env.example`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# The .env file (DJANGO_DOT_ENV_FILE, default the project folder's .env) fills in variables the environment
# does not set. DJANGO_READ_DOT_ENV_FILE=true always reads it, =false never; unset, it is read when it is the
# development file `make run` writes (it carries DEV_ENV_MARKER=1, generated secrets and DEBUG=true), so every
# command the README shows works in a fresh shell. Such a file is refused with DEBUG off: it never runs production.
DEV_ENV_MARKER = "SMS_DEV_ENV"
DOT_ENV_FILE = Path(env.str("DJANGO_DOT_ENV_FILE", default=str(BASE_DIR / ".env")))


def _is_dev_env_file(path: Path) -> bool:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, IsADirectoryError):
        return False
    return any(line.replace(" ", "") in (f"{DEV_ENV_MARKER}=1", f"export{DEV_ENV_MARKER}=1") for line in lines)


_read_dot_env = env.str("DJANGO_READ_DOT_ENV_FILE", default="")
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False) or (_read_dot_env == "" and _is_dev_env_file(DOT_ENV_FILE)):
    env.read_env(str(DOT_ENV_FILE))

DEBUG = env.bool("DEBUG", default=False)
if env.bool(DEV_ENV_MARKER, default=False) and not DEBUG:
    raise ImproperlyConfigured(
        f"{DOT_ENV_FILE} is the development file written by `make run` ({DEV_ENV_MARKER}=1) and DEBUG is off: "
        "production never runs on generated development secrets. Remove that file or set real ones "
        "(.env.example, docs/operations.md)."
    )
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - used only with DEBUG on
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The reverse proxy in front of gunicorn (compose service `proxy`): addresses or networks whose
# X-Forwarded-For/-Proto headers are believed (sms_contract.middleware.TrustedProxyMiddleware). From anyone
# else those headers are dropped, so nobody reaching gunicorn directly can claim HTTPS or another address.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Key for secrets stored encrypted at rest (API-client and carrier-node secrets).
# A urlsafe base64 Fernet key; comma-separate several to rotate (first encrypts, all decrypt).
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])
if not SECRETS_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured("SECRETS_ENCRYPTION_KEYS must be set when DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from the project (no CDN: /api/docs/ works offline)
    "csp",
    "django_celery_beat",
    "simple_history",
    "sms_contract.apps.AxesConfig",  # django-axes, named in Chinese in the admin
    "contracts",
    "billing",
    "assessment",
    "gateway",
    "portal",
    "ops",
    "demo",
]

MIDDLEWARE = [
    # /healthz/ answers before the host check and the HTTPS redirect (container health checks call it by IP).
    "sms_contract.middleware.HealthCheckMiddleware",
    "sms_contract.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sms_contract.urls"
WSGI_APPLICATION = "sms_contract.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# A kept connection is checked (one round trip) before the first query of each request: after a PostgreSQL
# restart or failover each web worker's old connection is replaced at once instead of answering one 503.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web app, the sender and the simulated nodes share the demo file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
# A streaming read replica for pages and reports (docs/operations.md "A primary and a read replica"): unset, every
# query goes to DATABASE_URL.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Both do nothing without a replica.
DATABASE_ROUTERS = ["sms_contract.db_router.ReplicaRouter"]
MIDDLEWARE.append("sms_contract.db_router.ReplicaReadsMiddleware")
# GET pages (regular expressions on the path) read from the replica when there is one.
REPLICA_PAGES = env.list(
    "REPLICA_PAGES",
    default=[
        r"^/$",
        r"^/finance/",
        r"^/portal/",
        r"^/admin/gateway/message/$",
        r"^/admin/gateway/dailycount/$",
        r"^/admin/billing/",
        r"^/admin/assessment/",
    ],
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Failed logins: lock the username+IP pair for a while (django-axes).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as 2026-11-30 and times to the second everywhere (sms_contract/formats/zh_Hans/formats.py).
FORMAT_MODULE_PATH = ["sms_contract.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
# WhiteNoise serves what `collectstatic` gathered (the image runs it at build time): file names carry a content
# hash and are cached for a year, with gzip and brotli copies. With DEBUG on, templates get the plain names and
# WhiteNoise reads the app folders directly, so `make run` needs no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Redis, cache, Celery (docs/operations.md "Jobs"; docs/adr/0061) -----------------------------------
# REDIS_URL: the cache, the node rate-limit counters and the sender wake-ups. The Celery broker gets its own
# Redis database (CELERY_BROKER_URL; compose uses /0 for the cache and /1 for the broker): clearing the cache
# flushes its whole database and must never take queued tasks with it (`check --deploy` warns).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Nothing reads task results, so by default there is no result backend (a call never waits on one).
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_RESULT_EXPIRES = None if CELERY_RESULT_BACKEND is None else 86_400  # no daily cleanup of nothing
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Redis away must not hang a request: fail in about a second and fall back (docs/operations.md).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if CELERY_BROKER_URL:
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CELERY_BROKER_URL = "memory://"
    # No broker configured: tasks run in-process (Saleor's pattern).
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Worker and beat keep Django's LOGGING (its console handler masks mobile numbers, 8.1); see
# sms_contract.celery.keep_django_logging, which stops Celery from adding its own, unmasked handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged when it has finished, and given back to the queue when its process dies (SIGKILL, OOM):
# it runs again instead of being lost. Tasks are therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# A task taken by a worker that then vanished goes back to the queue after this many seconds (Redis transport;
# kombu looks every ~100 s). It must exceed the longest task (hard limit below) and the longest retry delay
# (sms_contract.celery.RETRY), or a healthy task would be handed to a second worker.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=240)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Publishing gives up quickly when Redis is down; ops.services.task_enqueue keeps the task in PostgreSQL then.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": 5,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "ops.beat:HeartbeatDatabaseScheduler"
# Beat touches this file on every tick; the compose health check (`manage.py health beat`) reads its age.
CELERY_BEAT_HEARTBEAT_FILE = env.str("CELERY_BEAT_HEARTBEAT_FILE", default="/tmp/celerybeat.alive")  # noqa: S108
# Tasks that could not be published (Redis down) wait in ops.PendingTask; beat's relay entry republishes them.
TASK_OUTBOX_RELAY_SECONDS = env.int("TASK_OUTBOX_RELAY_SECONDS", default=60)

# --- REST framework ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "sms_contract.tokens.HashedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "sms_contract.api_exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "sms_contract.pagination.BoundedLimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "sms_contract.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    "COERCE_DECIMAL_TO_STRING": True,
}
# Staff API tokens (django-rest-knox): stored as SHA-512 only, sent as "Authorization: Token <key>" like DRF's;
# they do not expire unless API_TOKEN_TTL_HOURS is set (docs/api.md "Staff tokens").
_token_ttl_hours = env.int("API_TOKEN_TTL_HOURS", default=0)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(hours=_token_ttl_hours) if _token_ttl_hours else None,
}
# The most rows one page of a list may hold (`?limit=`); more is a 400 `invalid_limit` (docs/api.md).
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=500)
# How deep JSON arrays/objects in a request body may nest; deeper is a 400 `json_too_deep`.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "12123 SMS contract API",
    "DESCRIPTION": "Notices from the 12123 platform, opt-outs, carrier bills, statements and assessments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from this server (drf-spectacular-sidecar), not a CDN: the CSP allows only 'self'.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sms_contract.schema.add_error_responses",
    ],
}
# /api/schema/ and /api/docs/ for anyone (True) or only for signed-in staff, token holders and signed API clients
# (False, the default without DEBUG): the schema maps every endpoint and is nothing an anonymous visitor needs.
PUBLIC_API_DOCS = env.bool("PUBLIC_API_DOCS", default=DEBUG)
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = [
    "rest_framework.permissions.AllowAny" if PUBLIC_API_DOCS else "rest_framework.permissions.IsAuthenticated"
]
SPECTACULAR_SETTINGS["SERVE_AUTHENTICATION"] = [
    "gateway.auth.HmacAuthentication",
    "rest_framework.authentication.SessionAuthentication",
    "sms_contract.tokens.HashedTokenAuthentication",
]
# The web app's /metrics: open to anyone (True) or, by default without DEBUG, only to a scraper sending
# "Authorization: Bearer <METRICS_TOKEN>" and to signed-in staff (docs/operations.md "Metrics").
PUBLIC_METRICS = env.bool("PUBLIC_METRICS", default=DEBUG)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- E-mail --------------------------------------------------------------------
# Production mails reminders and breach notices for real: EMAIL_URL is required with DEBUG off (the console
# backend would drop every one while they are recorded as sent). With DEBUG on (`make run`) mail goes to the console.
if not env.str("EMAIL_URL", default="") and not DEBUG:
    raise ImproperlyConfigured(
        "EMAIL_URL must be set when DEBUG is off, e.g. smtp+tls://user:password@mail.example.org:587 "
        "(docs/operations.md)."
    )
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # seconds; an unanswering mail server fails the attempt
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="sms-contract@localhost")

# --- Security --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# HTTPS ends at the reverse proxy, which says so in X-Forwarded-Proto; the header is believed only from
# TRUSTED_PROXIES (dropped from anyone else by TrustedProxyMiddleware).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
# HSTS for the site's own host name and its subdomains (never a parent domain). Not "preload": the browsers'
# preload lists take only registrable domains, which this service does not own (security.W021 silenced).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, styles, fonts and images only from this server; no plugins, no
# framing, forms post only here. Inline <script> is never needed (the admin, the portal's upload.js and Swagger
# UI's split view load files); inline *styles* are allowed because the admin and the pages use style="…".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Backups (manage.py backup; compose service `backup`) -------------------------------------------
BACKUP_DIR = env.path("BACKUP_DIR", default=str(BASE_DIR / "backups"))
BACKUP_KEEP_DAYS = env.int("BACKUP_KEEP_DAYS", default=30)  # and every month's last backup, for good

# --- Logging: phone numbers masked, secrets never logged -------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_mobiles": {"()": "sms_contract.logging.MaskMobileFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_mobiles"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own handlers (its console handler, runserver's request log "django.server") would print
        # request paths, opt-out numbers among them, unmasked: both go through the masked root handler instead.
        "django": {"level": LOG_LEVEL, "propagate": True},
        "django.server": {"level": LOG_LEVEL, "propagate": True},
    },
}

# --- The gateway ------------------------------------------------------------------
# Simulated carrier nodes for the demo (`make run`); production lists real nodes in the admin.
GATEWAY_SIMULATED_NODES = env.int("GATEWAY_SIMULATED_NODES", default=2)

# --- Assessment (Annex 3, clause 4.4): SLA clocks and suggested scores (docs/adr/0020) -----------
# Fault tickets: response "at once" (minutes), on site 2 h, recovery 4 h minor / 24 h severe.
ASSESSMENT_RESPONSE_MINUTES = env.int("ASSESSMENT_RESPONSE_MINUTES", default=15)
ASSESSMENT_ON_SITE_MINUTES = env.int("ASSESSMENT_ON_SITE_MINUTES", default=120)
ASSESSMENT_RECOVERY_MINOR_MINUTES = env.int("ASSESSMENT_RECOVERY_MINOR_MINUTES", default=240)
ASSESSMENT_RECOVERY_SEVERE_MINUTES = env.int("ASSESSMENT_RECOVERY_SEVERE_MINUTES", default=1440)
# Complaints (4.4.1-4.4.3): contact the other side / first reply within one hour.
ASSESSMENT_COMPLAINT_CONTACT_MINUTES = env.int("ASSESSMENT_COMPLAINT_CONTACT_MINUTES", default=60)
ASSESSMENT_COMPLAINT_REPLY_MINUTES = env.int("ASSESSMENT_COMPLAINT_REPLY_MINUTES", default=60)
# Suggested scores: points off per breached ticket clock (part 3), per complaint that was the
# carrier's fault and per complaint clock the carrier broke (parts 2.1/2.2).
ASSESSMENT_EMERGENCY_BREACH_DEDUCTION = env.int("ASSESSMENT_EMERGENCY_BREACH_DEDUCTION", default=5)
ASSESSMENT_COMPLAINT_FAULT_DEDUCTION = env.int("ASSESSMENT_COMPLAINT_FAULT_DEDUCTION", default=3)
ASSESSMENT_COMPLAINT_BREACH_DEDUCTION = env.int("ASSESSMENT_COMPLAINT_BREACH_DEDUCTION", default=2)
# How often the beat task `assessment.tasks.sla_check_task` looks for breached clocks.
ASSESSMENT_SLA_CHECK_MINUTES = env.int("ASSESSMENT_SLA_CHECK_MINUTES", default=5)

# --- The sender (gateway: `manage.py runsender`) ----------------------------------
GATEWAY_SENDER_BATCH = env.int("GATEWAY_SENDER_BATCH", default=1000)  # messages per claim
# Each claim's share per priority (docs/adr/0110): urgent first, bulk never starved. Every weight ≥ 1.
GATEWAY_PRIORITY_WEIGHTS = env.str("GATEWAY_PRIORITY_WEIGHTS", default="urgent=16,normal=4,bulk=1")
# Leases on claimed messages, renewed every 3 s while the sender lives: a dead sender's work is free again
# within this many seconds (on the same host its journal is replayed sooner, see docs/adr/0040).
GATEWAY_SENDER_LEASE_SECONDS = env.int("GATEWAY_SENDER_LEASE_SECONDS", default=12)
# The local journal of claims and SUBMIT_RESPs (one file per sender; must survive a sender restart).
GATEWAY_SENDER_JOURNAL_DIR = env.path("GATEWAY_SENDER_JOURNAL_DIR", default=str(BASE_DIR / "run" / "sender-journal"))
GATEWAY_SENDER_POLL_SECONDS = env.float("GATEWAY_SENDER_POLL_SECONDS", default=1.0)
GATEWAY_NODE_PROBATION_SECONDS = env.float("GATEWAY_NODE_PROBATION_SECONDS", default=10.0)
GATEWAY_NODE_RAMP_SECONDS = env.float("GATEWAY_NODE_RAMP_SECONDS", default=30.0)
# A node whose share of refused or throttled (result 8) answers over 10 s exceeds this loses its traffic.
GATEWAY_NODE_MAX_ERROR_RATE = env.float("GATEWAY_NODE_MAX_ERROR_RATE", default=0.5)
GATEWAY_NODE_DOWN_TICKET_SECONDS = env.int("GATEWAY_NODE_DOWN_TICKET_SECONDS", default=600)
GATEWAY_ALL_DOWN_TICKET_SECONDS = env.int("GATEWAY_ALL_DOWN_TICKET_SECONDS", default=30)
# What to do with a submit whose answer was lost: "resend" (another node, marked possible duplicate) or "fail".
GATEWAY_AMBIGUOUS_POLICY = env.str("GATEWAY_AMBIGUOUS_POLICY", default="resend")
GATEWAY_REPORT_MATCH_GRACE_SECONDS = env.float("GATEWAY_REPORT_MATCH_GRACE_SECONDS", default=10.0)
# A submitted message whose status report has not come this long after its validity ended becomes `no_report`
# (无状态报告, final): reports die with a node that restarts; nothing may wait forever.
GATEWAY_NO_REPORT_GRACE_SECONDS = env.float("GATEWAY_NO_REPORT_GRACE_SECONDS", default=3600.0)
GATEWAY_SENDER_METRICS_PORT = env.int("GATEWAY_SENDER_METRICS_PORT", default=9108)

# --- Partitions and retention of the traffic tables (PostgreSQL; docs/operations.md "Partitions", ADR 0115) -----
# Month partitions kept ready ahead of this month (beat creates them daily).
PARTITION_AHEAD_MONTHS = env.int("PARTITION_AHEAD_MONTHS", default=3)
# The partitioning migration converts tables this small at once; larger ones by `manage.py partition_tables`.
PARTITION_INLINE_ROWS = env.int("PARTITION_INLINE_ROWS", default=50_000)
# Months a month of messages is kept after it ends; 0 = the contract's service term plus its confidentiality
# years (7.2: 12 + 24 = 36 months). Older months are archived (ARCHIVE_DIR) and their partitions dropped.
MESSAGE_RETENTION_MONTHS = env.int("MESSAGE_RETENTION_MONTHS", default=0)
ARCHIVE_DIR = env.path("ARCHIVE_DIR", default=str(BASE_DIR / "run" / "archive"))

# --- Gateway intake API (docs/api.md, docs/adr/0030) --------------------------------------------
# Billing units (70 characters each, signature included) a single notice may have.
GATEWAY_MAX_UNITS = env.int("GATEWAY_MAX_UNITS", default=10)
# Daily limits (Asia/Shanghai days) per API client and per mobile number; 0 turns a limit off.
GATEWAY_CLIENT_DAILY_LIMIT = env.int("GATEWAY_CLIENT_DAILY_LIMIT", default=2_000_000)
GATEWAY_MOBILE_DAILY_LIMIT = env.int("GATEWAY_MOBILE_DAILY_LIMIT", default=20)
# Free-content notices (clients with allow_free_content) use this notice type's validity.
GATEWAY_FREE_CONTENT_NOTICE_TYPE = env.str("GATEWAY_FREE_CONTENT_NOTICE_TYPE", default="general")
GATEWAY_DEFAULT_VALIDITY_HOURS = env.int("GATEWAY_DEFAULT_VALIDITY_HOURS", default=24)
# HMAC signatures: accepted clock difference; where used nonces are remembered ("cache" needs Redis to be
# shared between web processes, so without REDIS_URL the database is used).
GATEWAY_SIGNATURE_WINDOW_SECONDS = env.int("GATEWAY_SIGNATURE_WINDOW_SECONDS", default=300)
GATEWAY_NONCE_STORE = env.str("GATEWAY_NONCE_STORE", default="cache" if REDIS_URL else "db")
# A batch of 1,000 ten-unit notices is up to ~4.5 MB of JSON (Django's default cap is 2.5 MB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=8 * 1024 * 1024)

# --- Billing uploads: carrier bills and success counts (docs/operations.md "Upload limits", docs/adr/0080) --------
# Larger files are refused with 413 (nginx's client_max_body_size must be at least this).
BILLING_UPLOAD_MAX_BYTES = env.int("BILLING_UPLOAD_MAX_BYTES", default=128 * 1024 * 1024)
# Files up to this size are read inside the web request; larger ones are stored and read by a Celery worker,
# the uploader following its progress on a status page.
BILLING_UPLOAD_INLINE_MAX_BYTES = env.int("BILLING_UPLOAD_INLINE_MAX_BYTES", default=1024 * 1024)
# Checked before anything is inflated or parsed; anything beyond is refused with a code and the row.
BILLING_UPLOAD_MAX_ROWS = env.int("BILLING_UPLOAD_MAX_ROWS", default=2_000_000)
BILLING_UPLOAD_MAX_INFLATED_BYTES = env.int("BILLING_UPLOAD_MAX_INFLATED_BYTES", default=512 * 1024 * 1024)
BILLING_UPLOAD_MAX_RATIO = env.int("BILLING_UPLOAD_MAX_RATIO", default=100)
BILLING_UPLOAD_MAX_SHARED_STRINGS = env.int("BILLING_UPLOAD_MAX_SHARED_STRINGS", default=4_000_000)
# Seconds a worker may spend on one file (a 1M-row XLSX takes about a minute on two cores).
BILLING_UPLOAD_TASK_TIME_LIMIT = env.int("BILLING_UPLOAD_TASK_TIME_LIMIT", default=900)

# --- Contracts and portal (web): deadline reminders, docs/adr/0050 -----------------------------------
# Reminder e-mails go this many days before each deadline (each sent once per deadline).
CONTRACTS_REMINDER_DAYS = env.list("CONTRACTS_REMINDER_DAYS", cast=int, default=[30, 7, 1])
# Which deadlines: renewal_decision, bill_due, bond_refund, service_end. The bond refund is left out by
# default because billing's own daily task already reminds finance of it (billing.tasks.bond_refund_reminder_task).
CONTRACTS_REMINDER_KINDS = env.list("CONTRACTS_REMINDER_KINDS", default=["renewal_decision", "bill_due", "service_end"])

# --- Status callbacks (gateway: `manage.py runcallbacks`; docs/api.md "Status events") ----
GATEWAY_CALLBACK_BATCH = env.int("GATEWAY_CALLBACK_BATCH", default=500)  # events per POST (at most 500)
GATEWAY_CALLBACK_TIMEOUT_SECONDS = env.float("GATEWAY_CALLBACK_TIMEOUT_SECONDS", default=10.0)
GATEWAY_CALLBACK_RETRY_HOURS = env.float("GATEWAY_CALLBACK_RETRY_HOURS", default=24.0)  # then dead-lettered
GATEWAY_CALLBACK_BACKOFF_BASE_SECONDS = env.float("GATEWAY_CALLBACK_BACKOFF_BASE_SECONDS", default=2.0)
GATEWAY_CALLBACK_BACKOFF_MAX_SECONDS = env.float("GATEWAY_CALLBACK_BACKOFF_MAX_SECONDS", default=300.0)
GATEWAY_CALLBACK_POLL_SECONDS = env.float("GATEWAY_CALLBACK_POLL_SECONDS", default=0.5)
# Touched after every pass of the callback worker; `manage.py health callbacks` (compose) reads its age.
GATEWAY_CALLBACK_HEARTBEAT_FILE = env.str("GATEWAY_CALLBACK_HEARTBEAT_FILE", default="/tmp/callbacks.alive")  # noqa: S108
# Events already pushed (or pull-only) are deleted after this many days; dead letters are kept.
GATEWAY_EVENT_RETENTION_DAYS = env.int("GATEWAY_EVENT_RETENTION_DAYS", default=7)
