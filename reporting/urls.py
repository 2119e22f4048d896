from __future__ import annotations

from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("alignment/", views.alignment_view, name="alignment"),
    path("revenue-gap/", views.revenue_gap_view, name="revenue_gap"),
    path("review/", views.review_view, name="review"),
    path("review/save/", views.review_save_view, name="review_save"),
]
