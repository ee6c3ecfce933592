from allauth.account.decorators import secure_admin_login
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

# Django admin signs in through allauth too, so its users give their authenticator code like everyone else.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("ingest/", include("ingestion.urls")),
    path("", include("portal.urls")),
]
# Citizens' public pages, translated: /opt-out/ in English, /pl/opt-out/ and /ro/opt-out/ (decision 0007).
urlpatterns += i18n_patterns(path("opt-out/", include("consent.urls")), prefix_default_language=False)
