from django.urls import path

from portal import auth_views, views

app_name = "portal"
person = "people/<int:person_id>/"
urlpatterns = [
    path("", views.home, name="home"),
    path("act-as/", views.act_as, name="act_as"),
    path("people/", views.person_search_view, name="person_search"),
    path(person, views.person_detail, name="person_detail"),
    path(person + "timeline/", views.person_timeline, name="person_timeline"),
    path(person + "results/", views.person_results, name="person_results"),
    path(person + "results/trend/<str:code>/", views.result_trend, name="result_trend"),
    path(person + "results/cumulative/<slug:panel>/", views.results_cumulative, name="results_cumulative"),
    path(person + "documents/", views.person_documents, name="person_documents"),
    path(person + "social-care/", views.person_social_care, name="person_social_care"),
    path(person + "entries/<int:entry_id>/", views.entry_detail, name="entry_detail"),
    path(
        person + "entries/<int:entry_id>/attachments/<int:index>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path(person + "entries/<int:entry_id>/report/", views.correction_create, name="correction_create"),
    path(person + "corrections/<str:reference>/", views.correction_detail, name="correction_detail"),
    path("corrections/", views.correction_list, name="correction_list"),
    path("emergency-access/", views.emergency_access, name="emergency_access"),
    path("healthz", views.healthz, name="healthz"),
    path("signed-in/", auth_views.mfa_done, name="mfa_done"),
    path("launch/", auth_views.launch, name="launch"),
    path("launch/continue/", auth_views.launch_continue, name="launch_continue"),
]
