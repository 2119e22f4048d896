"""Outbound webhooks: deliveries created with each stage change, sent signed, retried with backoff.

A delivery row is written in the stage change's own transaction (an outbox: no committed change without
its deliveries), sent after commit, and each attempt claims the delivery by moving its due time forward
(a lease), so two workers never send one attempt and a worker killed mid-request is retried after the
lease. Retries are scheduled in the database (`next_attempt_at`) and sent by a beat task, not by Celery
countdowns, so they survive worker restarts and a broker that loses its messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import random
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import (
    DeliveryKind,
    DeliveryStatus,
    Lead,
    StageChange,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from leads.services.broker import tasks_send_safely

BODY_EXCERPT = 2000
USER_AGENT = "leadops-webhooks/1"


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Leadops-Signature value: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_url_check(*, url: str) -> None:
    """Refuse a URL that is not http(s) or, unless LEADOPS_WEBHOOK_ALLOW_PRIVATE, that reaches a private host.

    Every address the host resolves to must be public (not loopback, private, link-local, reserved or
    multicast), and so must every IPv4 address an IPv6 answer embeds (NAT64, 6to4, Teredo, mapped,
    IPv4-compatible), so a webhook cannot be pointed at the database or a cloud metadata service. Checked
    on creation and again, resolving the host anew, before each attempt (DNS may change in between); the
    attempt then connects to the addresses that check passed, never to a second lookup's.
    """
    host, port = _url_host_port(url)
    if not settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE:
        _addresses_vetted(host=host, port=port, allow_private=False)


def _url_host_port(url: str) -> tuple[str, int]:
    """Return the URL's host name and port, or refuse a URL that is not http(s) with a host and a port."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ApplicationError("A webhook URL must start with http:// or https://.")
    host = parts.hostname
    if not host:
        raise ApplicationError("A webhook URL needs a host name.")
    # Before the private-host switch: a port past 65535 would otherwise reach the socket on every attempt,
    # which raises OverflowError, not an error the attempt logs.
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port_text = parts.netloc.rpartition(":")[2]
        raise ApplicationError(f"The webhook URL's port {port_text} is not a port (1 to 65535).")
    return host, port


def _addresses_vetted(*, host: str, port: int, allow_private: bool) -> list[tuple[str, int]]:
    """Resolve the host once; return its (address, port) pairs, refusing all if one is not public."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise ApplicationError(f"The webhook host {host} does not resolve.")
    addresses: list[tuple[str, int]] = []
    for info in infos:
        sockaddr = (info[4][0], info[4][1])
        if not allow_private:
            refused = _address_refused(ipaddress.ip_address(sockaddr[0].split("%")[0]))
            if refused:
                raise ApplicationError(
                    f"The webhook host {host} is a private or local address ({refused}); "
                    "webhooks go to public hosts only."
                )
        if sockaddr not in addresses:
            addresses.append(sockaddr)
    return addresses


# IPv6 prefixes that only carry an IPv4 address to a translator or relay: the IPv4 address decides.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052, DNS64 on IPv6-only hosts
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291, deprecated; :: and ::1 are not in this form
_ONE = ipaddress.IPv4Address(1)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Return the IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo, IPv4-compatible)."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64_WELL_KNOWN or address in _NAT64_LOCAL_USE or (address in _IPV4_COMPATIBLE and low32 > _ONE):
        # A local-use NAT64 prefix may be longer than /48 and put the IPv4 address elsewhere; the prefix
        # itself is not global, so such an address is refused whole below whatever it carries.
        return [low32]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # server and client (Python undoes the client's obfuscation)
    return []


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not address.is_multicast and not address.is_reserved


def _address_refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Return why a resolved address is not a public host (naming any IPv4 it carries), or "" if it is.

    An IPv6 address that embeds an IPv4 address reaches that IPv4 host through a translator or relay, so
    the embedded address is checked first: `[64:ff9b::a9fe:a9fe]` is the metadata service. The mapped,
    well-known NAT64 and 6to4 forms are then decided by the IPv4 address alone (an IPv6-only host with
    DNS64 reaches every public host through 64:ff9b::/96); the others (local-use NAT64, IPv4-compatible,
    Teredo) must also pass as IPv6 addresses, which they do not.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        for ipv4 in embedded:
            if not _is_public(ipv4):
                return f"{address}, which carries {ipv4}"
        translated = address.ipv4_mapped is not None or address.sixtofour is not None
        if embedded and (translated or address in _NAT64_WELL_KNOWN):
            return ""
    return "" if _is_public(address) else str(address)


def webhook_endpoint_create(*, by, name: str, url: str, stages: list[str]) -> WebhookEndpoint:
    """Create an active endpoint with a new secret (the caller shows it once)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the webhook a name.")
    unknown = [stage for stage in stages if stage not in Stage.values]
    if unknown:
        raise ApplicationError(f"Unknown stage(s): {', '.join(unknown)}.")
    webhook_url_check(url=url)
    return WebhookEndpoint.objects.create(name=name[:100], url=url, stages=list(stages), created_by=by)


