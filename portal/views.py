from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from records.selectors import membership_list_for


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = membership_list_for(user=request.user)
    return render(request, "portal/home.html", {"memberships": memberships})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers. No person data."""
    with connection.cursor() as cursor:
        cursor.execute("select 1")
    return JsonResponse({"status": "ok"})
