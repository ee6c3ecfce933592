"""The Celery app. With REDIS_URL unset the settings make every task run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dcr.settings.local")

app = Celery("dcr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
