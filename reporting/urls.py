from __future__ import annotations

from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [path("", views.dashboard_view, name="dashboard")]
