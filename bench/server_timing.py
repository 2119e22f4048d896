"""Benchmark-only pieces served by gunicorn: a middleware that reports server time, and a bare view."""

from __future__ import annotations

import time

from django.http import HttpResponse


def server_timing(get_response):
    """Put the time spent in Django (all middleware and the view) in a `Server-Timing` header."""

    def middleware(request):
        started = time.perf_counter()
        response = get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
        return response

    return middleware


def bare_view(request) -> HttpResponse:
    """The baseline: the same middleware, session and login as the queue, and no work."""
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain")
