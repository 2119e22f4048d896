from __future__ import annotations

from django.urls import path

from leads import views_tokens

app_name = "tokens"
urlpatterns = [
    path("", views_tokens.api_tokens_view, name="list"),
    path("<int:pk>/revoke/", views_tokens.api_token_revoke_view, name="revoke"),
]
