from __future__ import annotations

from django.urls import path

from nurture import views

app_name = "nurture"
urlpatterns = [
    path("", views.track_list_view, name="list"),
    path("new/", views.track_create_view, name="create"),
    path("enrol/", views.enrol_bulk_view, name="enrol"),
    path("c/<str:token>/", views.click_view, name="click"),
    path("u/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("leads/<int:pk>/unenrol/", views.lead_unenrol_view, name="unenrol"),
    path("tasks/<int:pk>/done/", views.task_done_view, name="task_done"),
    path("steps/<int:pk>/", views.step_edit_view, name="step_edit"),
    path("steps/<int:pk>/delete/", views.step_delete_view, name="step_delete"),
    path("steps/<int:pk>/move/", views.step_move_view, name="step_move"),
    path("<slug:slug>/", views.track_detail_view, name="track"),
    path("<slug:slug>/settings/", views.track_settings_view, name="track_settings"),
    path("<slug:slug>/status/", views.track_status_view, name="track_status"),
    path("<slug:slug>/steps/", views.step_add_view, name="step_add"),
    path("<slug:slug>/results/", views.track_results_view, name="results"),
]
