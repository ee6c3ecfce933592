from django.urls import path

from portal import auth_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("act-as/", views.act_as, name="act_as"),
    path("people/", views.person_search_view, name="person_search"),
    path("people/<int:person_id>/", views.person_detail, name="person_detail"),
    path("emergency-access/", views.emergency_access, name="emergency_access"),
    path("healthz", views.healthz, name="healthz"),
    path("signed-in/", auth_views.mfa_done, name="mfa_done"),
    path("launch/", auth_views.launch, name="launch"),
    path("launch/continue/", auth_views.launch_continue, name="launch_continue"),
]
