from __future__ import annotations

from django.urls import path

from leads import api_events

app_name = "events"
urlpatterns = [
    path("", api_events.EventsAPIView.as_view(), name="create"),
]
