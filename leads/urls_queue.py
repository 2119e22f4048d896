from __future__ import annotations

from django.urls import path

from leads import views_queue as views

app_name = "queue"
urlpatterns = [
    path("", views.queue_view, name="home"),
    path("export.csv", views.queue_export_view, name="export"),
    path("lead/<int:pk>/", views.queue_lead_view, name="lead"),
    path("lead/<int:pk>/accept/", views.accept_view, name="accept"),
    path("lead/<int:pk>/reject/", views.reject_view, name="reject"),
    path("lead/<int:pk>/no-response/", views.no_response_view, name="no_response"),
    path("lead/<int:pk>/touch/", views.touch_view, name="touch"),
    path("lead/<int:pk>/follow-up/", views.follow_up_view, name="follow_up"),
    path("lead/<int:pk>/qualify/", views.qualify_view, name="qualify"),
    path("lead/<int:pk>/convert/", views.convert_view, name="convert"),
    path("lead/<int:pk>/close/", views.close_view, name="close"),
    path("board/", views.board_view, name="board"),
    path("board/reassign/", views.reassign_view, name="reassign"),
    path("notifications/", views.notifications_view, name="notifications"),
    path("notifications/bell/", views.bell_view, name="bell"),
    path("notifications/read/", views.notifications_read_view, name="notifications_read"),
]
