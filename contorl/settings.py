"""CONTORL settings, read from the environment.

With no variables set this is the embedded default: SQLite under var/, the in-memory
channel layer, the local-memory cache and eager Celery. DATABASE_URL / REDIS_URL switch
to PostgreSQL and Redis. DJANGO_ENV=production turns on the deploy hardening.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

DEFAULT_SECRET_KEY = "contorl-embedded-insecure-key-change-me"  # refused everywhere; kept to name it
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and not PRODUCTION:
    # Development: a random key per checkout (var/secret_key, 0600), never a committed one.
    from contorl.security import local_secret_key

    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")
if SECRET_KEY == DEFAULT_SECRET_KEY or (PRODUCTION and len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY: DJANGO_ENV=production needs 50+ random characters, and the old committed key is refused."
    )
# Keys the audit hash chain (audit/keys.py): never stored in the database it protects.
# Production must set it (check --deploy refuses); development generates var/audit-hmac.key.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
AUDIT_ANCHOR_INTERVAL = env.int("AUDIT_ANCHOR_INTERVAL", default=300)  # seconds between anchors after sealing
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",  # a used or signed-out refresh token is refused
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "simple_history",
    "contorl",
    "contorl.accounts",
    "audit",
    "notifications",
    "tasks",
    "rooms",
    "automation",
    "planning",
]

MIDDLEWARE = [
    "contorl.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "contorl.security.InputSanityMiddleware",  # NUL bytes in query/form: 400, not a database 500
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "contorl.views.MethodNotAllowedPageMiddleware",
    "contorl.security.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "contorl.urls"
ASGI_APPLICATION = "contorl.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    _db = env.db_url_config(DATABASE_URL)
    if _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
        _db["ENGINE"] = "django.db.backends.postgresql"
        # Requests and WebSocket database calls run on many threads (contorl/asgi.py keeps
        # request threads between requests; executors come and go), so warm connections live
        # in psycopg's pool, not per thread (with a pool Django requires CONN_MAX_AGE = 0).
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=10),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=30),
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
        # Parameters travel apart from the SQL ($1, $2), so psycopg prepares a statement once
        # it has run `prepare_threshold` times on a connection, and PostgreSQL then skips
        # parsing and planning it: the same few statements make up every hot write and read.
        # A task PATCH cost PostgreSQL 3.9 ms of CPU with the SQL sent as text, 2.1 ms prepared
        # (bench/PROFILE.md, twelfth session). Pooled connections live long enough to reuse them.
        if env.bool("DB_SERVER_SIDE_BINDING", default=True):
            _db["OPTIONS"]["server_side_binding"] = True
            _db["OPTIONS"]["prepare_threshold"] = env.int("DB_PREPARE_THRESHOLD", default=2)
    # Without a pool, Django checks a reused connection before handing it out. The pool
    # discards a connection that fails by itself, so a check query before every checkout
    # would only add a round trip to every request and every WebSocket database call
    # (bench/PROFILE.md #6); after a PostgreSQL restart the few dead pooled connections
    # fail one request each as a clean 503 (tests/reliability/test_faults.py).
    _db["CONN_HEALTH_CHECKS"] = "pool" not in _db.get("OPTIONS", {})
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "contorl.sqlite3")),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery -----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "contorl.cache.SharedPoolRedisCache",  # one Redis pool per process (contorl/cache.py)
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="contorl"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    # Redis pub/sub by default: one PUBLISH per group send, fanned out in memory by each
    # process, bounded per socket and resynced after a Redis outage (contorl/layers.py;
    # bench/PROFILE.md). CHANNEL_LAYER=core selects channels_redis's list-based layer.
    CHANNEL_LAYER = env.str("CHANNEL_LAYER", default="pubsub")
    CHANNEL_CAPACITY = env.int("CHANNEL_CAPACITY", default=1500)  # messages queued per socket
    if CHANNEL_LAYER == "core":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    # redis-py 8 reads with a 5 s socket timeout by default, the same 5 s that
                    # channels_redis blocks in BZPOPMIN: an idle consumer then dies with
                    # "Timeout reading" and its socket closes. Read longer than the block.
                    "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 2}],
                    "prefix": env.str("CHANNEL_PREFIX", default="contorl"),
                    "capacity": CHANNEL_CAPACITY,
                    "expiry": 60,
                },
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "contorl.layers.PubSubLayer",
                "CONFIG": {
                    # Subscribers block on the connection with no read timeout of their own;
                    # a dead server is noticed by the connect timeout on the reconnect.
                    "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 2}],
                    "prefix": env.str("CHANNEL_PREFIX", default="contorl"),
                    "capacity": CHANNEL_CAPACITY,
                },
            }
        }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "contorl"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# With acks_late, Redis redelivers a task whose worker died mid-task once visibility_timeout
# seconds have passed, checked every unacked_restore_interval seconds. It must stay longer than
# any task runs and than any retry countdown (4 s), or a live task is delivered twice. The tests
# make it short; production keeps an hour.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
}
# A dedicated queue name (tests run their own worker on their own queue); "celery" is Celery's own default.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="celery")
# Beat's "last run" file lives under var/ (git-ignored), not in whatever directory beat starts in.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILE", default=str(VAR_DIR / "celerybeat-schedule"))
# Webhook hosts exempt from the private/loopback address refusal (automation/egress.py).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
DUE_SOON_HOURS = env.int("DUE_SOON_HOURS", default=24)  # how far ahead due-soon reminders and triggers look

# --- Auth ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env.bool("FAST_PASSWORD_HASHER", default=False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hant", "繁體中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Finders let the embedded mode serve static files without a collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # uploads are only served through permission-checked views
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=25 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- DRF ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JWT first so an anonymous API call gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "contorl.accounts.tokens.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "contorl.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # django-filter, with yes/no filters that refuse an unreadable value (contorl/filters.py).
    "DEFAULT_FILTER_BACKENDS": ["contorl.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "contorl.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "contorl.errors.api_exception_handler",
    # Depth-limited, NUL-refusing parsers (contorl/parsers.py): such bodies get 400, not 500.
    "DEFAULT_PARSER_CLASSES": [
        "contorl.parsers.JSONParser",
        "contorl.parsers.FormParser",
        "contorl.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "contorl.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "AUTH_HEADER_TYPES": ("Bearer",),
    "ACCESS_TOKEN_LIFETIME": __import__("datetime").timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": __import__("datetime").timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    # Each refresh hands out a new refresh token and blacklists the one used: a stolen
    # refresh token works at most once, and its theft shows when the owner's next refresh fails.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CONTORL API",
    "DESCRIPTION": "Project control and incident response. Errors use the envelope "
    '{"error": {"code", "message", "details"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs UIs are served from our own static files: they must work without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "contorl.accounts.models.User.Role",
        "ProjectRoleEnum": "tasks.models.ProjectMember.Role",
        "RoomRoleEnum": "rooms.models.Role",
    },
    # The error envelope on every operation, in one place (contorl/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "contorl.openapi.add_error_responses",
        "contorl.openapi.require_version_on_updates",
    ],
}

# --- Rate limits (contorl/ratelimits.py is the one policy) --------------------------------
# Peers whose X-Real-IP / X-Forwarded-For headers are believed: the reverse proxy, by address
# or CIDR network (see ratelimits.client_ip). None by default: daphne serving clients directly
# must not let them choose their own address. Behind nginx on this host: 127.0.0.1,::1.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_STANDARD = env.str("RATELIMIT_STANDARD", default="60/m")
RATELIMIT_SENSITIVE = env.str("RATELIMIT_SENSITIVE", default="20/m")
RATELIMIT_HEAVY = env.str("RATELIMIT_HEAVY", default="5/m")
RATELIMIT_CHAT = env.str("RATELIMIT_CHAT", default="10/s")
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # a cache outage must not take the whole API down

# --- Real-time ------------------------------------------------------------------------
WS_AUTH_TIMEOUT = env.float("WS_AUTH_TIMEOUT", default=5.0)
WS_HEARTBEAT_INTERVAL = env.float("WS_HEARTBEAT_INTERVAL", default=30.0)
WS_MAX_FRAME_BYTES = env.int("WS_MAX_FRAME_BYTES", default=256 * 1024)
WS_FRAME_RATE = env.str("WS_FRAME_RATE", default="30/s")
EVENT_BUFFER_SIZE = env.int("EVENT_BUFFER_SIZE", default=10000)
# WebSocket database calls in worker threads instead of the one shared sync thread, room
# sends in per-room-bucket threads (seq order kept): on with PostgreSQL, off on the embedded
# SQLite, which serialises writers anyway (bench/PROFILE.md, round of 2026-12-01).
WS_DB_THREADS = env.bool("WS_DB_THREADS", default=bool(DATABASE_URL))
# After-commit audit sealing in one sealer thread per process instead of on the writer's
# thread (audit/sealing.py): on with PostgreSQL, off on SQLite for the same reason.
AUDIT_SEAL_IN_BACKGROUND = env.bool("AUDIT_SEAL_IN_BACKGROUND", default=bool(DATABASE_URL))
# How long a woken sealer thread waits for more rows before its pass (seconds): rows become
# tamper-evident this much later, and a pass serves every write of the interval.
AUDIT_SEAL_LINGER = env.float("AUDIT_SEAL_LINGER", default=0.2)
# Young-generation size of the garbage collector in server processes (contorl/heap.py;
# CPython's default is 700).
GC_GEN0_THRESHOLD = env.int("GC_GEN0_THRESHOLD", default=10_000)
ROOM_SEND_THREADS = env.int("ROOM_SEND_THREADS", default=4)  # per process, for chat send batches of all rooms
ROOM_TYPING_TTL = 3.0  # seconds a "typing" indicator lives without a refresh (rooms/presence.py)
ROOM_TYPING_REBROADCAST = 2.0  # seconds before the same typist is announced again
# Presence frames of one process go out once per this many seconds, one per room and state,
# naming everyone who came or went meanwhile: a room of 50 filling up sent each member a frame
# per arrival, 1,225 frames in all, a third of an admission's CPU (rooms/presence_frames.py).
ROOM_PRESENCE_COALESCE = env.float("ROOM_PRESENCE_COALESCE", default=0.1)
ROOM_EDIT_WINDOW_SECONDS = 15 * 60  # how long after sending a chat message may be edited
# Deepest JSON nesting accepted in a request body or a WebSocket frame (contorl/parsers.py).
JSON_MAX_DEPTH = 64

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="contorl@localhost")
# Scheme and host that links in e-mails start with (e.g. https://contorl.example.com); empty = relative links.
SITE_URL = env.str("SITE_URL", default="")

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Scripts and styles are all served from /static/; no inline script is needed by any page
# (contorl/security.py sends it on every page outside /api/ and /admin/).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=PRODUCTION)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "contorl.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
CSRF_FAILURE_VIEW = "contorl.views.csrf_failure"

# --- Operations: metrics, directory sign-in, S3 storage (all optional; deploy/README.md) ----
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOW_IPS = env.list("METRICS_ALLOW_IPS", default=[])  # addresses or CIDR networks
if METRICS_ENABLED:
    MIDDLEWARE.insert(0, "contorl.metrics.PrometheusMiddleware")
    _TIMED_CACHES = {
        "django.core.cache.backends.redis.RedisCache": "contorl.metrics.TimedRedisCache",
        "contorl.cache.SharedPoolRedisCache": "contorl.metrics.TimedRedisCache",
        "django.core.cache.backends.locmem.LocMemCache": "contorl.metrics.TimedLocMemCache",
    }
    CACHES["default"]["BACKEND"] = _TIMED_CACHES.get(CACHES["default"]["BACKEND"], CACHES["default"]["BACKEND"])

# Browser sessions are tracked (contorl/accounts/sessions.py) so people can sign them out.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "contorl.accounts.sessions.SessionActivityMiddleware",
)
SESSION_ACTIVITY_INTERVAL = env.int("SESSION_ACTIVITY_INTERVAL", default=60)  # seconds between last-seen writes

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")
if LDAP_SERVER_URI:  # Active Directory / OpenLDAP sign-in next to local accounts (contorl/ldap.py)
    from contorl.ldap import settings_from_env as _ldap_settings

    globals().update(_ldap_settings(env))
    AUTHENTICATION_BACKENDS.insert(0, "contorl.accounts.ldap.DirectoryBackend")

# STORAGE_URL=s3://bucket/prefix (plus AWS_* / S3_ENDPOINT_URL) moves uploads to S3 (contorl/storage.py).
STORAGE_URL = env.str("STORAGE_URL", default="")
S3_DOWNLOADS = env.str("S3_DOWNLOADS", default="stream")  # or "redirect" to a presigned URL
S3_PRESIGNED_EXPIRY = env.int("S3_PRESIGNED_EXPIRY", default=300)
if STORAGE_URL:
    from contorl.storage import storage_settings_from_env as _storage_settings

    STORAGES["default"] = _storage_settings(env, STORAGE_URL)
