from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self) -> None:
        # Source systems are a records model, but onboarding them is integration work: their admin lives here.
        from ingestion import admin_sources  # noqa: F401