def webhook_endpoint_deactivate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to the endpoint; its pending deliveries give up at their next attempt."""
    if endpoint.active:
        endpoint.active = False
        endpoint.deactivated_at = timezone.now()
        endpoint.save(update_fields=["active", "deactivated_at"])
    return endpoint


def webhook_deliveries_create(*, stage_change: StageChange) -> list[int]:
    """Create one delivery per active endpoint that wants this stage, and send them after commit.

    Called by `lead_stage_change` inside its transaction. Bulk paths (imports, demo data, loads with
    history) do not call it: a bulk load is not news for a CRM.
    """
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if e.wants(stage_change.to_stage)]
    if not endpoints:
        return []
    lead = Lead.objects.select_related("owner", "campaign", "qualified_uld_version").get(pk=stage_change.lead_id)
    deliveries = []
    for endpoint in endpoints:
        delivery_uuid = uuid.uuid4()
        deliveries.append(
            WebhookDelivery(
                uuid=delivery_uuid,
                endpoint=endpoint,
                kind=DeliveryKind.STAGE_CHANGE,
                stage_change=stage_change,
                lead=lead,
                payload=stage_change_payload(stage_change=stage_change, lead=lead, delivery=delivery_uuid),
            )
        )
    ids = [d.pk for d in WebhookDelivery.objects.bulk_create(deliveries)]
    _send_after_commit(ids)
    return ids


def webhook_test_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a test delivery with a sample payload to the endpoint."""
    if not endpoint.active:
        raise ApplicationError("This webhook is deactivated.")
    delivery_uuid = uuid.uuid4()
    now = timezone.now()
    payload = {
        "event": DeliveryKind.TEST.value,
        "delivery": str(delivery_uuid),
        "occurred_at": now.isoformat(),
        "message": "A test from leadops: if you can read this and the signature checks out, the webhook works.",
    }
    delivery = WebhookDelivery.objects.create(
        uuid=delivery_uuid, endpoint=endpoint, kind=DeliveryKind.TEST, payload=payload, next_attempt_at=now
    )
    _send_after_commit([delivery.pk])
    return delivery


def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery that gave up again, now, with a fresh budget of attempts."""
    if delivery.status != DeliveryStatus.FAILED:
        raise ApplicationError("Only a delivery that gave up can be retried by hand.")
    if not delivery.endpoint.active:
        raise ApplicationError("This webhook is deactivated.")
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), attempts=0, error=""
    )
    _send_after_commit([delivery.pk])
    delivery.refresh_from_db()
    return delivery


def _send_after_commit(ids: list[int]) -> None:
    from leads.tasks import webhook_delivery_send_task

    # If the broker is down the deliveries stay due and the beat task sends them; robust, because the
    # stage change is already committed and must not be reported as failed.
    transaction.on_commit(
        lambda: tasks_send_safely(task=webhook_delivery_send_task, calls=[(pk,) for pk in ids]), robust=True
    )


def stage_change_payload(*, stage_change: StageChange, lead: Lead, delivery: uuid.UUID) -> dict[str, Any]:
    """Return the JSON a CRM receives for a stage change (a snapshot as of the change)."""
    owner = lead.owner
    uld = stage_change.uld_version if stage_change.uld_version_id else lead.qualified_uld_version
    return {
        "event": DeliveryKind.STAGE_CHANGE.value,
        "delivery": str(delivery),
        "occurred_at": stage_change.changed_at.isoformat(),
        "stage": {"from": stage_change.from_stage or None, "to": stage_change.to_stage},
        "reason": stage_change.reason,
        "uld_version": uld.number if uld else None,
        "lead": {
            "id": lead.pk,
            "email": lead.email,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "name": lead.full_name,
            "phone": lead.phone,
            "company": lead.company_name,
            "title": lead.title,
            "country": lead.country,
            "grade": lead.grade or None,
            "score": lead.score,
            "owner": (
                {"id": owner.pk, "username": owner.get_username(), "name": owner.get_full_name(), "email": owner.email}
                if owner
                else None
            ),
            "campaign": {"id": lead.campaign.pk, "name": lead.campaign.name} if lead.campaign else None,
        },
    }


def webhook_deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Enqueue an attempt for every pending delivery whose time has come; return how many."""
    from leads.tasks import webhook_delivery_send_task

    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        tasks_send_safely(task=webhook_delivery_send_task, calls=[(pk,) for pk in ids])
    return len(ids)


