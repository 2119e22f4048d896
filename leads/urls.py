from __future__ import annotations

from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list_view, name="list"),
    path("<int:pk>/", views.lead_detail_view, name="detail"),
    path("<int:pk>/stage/", views.lead_stage_change_view, name="stage"),
]
