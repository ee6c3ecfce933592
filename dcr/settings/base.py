"""Settings shared by every environment; each value comes from the environment (django-environ)."""

from pathlib import Path

import environ

from dcr import embedded_pg

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-change-me-in-production-0123456789")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "guardian",
    "auditlog",
    "django_htmx",
    "template_partials",
    "records",
    "consent",
    "audit",
    "ingestion",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Only the citizens' public pages are translated (i18n_patterns in dcr/urls.py, English unprefixed):
    # every other path stays in English whatever the browser asks for.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.mfa.RequireMultiFactorMiddleware",  # after HtmxMiddleware: it answers HTMX requests in kind
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "dcr.urls"
WSGI_APPLICATION = "dcr.wsgi.application"
ASGI_APPLICATION = "dcr.asgi.application"

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

# PostgreSQL only. With DATABASE_URL unset the project runs its own cluster (dcr/embedded_pg.py).
EMBEDDED_POSTGRES = None
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    EMBEDDED_POSTGRES = embedded_pg.default_cluster(BASE_DIR)
    DATABASES = {"default": EMBEDDED_POSTGRES.database_settings()}
    if env.bool("DCR_EMBEDDED_AUTOSTART", default=True):
        EMBEDDED_POSTGRES.start()
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "records.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"

# Professionals are provisioned by their organisation, never by self sign-up.
ACCOUNT_ADAPTER = "portal.adapters.NoSignupAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_USER_DISPLAY = str  # "Jane Smith", never the internal username
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
SESSION_COOKIE_AGE = env.int("DCR_SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # the timeout counts from the last request: an idle timeout
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Sign-in throttling (allauth rate limits, kept in the cache: Redis when REDIS_URL is set, so every web
# process counts the same failures). Per account: a few wrong passwords, then a wait. Per address: high,
# because a whole hospital may reach us through one address.
DCR_LOGIN_ATTEMPTS = env.int("DCR_LOGIN_ATTEMPTS", default=5)
DCR_LOGIN_LOCKOUT_MINUTES = env.int("DCR_LOGIN_LOCKOUT_MINUTES", default=15)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"60/m/ip,{DCR_LOGIN_ATTEMPTS}/{DCR_LOGIN_LOCKOUT_MINUTES}m/key",
    "login": "300/m/ip",  # allauth's default of 30 a minute would stop a ward at shift change
}

# Multi-factor authentication: an authenticator app (TOTP) with recovery codes, required for every
# account before any page but setting it up (portal/mfa.py). Tests not about sign-in may turn it off.
DCR_REQUIRE_MFA = env.bool("DCR_REQUIRE_MFA", default=True)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("DCR_MFA_ISSUER", default="Shared care record")
MFA_TOTP_TOLERANCE = 1  # one 30-second step either side, for phones whose clocks drift
# Users are emailed when an authenticator is set up or removed, or their password changes: enrolment is
# trust on first use, and this is how a user learns that someone else enrolled with their password.
ACCOUNT_EMAIL_NOTIFICATIONS = True

# Single sign-on through OpenID Connect with a regional or national identity provider. The provider's
# user is matched by email address to an account the organisation provisioned (portal/adapters.py).
SOCIALACCOUNT_ADAPTER = "portal.adapters.ProvisionedOnlySocialAccountAdapter"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in page posts to the provider: no sign-in by a stray link
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # matching is done by the adapter, on provisioned accounts only
DCR_OIDC_ISSUER = env("DCR_OIDC_ISSUER", default="")
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": (
            [
                {
                    "provider_id": env("DCR_OIDC_PROVIDER_ID", default="idp"),
                    "name": env("DCR_OIDC_NAME", default="NHS Care Identity"),
                    "client_id": env("DCR_OIDC_CLIENT_ID", default=""),
                    "secret": env("DCR_OIDC_CLIENT_SECRET", default=""),
                    "settings": {
                        "server_url": DCR_OIDC_ISSUER,
                        "scope": env.list("DCR_OIDC_SCOPES", default=["openid", "profile", "email"]),
                    },
                }
            ]
            if DCR_OIDC_ISSUER
            else []
        ),
    }
}

# Context launch: a partner system opens the portal on one person with a signed, short-lived link.
DCR_LAUNCH_MAX_LIFETIME_SECONDS = env.int("DCR_LAUNCH_MAX_LIFETIME_SECONDS", default=300)
DCR_LAUNCH_SIGN_IN_SECONDS = env.int("DCR_LAUNCH_SIGN_IN_SECONDS", default=600)
DCR_LAUNCH_AUDIENCE = env("DCR_LAUNCH_AUDIENCE", default="shared-care-record")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
# The public opt-out pages: English and the commonest other languages in the region (Polish, Romanian).
LANGUAGES = [("en-gb", "English"), ("pl", "Polski"), ("ro", "Română")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Front-end packages come from npm (package.json) and are served as static files: no CDN at run time.
_NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static"] + [
    (prefix, _NODE_MODULES / folder)
    for prefix, folder in (
        ("vendor/nhsuk", "nhsuk-frontend/dist/nhsuk"),
        ("vendor/htmx", "htmx.org/dist"),
        ("vendor/chartjs", "chart.js/dist"),
        ("vendor/axe", "axe-core"),
    )
    if (_NODE_MODULES / folder).exists()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env.path("DCR_MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# Celery: Redis when REDIS_URL is set; otherwise the same tasks run in-process.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Deployments (and benchmark runs) sharing one Redis keep their work apart by queue name.
CELERY_TASK_DEFAULT_QUEUE = env("DCR_CELERY_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

# One cache for every web process when Redis is there: sign-in throttling and used TOTP codes must be
# counted across processes, or each gunicorn worker would allow its own five guesses.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dcr",
        }
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DCR_LOG_LEVEL", default="INFO")},
}

# Access rules
DCR_CARE_RELATIONSHIP_DAYS = env.int("DCR_CARE_RELATIONSHIP_DAYS", default=365)
DCR_PRIVACY_OFFICER_EMAILS = env.list("DCR_PRIVACY_OFFICER_EMAILS", default=[])
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="shared-care-record@localhost")

# Ingestion (docs/decisions/0009-ingestion-pipeline.md)
DCR_INGEST_MAX_ATTEMPTS = env.int("DCR_INGEST_MAX_ATTEMPTS", default=5)
DCR_INGEST_BATCH_SIZE = env.int("DCR_INGEST_BATCH_SIZE", default=500)
DCR_INGEST_RETRY_SECONDS = env.int("DCR_INGEST_RETRY_SECONDS", default=5)
DCR_INGEST_CLAIM_TIMEOUT = env.int("DCR_INGEST_CLAIM_TIMEOUT", default=300)
CELERY_BEAT_SCHEDULE = {
    "ingestion-sweep": {
        "task": "ingestion.tasks.messages_sweep_task",
        "schedule": env.float("DCR_INGEST_SWEEP_SECONDS", default=30.0),
    },
    # Citizens' rights: erase anyone stored at the moment their opt-out was approved (decision 0007).
    "consent-opt-outs-enforce": {"task": "consent.tasks.opt_outs_enforce_task", "schedule": 60.0},
}

# Citizens' rights: the public opt-out form accepts this many submissions per client address per window.
DCR_OPT_OUT_RATE_LIMIT = env.int("DCR_OPT_OUT_RATE_LIMIT", default=5)
DCR_OPT_OUT_RATE_WINDOW_SECONDS = env.int("DCR_OPT_OUT_RATE_WINDOW_SECONDS", default=3600)
