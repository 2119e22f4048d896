"""Request hardening that settings alone cannot express: the client's address, the lockout page, and the
Permissions-Policy header."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Browser features the app never uses, switched off for every page (and any script that got in).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


def client_ip(request: HttpRequest) -> str | None:
    """Return the address the request came from, as far as it can be trusted.

    REMOTE_ADDR, unless LEADOPS_TRUSTED_PROXY_COUNT proxies of ours stand in front of the app: each one
    appends the address it was called from to X-Forwarded-For, so the client is the entry that many places
    from the right. Anything to the left of it was written by the client and is ignored, so rotating a
    spoofed X-Forwarded-For never yields a fresh address (or fresh login attempts).
    """
    proxies = settings.LEADOPS_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def cool_off_minutes() -> int:
    return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """Answer a locked-out login with the login page and a message saying when to try again.

    Every attempt during a lockout starts the cool-off again (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT),
    so the wait from this attempt is the whole cool-off.
    """
    minutes = cool_off_minutes()
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "lockout_message": f"Too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)


class PermissionsPolicyMiddleware:
    """Send Permissions-Policy on every response (Django's SecurityMiddleware sends the other headers).

    Hand-written because it is one constant header; a package would add a dependency for one line.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