def retry_delay(attempt: int) -> dt.timedelta:
    """Return the wait after failed attempt number `attempt`: doubling from the base, capped, with jitter."""
    base = settings.LEADOPS_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1)
    capped = min(base, settings.LEADOPS_WEBHOOK_BACKOFF_MAX_SECONDS)
    # Jitter spreads the retries of many deliveries that failed together (a receiver outage).
    return dt.timedelta(seconds=capped * random.uniform(0.75, 1.25))


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> bool:
    """Make one attempt of a due delivery if this caller wins the claim; return whether it was made.

    The claim moves the due time past the request's timeout (a lease) and counts the attempt; the HTTP
    request runs outside any transaction; the result is logged as a WebhookAttempt and decides the next
    step: delivered on a 2xx, otherwise retried after `retry_delay` until LEADOPS_WEBHOOK_MAX_ATTEMPTS.
    """
    now = now or timezone.now()
    timeout = settings.LEADOPS_WEBHOOK_TIMEOUT_SECONDS
    lease = now + dt.timedelta(seconds=timeout * 3 + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease, attempts=F("attempts") + 1, last_attempt_at=now)
    if claimed != 1:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, error="The webhook was deactivated."
        )
        return False
    code, body, error, duration = _post(endpoint=endpoint, delivery=delivery, timeout=timeout)
    _attempt_record(delivery=delivery, code=code, body=body, error=error, duration=duration)
    return True


def _post(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery, timeout: float):
    """POST the signed payload; return (status code or None, body excerpt, error text, milliseconds)."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) just below
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Leadops-Event": delivery.kind,
            "X-Leadops-Delivery": str(delivery.uuid),
            "X-Leadops-Timestamp": timestamp,
            "X-Leadops-Signature": webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
        },
    )
    started = time.monotonic()
    try:
        host, port = _url_host_port(endpoint.url)
        addresses = _addresses_vetted(host=host, port=port, allow_private=settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE)
        with _opener_pinned(addresses).open(request, timeout=timeout) as response:
            code, text = response.status, response.read(BODY_EXCERPT)
        error = ""
    except urllib.error.HTTPError as exc:
        code, text, error = exc.code, _read_quietly(exc), ""
    except ApplicationError as exc:
        code, text, error = None, b"", exc.message
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        code, text, error = None, b"", f"{type(reason).__name__}: {reason}"
    duration = int((time.monotonic() - started) * 1000)
    return code, text.decode("utf-8", errors="replace")[:BODY_EXCERPT], error[:1000], duration


def _read_quietly(response) -> bytes:
    try:
        return response.read(BODY_EXCERPT)
    except (OSError, http.client.HTTPException):
        return b""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer to log, not a place to follow: a redirect could lead past the address check."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _connect_pinned(addresses: list[tuple[str, int]], timeout: float | None) -> socket.socket:
    """Connect to the first of the vetted addresses that answers; a literal address needs no lookup."""
    errors: list[OSError] = []
    for address in addresses:
        try:
            return socket.create_connection(address, timeout)
        except OSError as exc:
            errors.append(exc)
    if not errors:
        raise OSError("The webhook host has no address to connect to.")
    raise errors[-1]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to vetted addresses: the URL's host name is only the Host header."""

    def __init__(self, host: str, *, addresses: list[tuple[str, int]], **kwargs) -> None:
        super().__init__(host, **kwargs)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_pinned(self.addresses, self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to vetted addresses; SNI and the certificate check use the URL's host name."""

    def __init__(self, host: str, *, addresses: list[tuple[str, int]], context: ssl.SSLContext, **kwargs) -> None:
        super().__init__(host, context=context, **kwargs)
        self.addresses = addresses
        self.tls_context = context

    def connect(self) -> None:
        sock = _connect_pinned(self.addresses, self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, addresses: list[tuple[str, int]]) -> None:
        super().__init__()
        self.addresses = addresses

    def http_open(self, req):
        return self.do_open(_PinnedHTTPConnection, req, addresses=self.addresses)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, addresses: list[tuple[str, int]]) -> None:
        super().__init__()
        self.addresses = addresses

    def https_open(self, req):
        # The default context verifies the certificate chain and that it names the host.
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        return self.do_open(_PinnedHTTPSConnection, req, addresses=self.addresses, context=context)


def _opener_pinned(addresses: list[tuple[str, int]]) -> urllib.request.OpenerDirector:
    """Return an opener that connects only to these addresses, follows no redirect and uses no proxy.

    No proxy: a proxy would resolve the host name itself, after the check, and connect wherever it says.
    """
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirects,
        _PinnedHTTPHandler(addresses),
        _PinnedHTTPSHandler(addresses),
    )


@transaction.atomic
def _attempt_record(*, delivery: WebhookDelivery, code: int | None, body: str, error: str, duration: int) -> None:
    now = timezone.now()
    # Numbered across hand retries too (they restart `attempts`, the budget, from zero).
    last = delivery.attempt_log.aggregate(last=Max("number"))["last"] or 0
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=last + 1,
        at=now,
        response_code=code,
        response_body=body,
        error=error,
        duration_ms=duration,
    )
    fields: dict[str, Any] = {"response_code": code, "response_body": body, "error": error}
    if code is not None and 200 <= code < 300:
        fields.update(status=DeliveryStatus.SUCCEEDED, delivered_at=now, next_attempt_at=None)
    elif delivery.attempts >= settings.LEADOPS_WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=now + retry_delay(delivery.attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
