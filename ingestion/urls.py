from django.urls import path

from ingestion import views

app_name = "ingestion"

urlpatterns = [
    path("fhir/", views.fhir_bundle_receive, name="fhir_bundle_receive"),
]
