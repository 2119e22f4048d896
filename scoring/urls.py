from __future__ import annotations

from django.urls import path

from . import views

app_name = "scoring"
urlpatterns = [
    path("", views.rules_home, name="index"),
    path("runs/", views.runs_view, name="runs"),
    path("versions/<int:pk>/rules/", views.rules_view, name="rules"),
    path("versions/<int:pk>/rules/fit/", views.fit_rule_add, name="fit_rule_add"),
    path("versions/<int:pk>/rules/engagement/", views.engagement_rule_add, name="engagement_rule_add"),
    path("versions/<int:pk>/rules/<str:kind>/<int:rule_pk>/delete/", views.rule_delete, name="rule_delete"),
    path("versions/<int:pk>/rules/<str:kind>/<int:rule_pk>/points/", views.rule_points, name="rule_points"),
    path("versions/<int:pk>/simulate/", views.simulate_view, name="simulate"),
    path("leads/<int:pk>/", views.lead_score_view, name="lead_score"),
]
