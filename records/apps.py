from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Record"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from records import models

        # Every change to the rules themselves is logged (django-auditlog), beside the access trail.
        for model in (
            models.Role,
            models.Membership,
            models.PersonUserObjectPermission,
            models.AccessGrant,
            models.Organisation,
            models.SourceSystem,
            models.SensitiveCode,
        ):
            auditlog.register(model)
        auditlog.register(models.User, exclude_fields=["password", "last_login"])
