"""Development and demo: DEBUG on, the embedded PostgreSQL unless DATABASE_URL is set."""

from dcr.settings.base import *  # noqa: F403
from dcr.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
WHITENOISE_USE_FINDERS = True
