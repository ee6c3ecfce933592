from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from portal import mfa
        from portal.models import LaunchPartner

        mfa.connect_signals()
        # Registering a partner's key is a change to who may open records: logged like the other rules.
        auditlog.register(LaunchPartner, exclude_fields=["shared_secret"])
