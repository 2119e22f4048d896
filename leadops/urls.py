from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from leads import views as lead_views
from leads import views_system

urlpatterns = [
    path("", lead_views.home, name="home"),
    path("no-role/", lead_views.no_role, name="no_role"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("leads/", include("leads.urls")),
    path("uld/", include("leads.urls_uld")),
    path("imports/", include("leads.urls_imports")),
    path("queue/", include("leads.urls_queue")),
    path("scoring/", include("scoring.urls")),
    path("nurture/", include("nurture.urls")),
    path("api/nurture/", include("nurture.urls_api")),
    path("reports/", include("reporting.urls")),
    path("integrations/webhooks/", include("leads.urls_webhooks")),
    # Before any `api/` include, so the events endpoint is not shadowed by a catch-all API router.
    path("api/events/", include("leads.urls_events")),
    path("api/", include("leads.api.urls")),
    path("tokens/", include("leads.urls_tokens")),
    path("system/status/", views_system.system_status_view, name="system_status"),
    path("admin/", admin.site.urls),
]
