from __future__ import annotations

from django.urls import path

from leads import views_uld

app_name = "uld"
urlpatterns = [
    path("", views_uld.uld_index, name="index"),
    path("guide/", views_uld.uld_guide, name="guide"),
    path("diff/", views_uld.uld_diff_view, name="diff"),
    path("drafts/", views_uld.uld_draft_new, name="draft_new"),
    path("<int:pk>/", views_uld.uld_detail, name="detail"),
    path("<int:pk>/edit/", views_uld.uld_edit, name="edit"),
    path("<int:pk>/propose/", views_uld.uld_propose, name="propose"),
    path("<int:pk>/withdraw/", views_uld.uld_withdraw, name="withdraw"),
    path("<int:pk>/sign/", views_uld.uld_sign, name="sign"),
    path("<int:pk>/reasons/", views_uld.uld_reason_add, name="reason_add"),
    path("<int:pk>/reasons/<int:reason_pk>/delete/", views_uld.uld_reason_delete, name="reason_delete"),
]
