from __future__ import annotations

from django.urls import path

from bench.server_timing import bare_view
from leadops.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/bare/", bare_view, name="bench_bare"), *app_urlpatterns]
