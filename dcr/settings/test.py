"""Tests: real PostgreSQL (DATABASE_URL or the embedded cluster), fast hashing, plain static storage."""

import os

from dcr.settings.base import *  # noqa: F403
from dcr.settings.base import env

# Playwright's sync API runs an event loop in the test thread; the ORM must still be usable there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Several checkouts may test against one server at once: each can name its own test database.
DATABASES["default"]["TEST"] = {"NAME": env("DCR_TEST_DATABASE_NAME", default="test_dcr")}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests that need the queue start a real worker themselves; everything else runs tasks in-process.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
# Live-server tests run with DEBUG off: serve static files straight from the finders, no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Most tests are not about signing in and use force_login: they need no authenticator. The sign-in tests
# (tests/portal/auth/) turn it back on.
DCR_REQUIRE_MFA = False
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": []}}
