from __future__ import annotations

from django.urls import path

from leads import views_webhooks

app_name = "webhooks"
urlpatterns = [
    path("", views_webhooks.webhook_list_view, name="list"),
    path("new/", views_webhooks.webhook_new_view, name="new"),
    path("<int:pk>/", views_webhooks.webhook_detail_view, name="detail"),
    path("<int:pk>/deactivate/", views_webhooks.webhook_deactivate_view, name="deactivate"),
    path("<int:pk>/test/", views_webhooks.webhook_test_view, name="test"),
    path("<int:pk>/deliveries/<int:delivery_pk>/retry/", views_webhooks.webhook_delivery_retry_view, name="retry"),
]
