from django.urls import path

from consent import views

app_name = "consent"
urlpatterns = [
    path("", views.opt_out, name="opt_out"),
    path("easy-read/", views.opt_out_easy_read, name="opt_out_easy_read"),
    path("received/", views.opt_out_received, name="opt_out_received"),
]
