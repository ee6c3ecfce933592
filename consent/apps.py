from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Citizens' rights"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from consent import models

        # Decisions and who took them (django-auditlog). Only the fields that honour the choice are logged:
        # the applicant's name and address are cleared on approval and must not live on in the log.
        auditlog.register(
            models.OptOut,
            include_fields=[
                "status",
                "channel",
                "nhs_number",
                "entered_by",
                "decided_by",
                "decided_at",
                "rejection_reason",
                "decision_reason",
                "letter_sent_at",
                "withdrawn_by",
                "withdrawn_at",
                "withdrawal_note",
            ],
        )
        auditlog.register(models.LegalProxy, exclude_fields=["phone", "email", "address"])
        auditlog.register(models.ProxyPermission)
        auditlog.register(models.SubjectAccessRequest)
