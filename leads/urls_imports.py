from __future__ import annotations

from django.urls import path

from leads import api_imports, views_imports

app_name = "imports"
urlpatterns = [
    path("", views_imports.import_list_view, name="list"),
    path("new/", views_imports.import_new_view, name="new"),
    path("<int:pk>/", views_imports.import_detail_view, name="detail"),
    path("<int:pk>/configure/", views_imports.import_configure_view, name="configure"),
    path("<int:pk>/progress/", views_imports.import_progress_view, name="progress"),
    path("<int:pk>/cancel/", views_imports.import_cancel_view, name="cancel"),
    path("<int:pk>/undo/", views_imports.import_undo_view, name="undo"),
    path("<int:pk>/errors.csv", views_imports.import_errors_view, name="errors"),
    path("<int:pk>/original/", views_imports.import_original_view, name="original"),
    path("<int:pk>/leads/", views_imports.import_leads_view, name="leads"),
    path("api/", api_imports.ImportUploadAPIView.as_view(), name="api_upload"),
    path("api/<int:pk>/", api_imports.ImportStatusAPIView.as_view(), name="api_status"),
]
