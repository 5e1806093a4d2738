"""Settings for every environment, read from the environment by one reader.

Embedded runtime (nothing configured): SQLite in WAL mode, a Celery broker on
SQLite (kombu's SQLAlchemy transport), a channel layer on SQLite shared by the
web and worker processes. Production (DJANGO_ENV=production): PostgreSQL from
DATABASE_URL, Redis from REDIS_URL for Celery and channels_redis, and a
SECRET_KEY that must be given.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists() and not env.bool("DJANGO_IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
# Tests get their own state directory so they never touch a developer's data.
TESTING = "pytest" in sys.modules
if TESTING and not env.str("VAR_DIR", default=""):
    # One state directory per test run (parallel runs must not share SQLite
    # files); exported so that processes the tests start use it too.
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="trainer-test-")
if TESTING and not env.str("EMBEDDINGS_CACHE_DIR", default=""):
    # The embedding model's ONNX export, shared by test runs on this machine: entries are keyed by
    # the sha256 of the model's files and written atomically under a lock, so sharing is safe.
    os.environ["EMBEDDINGS_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "trainer-test-embeddings")
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _development_secret_key() -> str:
    # Kept across restarts so sessions survive; never used in production.
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be set (50+ characters) when DJANGO_ENV=production.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production.")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "csp",
    "axes",
    "trainer_app",
    "simulations",
    "feedback",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A view's database/Redis outage becomes the 503 page, with one log line (trainer_app.outages).
    "trainer_app.error_pages.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "trainer_app.security_headers.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "trainer_app.auth_backends.LoginThrottleBackend",  # refuses locked-out accounts and addresses first
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "trainer_app.urls"
ASGI_APPLICATION = "trainer_app.asgi.application"
WSGI_APPLICATION = None

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
                "trainer_app.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web and worker processes read while one writes;
    # IMMEDIATE transactions avoid "database is locked" on lock upgrades.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # perf: keep each thread's connection (the web process's session thread pools
    # reuse theirs) instead of opening one, and running the PRAGMAs, per call.
    # Safe with WAL: Django runs in autocommit, so an idle connection holds no read
    # snapshot or lock; close_old_connections() (each pool call, each request, each
    # Celery task) still drops a connection that errored or outlived this age.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    # A file, not memory, so worker and web subprocesses started by tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A kept connection is checked (SELECT 1, one round trip) before its first use in each request, pool
    # call or task: after a failover or a restart of PostgreSQL the next turn still goes through instead of
    # failing once per kept connection. Two of a text turn's ~19 round trips on the web (bench/prod_ws.py).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis / Celery / Channels ---------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set when DJANGO_ENV=production.")

if REDIS_URL:
    REDIS_SOCKET_TIMEOUT_S = env.float("REDIS_SOCKET_TIMEOUT_S", default=15.0)
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # CHANNELS_LAYER=pubsub (default): channels_redis's pub/sub layer, ~6x less CPU per message than the
    # list-based one (2.8 -> 0.44 ms under bench/prod_ws.py's load). It delivers only to receivers already
    # subscribed, so a page that was away (or re-subscribing after Redis restarted) would miss pushes: pages
    # catch up on (re)connect from the database (simulations.services.session_catch_up), which makes that safe.
    # CHANNELS_LAYER=list: the list-based layer (messages wait in Redis lists for a slow receiver).
    CHANNELS_LAYER = env.str("CHANNELS_LAYER", default="pubsub")
    if CHANNELS_LAYER not in ("pubsub", "list"):
        raise ImproperlyConfigured(f"CHANNELS_LAYER must be 'pubsub' or 'list', not {CHANNELS_LAYER!r}")
    # redis-py 8 reads with a 5 s socket timeout by default, the same 5 s that channels_redis's list layer
    # blocks in BZPOPMIN on an idle channel: the client could give up just before the server answered
    # (TimeoutError in receive). The socket timeout must outlast the blocking pop.
    _channel_hosts = [{"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT_S}]
    CHANNEL_LAYER_CHOICES = {
        "pubsub": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": _channel_hosts, "prefix": env.str("CHANNELS_PREFIX", default="asgi")},
        },
        "list": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": _channel_hosts,
                "prefix": env.str("CHANNELS_PREFIX", default="asgi"),
                # All consumers of a web process share one inbox list; at the default 100 messages a busy
                # process silently dropped pushes (bench/prod_ws.py found 55 of them).
                "capacity": env.int("CHANNELS_CAPACITY", default=2000),
            },
        },
    }
    CHANNEL_LAYERS = {"default": CHANNEL_LAYER_CHOICES[CHANNELS_LAYER]}
else:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqlitebroker+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
    CELERY_RESULT_BACKEND = env.str(
        "CELERY_RESULT_BACKEND", default=f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
    )
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "trainer_app.channel_layers.SQLiteChannelLayer",
            "CONFIG": {"path": str(VAR_DIR / "channels.sqlite3")},
        }
    }

# Rate limits and other short-lived counters: shared by every web node in
# production; one process serves the embedded runtime, so memory is enough there.
# Redis: Django's backend with one client per pool and a one-round-trip incr (trainer_app/redis_cache.py).
CACHES = {
    "default": {"BACKEND": "trainer_app.redis_cache.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_DEFAULT_QUEUE = "realtime"
# Every pattern names tasks that exist (tests/trainer_app/test_task_routes.py).
CELERY_TASK_ROUTES = {
    "trainer_app.tasks.retention_*": {"queue": "analysis"},
    "trainer_app.tasks.speech_*": {"queue": "speech"},
    "simulations.tasks.voice_*": {"queue": "speech"},
    "feedback.tasks.live_*": {"queue": "realtime"},
    "feedback.tasks.recording_speech_*": {"queue": "speech"},
    "feedback.tasks.recording_*": {"queue": "analysis"},
    "feedback.tasks.report_*": {"queue": "analysis"},
}
# The embedded SQLite broker: kombu hands these to SQLAlchemy's create_engine. sqlite3 gives up on a
# locked file after 5 s by default; web, worker and beat all write to it, so wait as the main database does.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600} if REDIS_URL else {"connect_args": {"timeout": 20}}
CELERY_RESULT_EXTENDED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the task thread's database connections before and after every task unless
# this is set; with it, every this many tasks. Between those, trainer_app.celery drops a connection only as
# Django drops one after a request (close_old_connections: an error, a failed health check, CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)

# --- Retention (trainer_app.privacy; docs/privacy.md) --------------------------------
VOICE_CLIP_RETENTION_DAYS = env.int("VOICE_CLIP_RETENTION_DAYS", default=30)
RETENTION_PURGE_INTERVAL_S = env.int("RETENTION_PURGE_INTERVAL_S", default=3600)
# Periodic tasks, run by Celery beat (`manage.py serve` starts it; Procfile: `beat`).
CELERY_BEAT_SCHEDULE = {
    "retention-purge": {"task": "trainer_app.tasks.retention_purge", "schedule": RETENTION_PURGE_INTERVAL_S},
    "recording-retention-purge": {"task": "feedback.tasks.recording_purge_expired", "schedule": 3600.0},
    "recording-resume-stalled": {"task": "feedback.tasks.recording_resume_stalled", "schedule": 60.0},
}
# Voice clips: a transcription renews its claim every third of VOICE_CLIP_LEASE_S; the sweep re-enqueues
# clips whose lease lapsed (worker killed) or that nothing claimed within it (message lost).
VOICE_CLIP_LEASE_S = env.float("VOICE_CLIP_LEASE_S", default=30.0)
VOICE_CLIP_SWEEP_S = env.float("VOICE_CLIP_SWEEP_S", default=10.0)
CELERY_BEAT_SCHEDULE["voice-clips-sweep"] = {"task": "simulations.tasks.voice_clips_sweep", "schedule": VOICE_CLIP_SWEEP_S}
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=5)
WORKER_HEARTBEAT_STALE_SECONDS = 20

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- I18N / static / media ---------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Upload limits: requests are refused before reading past these.
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
AUDIO_MAX_BYTES = env.int("AUDIO_MAX_BYTES", default=10 * 1024 * 1024)
AUDIO_MAX_SECONDS = env.int("AUDIO_MAX_SECONDS", default=120)
PACK_MAX_BYTES = 2 * 1024 * 1024
# Refused by the ASGI stack before Django reads the body (see trainer_app/asgi_limits.py).
# Uploaded recordings (feedback: recording analysis). Limits are checked before any work starts.
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=300 * 1024 * 1024)
RECORDING_MAX_SECONDS = env.int("RECORDING_MAX_SECONDS", default=2 * 3600)
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=90)
# After the retention period the audio is always deleted; the transcript too unless this is on.
RECORDING_KEEP_TRANSCRIPT = env.bool("RECORDING_KEEP_TRANSCRIPT", default=True)
# Long recordings are split so that no task runs long: ASR parts of this much audio,
# diarization parts of this much audio (speakers are linked across parts by voice).
RECORDING_ASR_PART_S = env.float("RECORDING_ASR_PART_S", default=240.0)
RECORDING_DIARIZE_PART_S = env.float("RECORDING_DIARIZE_PART_S", default=900.0)
# A stage task stops after this long and enqueues its continuation (well inside the 540 s soft limit).
RECORDING_TASK_BUDGET_S = env.float("RECORDING_TASK_BUDGET_S", default=240.0)
# A running stage renews its lease; one whose lease lapsed (worker killed) is resumed by the sweep.
RECORDING_STAGE_LEASE_S = env.float("RECORDING_STAGE_LEASE_S", default=60.0)
RECORDING_SWEEP_SECONDS = env.float("RECORDING_SWEEP_SECONDS", default=30.0)
# Every other path; the recording upload path has RECORDING_MAX_BYTES (trainer_app/asgi.py).
REQUEST_BODY_MAX_BYTES = max(AUDIO_MAX_BYTES, PACK_MAX_BYTES) + 1024 * 1024
CHAT_MESSAGE_MAX_CHARS = env.int("CHAT_MESSAGE_MAX_CHARS", default=2000)
CHAT_RATE_LIMIT_PER_MINUTE = env.int("CHAT_RATE_LIMIT_PER_MINUTE", default=30)

# Live feedback on a turn starts this long after the turn is stored, when the reply's
# compute-heavy start is over (feedback's budget is a second; the first token's is tens of ms).
LIVE_FEEDBACK_DELAY_S = env.float("LIVE_FEEDBACK_DELAY_S", default=0.1)
# A turn's assessment is recorded with the turn (an outbox row) and enqueued after commit; the sweep
# (Celery beat, every LIVE_FEEDBACK_SWEEP_S) re-enqueues any still pending after LIVE_FEEDBACK_STALE_S.
LIVE_FEEDBACK_SWEEP_S = env.float("LIVE_FEEDBACK_SWEEP_S", default=10.0)
LIVE_FEEDBACK_STALE_S = env.float("LIVE_FEEDBACK_STALE_S", default=30.0)
CELERY_BEAT_SCHEDULE["live-feedback-sweep"] = {"task": "feedback.tasks.live_feedback_sweep", "schedule": LIVE_FEEDBACK_SWEEP_S}
# A running assessment renews its claim every third of this; a claim not renewed for this long
# (its worker was killed) is taken over by the sweep (feedback/services/live.py).
LIVE_ASSESS_LEASE_S = env.float("LIVE_ASSESS_LEASE_S", default=15.0)
# A live assessment task that finds other turns waiting (the worker is behind) claims up to this many
# turns in all and assesses them together (one model pass for the MI coder's utterances, one read of
# the turns); 1: one turn per task. Never waits for a batch to fill (feedback/services/live.py).
# Default 8 on PostgreSQL, 1 on SQLite: there a batch's writes come back to back on the one write lock
# the web's turn store needs too (first-reply p95 at 50 turns/s 25 -> 33 ms; docs/performance.md, session 9).
LIVE_ASSESS_BATCH = env.int(
    "LIVE_ASSESS_BATCH", default=1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 8
)

# --- Reply runner (simulations/services/reply_runner.py), per web process ----------------------
# Threads generating persona replies (an LLM stream holds one for its whole reply) and for short
# database calls; a turn is refused with "your partner needs a moment" when REPLY_RUNNER_QUEUE_MAX
# generations wait for a thread or the oldest has waited REPLY_ADMISSION_MAX_WAIT_S.
REPLY_RUNNER_THREADS = env.int("REPLY_RUNNER_THREADS", default=16)
REPLY_RUNNER_DB_THREADS = env.int("REPLY_RUNNER_DB_THREADS", default=4)
REPLY_RUNNER_QUEUE_MAX = env.int("REPLY_RUNNER_QUEUE_MAX", default=64)
REPLY_ADMISSION_MAX_WAIT_S = env.float("REPLY_ADMISSION_MAX_WAIT_S", default=2.0)
# ... and while the REPLY_ADMISSION_START_QUANTILE quantile (0.5: the median) of the delays from receipt to reply
# start of the last REPLY_ADMISSION_WINDOW_S seconds' turns (5 at least) is above REPLY_ADMISSION_MAX_START_S;
# a window of 0 turns that check off.
REPLY_ADMISSION_WINDOW_S = env.float("REPLY_ADMISSION_WINDOW_S", default=5.0)
REPLY_ADMISSION_MAX_START_S = env.float("REPLY_ADMISSION_MAX_START_S", default=0.25)
REPLY_ADMISSION_START_QUANTILE = env.float("REPLY_ADMISSION_START_QUANTILE", default=0.5)
# ... and while this many admitted turns per web process wait for their reply to start (0: no limit).
# 16 x ~10 ms of this process's CPU per turn start keeps an admitted turn's start under ~0.25 s (8 refused
# turns at 50 turns/s with a first-reply p95 of 120-140 ms: measured in docs/performance.md, session 9).
REPLY_ADMISSION_MAX_STARTING = env.int("REPLY_ADMISSION_MAX_STARTING", default=16)
# Streamed reply chunks after the first are sent at most this often, batched into one frame.
REPLY_CHUNK_BATCH_S = env.float("REPLY_CHUNK_BATCH_S", default=0.05)
# Load the persona engines and build every scenario's indexes before the web process serves
# (ASGI lifespan start-up); `manage.py serve` and the Procfile turn it on.
ENGINES_WARM_ON_START = env.bool("ENGINES_WARM_ON_START", default=False)

# --- Engines ------------------------------------------------------------------
EMBEDDINGS_MODEL = env.str("EMBEDDINGS_MODEL", default="")
# onnx: run the (mean-pooling) embedding model on ONNX Runtime, exported once into VAR_DIR/cache (same vectors, ~2.5x faster on CPU); torch: PyTorch.
EMBEDDINGS_RUNTIME = env.str("EMBEDDINGS_RUNTIME", default="onnx")
# The persona's per-turn similarity choices (signals, topics, lines) on the model's 8-bit copy, made and checked
# by the export (trainer_app/engines/embedding_int8.py): ~30 % less CPU per embedding in the web; False: float.
EMBEDDINGS_INT8 = env.bool("EMBEDDINGS_INT8", default=True)
# Where the ONNX exports live (made by `manage.py export_embeddings`, keyed by the model files' sha256).
EMBEDDINGS_CACHE_DIR = Path(env.str("EMBEDDINGS_CACHE_DIR", default="") or VAR_DIR / "cache" / "embeddings")
# The persona's vectors of its own texts (replies, authored lines) kept in one SQLite file in EMBEDDINGS_CACHE_DIR,
# shared by the machine's processes and kept across restarts: a shaped reply is embedded once per machine, not once
# per web process (simulations/personas/vector_store.py). Off in tests unless a test turns it on (a store left by an
# earlier run would answer what a test expects embedded). At most PERSONA_VECTOR_STORE_MAX_ROWS vectors (~1.6 KB each).
PERSONA_VECTOR_STORE = env.bool("PERSONA_VECTOR_STORE", default=not TESTING)
PERSONA_VECTOR_STORE_MAX_ROWS = env.int("PERSONA_VECTOR_STORE_MAX_ROWS", default=50000)
# How long a Python thread may hold the GIL before another may run (CPython's default 5 ms);
# shorter keeps the web event loop responsive while reply threads compute.
GIL_SWITCH_INTERVAL_S = env.float("GIL_SWITCH_INTERVAL_S", default=0.0002)
TORCH_THREADS = env.int("TORCH_THREADS", default=1)  # intra-op threads per process (0 = torch's default)
# numpy's BLAS threads per process (0 = one per core); see trainer_app/engines/blas.py
BLAS_THREADS = env.int("BLAS_THREADS", default=1)
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")
LLM_TIMEOUT_S = env.float("LLM_TIMEOUT_S", default=30.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=2)
ASSESSMENT_LLM_ENABLED = env.bool("ASSESSMENT_LLM_ENABLED", default=bool(LLM_BASE_URL))
# Speech recognition. Live voice turns: ASR_MODEL; uploaded recordings: ASR_RECORDING_MODEL. Each takes a
# CTranslate2 model directory, a faster-whisper name, or "pocketsphinx"; empty (the default) means the
# bundled Whisper weights (tiny.en for live turns, base for recordings), checked by sha256 before loading.
ASR_MODEL = env.str("ASR_MODEL", default="")
ASR_RECORDING_MODEL = env.str("ASR_RECORDING_MODEL", default="")
ASR_BEAM_SIZE = env.int("ASR_BEAM_SIZE", default=1)
ASR_RECORDING_BEAM_SIZE = env.int("ASR_RECORDING_BEAM_SIZE", default=5)
ASR_CPU_THREADS = env.int("ASR_CPU_THREADS", default=0)
# a worker that takes the speech queue loads the live recognizer as it starts (not in tests: most don't speak)
ASR_WARM_ON_START = env.bool("ASR_WARM_ON_START", default=not TESTING)
ASR_ALLOW_DOWNLOAD = env.bool("ASR_ALLOW_DOWNLOAD", default=False)
ASR_DEVICE = env.str("ASR_DEVICE", default="cpu")
ASR_COMPUTE_TYPE = env.str("ASR_COMPUTE_TYPE", default="int8")
ASR_LANGUAGE = env.str("ASR_LANGUAGE", default="en")

# Diarization: empty = the embedded backend (nothing to download). A directory holding a pyannote
# pipeline (config.yaml with $model/... entries, the speaker-diarization-community-1 layout) or, when
# DIARIZATION_ALLOW_DOWNLOAD is on, a hub name (with HF_TOKEN) = the pyannote.audio production backend.
DIARIZATION_PIPELINE = env.str("DIARIZATION_PIPELINE", default="")
DIARIZATION_ALLOW_DOWNLOAD = env.bool("DIARIZATION_ALLOW_DOWNLOAD", default=False)
DIARIZATION_DEVICE = env.str("DIARIZATION_DEVICE", default="cpu")
HF_TOKEN = env.str("HF_TOKEN", default="")
# pyannote.audio 4 sends usage telemetry unless this is set before it is imported.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
# Voice enrolment: seconds of speech a clip needs (VAD), longest clip accepted, and the cosine
# similarity under which a diarized speaker stays "unknown" (calibrated: docs/speech-engines.md).
VOICE_ENROLMENT_MIN_SPEECH_S = env.float("VOICE_ENROLMENT_MIN_SPEECH_S", default=5.0)
VOICE_ENROLMENT_MAX_SECONDS = env.int("VOICE_ENROLMENT_MAX_SECONDS", default=60)
SPEAKER_MATCH_THRESHOLD = env.float("SPEAKER_MATCH_THRESHOLD", default=0.85)

# --- Demo content (embedded runtime only) ----------------------------------------
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")

# --- Security -----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Absolute session lifetime: a shared computer left logged in is logged out by the next day.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# Content-Security-Policy (django-csp): no inline script anywhere; a script that must be
# inline carries the request's nonce. Style attributes stay allowed (meters, chart geometry):
# they cannot run code. 'self' covers this origin's ws:/wss: sockets (CSP level 3).
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy: the microphone for this origin only (voice turns, enrolment); nothing else.
PERMISSIONS_POLICY = "microphone=(self), camera=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failed attempts on one account, or
# from one address, further attempts are refused for LOGIN_COOLOFF_MINUTES, with a page that says so.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account and per address
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; successful logins are not logged by axes
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_VERBOSE = False
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # channels_redis logs each failed reconnect with a traceback: one warning line a minute instead.
    "filters": {"outage": {"()": "trainer_app.outages.OutageLogFilter"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"},
                "axes": {"level": "WARNING"},
                "channels_redis.pubsub": {"filters": ["outage"]}, "channels_redis.core": {"filters": ["outage"]},
                "faster_whisper": {"level": "WARNING"}},  # one INFO line per transcribed window
}
