"""The API's URLs, under /api/. The events endpoint (api/events/) is routed before this include."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from leads import api_imports
from leads.api.views import leads, misc, stage
from reporting.api import FunnelMetricsView
from scoring.api import LeadScoreView


class SchemaView(SpectacularAPIView):
    required_scopes: set[str] = set()  # any valid token may read the schema


# Swagger UI (React) injects <style> elements at run time, which style-src 'self' blocks. Styles only, on
# this one page: scripts stay 'self', and the page shows the schema, no lead data.
@method_decorator(csp_update({"style-src": [UNSAFE_INLINE]}), name="dispatch")
class DocsView(SpectacularSwaggerSplitView):
    # The split view serves its start-up script as a file of its own, so the CSP needs no inline script.
    required_scopes: set[str] = set()


app_name = "api"
urlpatterns = [
    path("leads/", leads.LeadListCreateView.as_view(), name="lead_list"),
    path("leads/<int:pk>/", leads.LeadDetailView.as_view(), name="lead_detail"),
    path("leads/<int:pk>/score/", LeadScoreView.as_view(), name="lead_score"),
    path("leads/<int:pk>/activities/", leads.LeadActivitiesView.as_view(), name="lead_activities"),
    path("leads/<int:pk>/accept/", stage.LeadAcceptView.as_view(), name="lead_accept"),
    path("leads/<int:pk>/reject/", stage.LeadRejectView.as_view(), name="lead_reject"),
    path("leads/<int:pk>/qualify/", stage.LeadQualifyView.as_view(), name="lead_qualify"),
    path("leads/<int:pk>/convert/", stage.LeadConvertView.as_view(), name="lead_convert"),
    path("leads/<int:pk>/won/", stage.LeadWonView.as_view(), name="lead_won"),
    path("leads/<int:pk>/lost/", stage.LeadLostView.as_view(), name="lead_lost"),
    path("campaigns/", misc.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/<int:pk>/", misc.CampaignDetailView.as_view(), name="campaign_detail"),
    path("imports/", api_imports.ImportUploadAPIView.as_view(), name="import_upload"),
    path("imports/<int:pk>/", api_imports.ImportStatusAPIView.as_view(), name="import_status"),
    path("uld/active/", misc.ULDActiveView.as_view(), name="uld_active"),
    path("uld/versions/", misc.ULDVersionListView.as_view(), name="uld_versions"),
    path("uld/versions/<int:pk>/", misc.ULDVersionDetailView.as_view(), name="uld_version"),
    path("reports/funnel/", FunnelMetricsView.as_view(), name="funnel"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
]
