from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=5, retry_backoff_max=30, max_retries=5)
def privacy_alert_notify(alert_id: int) -> bool:
    """Email within the minute; a mail server hiccup is retried with backoff."""
    from audit import services
    from audit.models import PrivacyAlert

    alert = PrivacyAlert.objects.filter(pk=alert_id).first()
    return bool(alert) and services.privacy_alert_notify(alert=alert)
