"""Outbound webhooks: one signed delivery per stage change and endpoint, retried with backoff, logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from leadops.errors import ApplicationError
from leads.lifecycle import Stage
from leads.models import DeliveryKind, DeliveryStatus, Lead, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from leads.services import webhooks as webhooks_service
from leads.services.lifecycle import StageStep, lead_stage_change, leads_bulk_create_with_history
from leads.services.webhooks import (
    retry_delay,
    webhook_deliveries_send_due,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_endpoint_deactivate,
    webhook_signature,
    webhook_url_check,
)
from leads.tasks import webhook_delivery_send_task
from tests.factories import CampaignFactory, LeadFactory


class Receiver:
    """A local HTTP receiver on 127.0.0.1 that checks signatures and answers from a script of codes."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.secret = ""
        self.script: list[int] = []
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers["X-Leadops-Timestamp"]
                expected = (
                    "sha256="
                    + hmac.new(receiver.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
                )
                valid = hmac.compare_digest(expected, self.headers["X-Leadops-Signature"])
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": json.loads(body), "valid": valid, "path": self.path}
                )
                code = receiver.script.pop(0) if receiver.script else 200
                if not valid:
                    code = 401
                self.send_response(code)
                if code in {301, 302}:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                self.wfile.write(f"answer {code}".encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/leadops"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def sent(monkeypatch):
    """Record what would be published to the broker instead of publishing it."""
    published: list[list[int]] = []

    def send(*, task, calls) -> bool:
        published.append([args[0] for args in calls])
        return True

    monkeypatch.setattr(webhooks_service, "tasks_send_safely", send)
    return published


def endpoint_for(receiver, admin_user, stages=("sql",)) -> WebhookEndpoint:
    endpoint = webhook_endpoint_create(by=admin_user, name="CRM", url=receiver.url, stages=list(stages))
    receiver.secret = endpoint.secret
    return endpoint


def to_sql(lead: Lead) -> Lead:
    for stage in (Stage.MQL, Stage.SAL, Stage.SQL):
        lead = lead_stage_change(lead=lead, to_stage=stage, reason=f"to {stage}")
    return lead


def test_reaching_sql_creates_one_delivery_for_each_endpoint_that_wants_it(
    admin_user, alice, sent, django_capture_on_commit_callbacks
):
    wants_sql = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook", stages=["sql"])
    WebhookEndpoint.objects.create(name="Won only", url="https://crm.example/won", stages=["won"])
    everything = WebhookEndpoint.objects.create(name="All", url="https://all.example/hook", stages=[])
    WebhookEndpoint.objects.create(name="Off", url="https://off.example/hook", stages=[], active=False)
    campaign = CampaignFactory(name="Spring webinar")
    lead = LeadFactory(
        email="ada@engines.example", first_name="Ada", last_name="Lovelace", company_name="Engines", campaign=campaign
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_stage_change(lead=lead, to_stage=Stage.MQL)
        lead = lead_stage_change(lead=lead, to_stage=Stage.SAL, changes={"owner": alice})
        lead = lead_stage_change(lead=lead, to_stage=Stage.SQL, by=alice, reason="Budget confirmed")

    assert WebhookDelivery.objects.filter(endpoint=everything).count() == 3
    delivery = WebhookDelivery.objects.get(endpoint=wants_sql)
    assert not WebhookDelivery.objects.exclude(endpoint__in=[wants_sql, everything]).exists()
    assert delivery.stage_change.to_stage == Stage.SQL and delivery.status == DeliveryStatus.PENDING
    payload = delivery.payload
    assert payload["event"] == "lead.stage_changed" and payload["delivery"] == str(delivery.uuid)
    assert payload["stage"] == {"from": "sal", "to": "sql"}
    assert payload["reason"] == "Budget confirmed"
    assert payload["lead"]["email"] == "ada@engines.example" and payload["lead"]["name"] == "Ada Lovelace"
    assert payload["lead"]["company"] == "Engines" and payload["lead"]["campaign"]["name"] == "Spring webinar"
    assert payload["lead"]["owner"]["username"] == "alice"
    assert {"grade", "score", "title"} <= set(payload["lead"]) and "uld_version" in payload
    assert delivery.pk in sum(sent, [])


def test_a_stage_change_is_delivered_once_per_endpoint_by_constraint(admin_user, sent):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    lead = lead_stage_change(lead=LeadFactory(), to_stage=Stage.MQL)
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(endpoint=endpoint, stage_change=delivery.stage_change, lead=lead, payload={})


def test_bulk_loads_with_history_send_no_webhooks(admin_user, sent):
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    now = timezone.now()
    leads_bulk_create_with_history(
        leads=[Lead(email="old@example.com")],
        histories=[[StageStep(Stage.INQUIRY, now), StageStep(Stage.MQL, now), StageStep(Stage.SAL, now)]],
    )
    assert not WebhookDelivery.objects.exists()


def test_a_delivery_reaches_the_receiver_signed_and_is_retried_after_a_500(admin_user, receiver, sent):
    endpoint = endpoint_for(receiver, admin_user)
    receiver.script = [500, 200]
    to_sql(LeadFactory(email="ready@example.com"))
    delivery = WebhookDelivery.objects.get()

    webhook_delivery_send_task.apply(args=[delivery.pk], throw=True)  # the task as a worker runs it
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.response_body == "answer 500"
    first_retry = delivery.next_attempt_at
    assert first_retry > delivery.last_attempt_at
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is False  # not due yet: nobody sends early

    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=first_retry) is True
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 2, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    log = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "response_code"))
    assert log == [(1, 500), (2, 200)]

    assert len(receiver.requests) == 2 and all(r["valid"] for r in receiver.requests)
    headers = receiver.requests[1]["headers"]
    assert headers["X-Leadops-Delivery"] == str(delivery.uuid)
    assert headers["Content-Type"] == "application/json"
    assert receiver.requests[1]["body"]["lead"]["email"] == "ready@example.com"
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert endpoint.deliveries.count() == 1


def test_a_delivery_gives_up_after_the_last_attempt(admin_user, receiver, sent, settings):
    settings.LEADOPS_WEBHOOK_MAX_ATTEMPTS = 2
    endpoint_for(receiver, admin_user)
    receiver.script = [503, 502, 200]
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 2, 502)
    assert delivery.next_attempt_at is None
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(days=1)) is False
    assert len(receiver.requests) == 2


def test_a_redirect_is_logged_as_a_failure_and_not_followed(admin_user, receiver, sent):
    endpoint_for(receiver, admin_user)
    receiver.script = [302]
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.PENDING, 302)
    assert len(receiver.requests) == 1


def test_an_unreachable_receiver_is_logged_with_the_error(admin_user, sent):
    WebhookEndpoint.objects.create(name="Gone", url="http://127.0.0.1:9/nothing-listens", stages=["sql"])
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.response_code is None and "refused" in attempt.error.lower()


def test_pending_deliveries_of_a_deactivated_endpoint_give_up(admin_user, receiver, sent):
    endpoint = endpoint_for(receiver, admin_user)
    to_sql(LeadFactory())
    webhook_endpoint_deactivate(endpoint=endpoint)
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "deactivated" in delivery.error
    assert receiver.requests == []


def test_the_due_scan_sends_only_deliveries_whose_time_has_come(admin_user, sent):
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    lead = to_sql(LeadFactory())
    assert lead.stage == Stage.SQL
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=deliveries[0].pk).update(next_attempt_at=now + dt.timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=deliveries[1].pk).update(status=DeliveryStatus.SUCCEEDED)
    sent.clear()
    assert webhook_deliveries_send_due(now=now + dt.timedelta(seconds=1)) == 1
    assert sent == [[deliveries[2].pk]]


def test_retry_delays_grow_exponentially_with_jitter_and_are_capped(settings):
    settings.LEADOPS_WEBHOOK_BACKOFF_SECONDS = 30
    settings.LEADOPS_WEBHOOK_BACKOFF_MAX_SECONDS = 3600
    for attempt, base in [(1, 30), (2, 60), (3, 120), (8, 3600), (20, 3600)]:
        delays = {retry_delay(attempt).total_seconds() for _ in range(20)}
        assert all(base * 0.75 <= d <= base * 1.25 for d in delays), (attempt, delays)
        assert len(delays) > 1  # jittered


def test_the_signature_is_an_hmac_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhook_signature(secret="whsec_x", timestamp="1700000000", body=body) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://crm.example/hook", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http:///nohost", "needs a host"),
        ("http://127.0.0.1:8000/hook", "private or local"),
        ("http://localhost/hook", "private or local"),
        ("http://10.1.2.3/hook", "private or local"),
        ("http://192.168.0.10/hook", "private or local"),
        ("http://169.254.169.254/latest/meta-data/", "private or local"),
        ("http://[::1]/hook", "private or local"),
        ("http://[::ffff:127.0.0.1]/hook", "private or local"),
        ("http://0.0.0.0/hook", "private or local"),
    ],
)
def test_the_ssrf_guard_refuses_local_and_non_http_targets(settings, url, message):
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ApplicationError) as refused:
        webhook_url_check(url=url)
    assert message in refused.value.message


def test_the_ssrf_guard_accepts_a_public_address(settings):
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    webhook_url_check(url="https://93.184.215.14/hook")


@pytest.mark.parametrize(
    ("url", "carried"),
    [
        ("http://[64:ff9b::a9fe:a9fe]/hook", "169.254.169.254"),  # NAT64, well-known prefix
        ("http://[64:ff9b::7f00:1]/hook", "127.0.0.1"),
        ("http://[64:ff9b:1::a00:1]/hook", "10.0.0.1"),  # NAT64, local-use prefix
        ("http://[2002:7f00:1::]/hook", "127.0.0.1"),  # 6to4
        ("http://[2002:a9fe:a9fe::1]/hook", "169.254.169.254"),
        ("http://[::127.0.0.1]/hook", "127.0.0.1"),  # IPv4-compatible
        ("http://[::10.1.2.3]/hook", "10.1.2.3"),
        ("http://[::ffff:169.254.169.254]/hook", "169.254.169.254"),  # IPv4-mapped
        ("http://[2001:0:808:808:0:ffff:80ff:fffe]/hook", "127.0.0.1"),  # Teredo, client 127.0.0.1
        ("http://[2001:0:a00:1:0:ffff:a2b3:c4d5]/hook", "10.0.0.1"),  # Teredo, server 10.0.0.1
    ],
)
def test_a_private_ipv4_address_embedded_in_ipv6_is_refused_at_creation(admin_user, settings, url, carried):
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ApplicationError) as refused:
        webhook_endpoint_create(by=admin_user, name="CRM", url=url, stages=["sql"])
    assert "private or local" in refused.value.message
    assert carried in refused.value.message
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::5db8:d70e]/hook",  # NAT64 (DNS64 on an IPv6-only host) of 93.184.215.14
        "https://[2002:5db8:d70e::1]/hook",  # 6to4 of 93.184.215.14
        "https://[::ffff:93.184.215.14]/hook",
    ],
)
def test_a_public_ipv4_address_embedded_in_ipv6_is_accepted(settings, url):
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    webhook_url_check(url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::93.184.215.14]/hook",
        "http://[2001:0:5db8:d70e:0:ffff:a247:28f1]/hook",
        "http://[64:ff9b:1::5db8:d70e]/hook",
    ],
)
def test_ipv4_compatible_teredo_and_local_nat64_addresses_are_refused_even_when_they_carry_a_public_ipv4(settings, url):
    """None reaches a public host by ordinary routing: IPv4-compatible is deprecated, Teredo is not global,
    and a local-use NAT64 prefix belongs to one site's translator (where it puts the IPv4 address varies)."""
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ApplicationError) as refused:
        webhook_url_check(url=url)
    assert "private or local" in refused.value.message


def test_a_host_that_resolves_to_a_nat64_private_address_at_send_time_is_refused(
    admin_user, receiver, sent, settings, monkeypatch
):
    """The host is resolved again before each attempt, and the new answer is unwrapped before deciding."""
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    answers = {"crm.example": "93.184.215.14"}

    def getaddrinfo(host, port, *args, **kwargs):
        address = answers[host]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(webhooks_service.socket, "getaddrinfo", getaddrinfo)
    endpoint = webhook_endpoint_create(by=admin_user, name="CRM", url="http://crm.example/hook", stages=["sql"])
    to_sql(LeadFactory())
    answers["crm.example"] = "64:ff9b::a9fe:a9fe"  # the DNS answer changed after creation
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is True
    delivery.refresh_from_db()
    assert "private or local" in delivery.error and "169.254.169.254" in delivery.error
    assert delivery.response_code is None
    assert WebhookAttempt.objects.get(delivery=delivery).error == delivery.error


def test_a_private_target_is_refused_again_at_send_time(admin_user, receiver, sent, settings):
    endpoint_for(receiver, admin_user)
    to_sql(LeadFactory())
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert "private or local" in delivery.error and delivery.response_code is None
    assert receiver.requests == []


# The pages


@pytest.mark.parametrize("who", ["alice", "manager", "executive"])
def test_only_admins_and_marketing_manage_webhooks(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("webhooks:list")).status_code == 403
    assert client.post(reverse("webhooks:new"), {"name": "x", "url": "https://x.example/"}).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_creating_a_webhook_shows_its_secret_once(client, marketer):
    client.force_login(marketer)
    assert reverse("webhooks:list") in [item.url for item in client.get(reverse("webhooks:list")).context["nav_items"]]
    response = client.post(
        reverse("webhooks:new"), {"name": "CRM", "url": "https://crm.example/hook", "stages": ["sql", "opportunity"]}
    )
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    assert (endpoint.stages, endpoint.created_by) == (["sql", "opportunity"], marketer)
    detail = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in detail and endpoint.secret_hint in detail
    assert endpoint.secret not in client.get(reverse("webhooks:list")).content.decode()


def test_a_refused_url_is_shown_on_the_form(client, admin_user, settings):
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(admin_user)
    response = client.post(reverse("webhooks:new"), {"name": "Internal", "url": "http://10.0.0.5/hook"})
    assert response.status_code == 400
    assert "private or local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_send_test_then_the_log_shows_the_response(client, admin_user, receiver, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(receiver, admin_user)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("webhooks:test", args=[endpoint.pk]))
    assert response.status_code == 302 and len(callbacks) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.kind == DeliveryKind.TEST
    webhook_delivery_attempt(delivery_id=delivery.pk)
    assert receiver.requests[0]["body"]["event"] == "webhook.test" and receiver.requests[0]["valid"]
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "Delivered" in page and "HTTP 200" in page and "answer 200" in page


def test_deactivate_and_retry_from_the_pages(client, admin_user, receiver, sent, settings):
    settings.LEADOPS_WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = endpoint_for(receiver, admin_user)
    receiver.script = [500]
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    client.force_login(admin_user)
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "Gave up" in page and "HTTP 500" in page

    client.post(reverse("webhooks:retry", args=[endpoint.pk, delivery.pk]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2

    client.post(reverse("webhooks:deactivate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.deactivated_at is not None
    assert "deactivated" in client.post(reverse("webhooks:test", args=[endpoint.pk]), follow=True).content.decode()


def test_the_delivery_log_refreshes_as_an_htmx_partial(client, admin_user):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook")
    client.force_login(admin_user)
    response = client.get(reverse("webhooks:detail", args=[endpoint.pk]), headers={"HX-Request": "true"})
    assert [t.name for t in response.templates][0] == "leads/webhooks/_deliveries.html"
    assert "Nothing sent yet." in response.content.decode() and "<h1>" not in response.content.decode()


@pytest.mark.parametrize("allow_private", [True, False])
def test_a_webhook_url_with_a_port_out_of_range_is_refused_by_name(admin_user, settings, allow_private):
    """Otherwise, where private hosts are allowed, each attempt would crash on the socket instead of logging."""
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = allow_private
    with pytest.raises(ApplicationError, match="port 99999"):
        webhook_endpoint_create(by=admin_user, name="CRM", url="http://localhost:99999/", stages=["sql"])
    assert not WebhookEndpoint.objects.exists()


def test_delivery_connects_to_the_address_that_was_checked_not_a_second_lookup(
    admin_user, receiver, sent, settings, monkeypatch
):
    """DNS rebinding: the check is answered a public address, a second lookup would get 127.0.0.1."""
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.server.server_address[1]
    answers = ["93.184.215.14", "93.184.215.14"]  # at creation and at the attempt's check; then loopback
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection
    connected_to: list[tuple[str, int]] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "crm.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        address = answers.pop(0) if answers else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    def create_connection(address, *args, **kwargs):
        connected_to.append(address)
        if address[0] == "93.184.215.14":  # the public host, which this test does not reach
            raise ConnectionRefusedError(111, "Connection refused")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(webhooks_service.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(webhooks_service.socket, "create_connection", create_connection)
    endpoint = webhook_endpoint_create(by=admin_user, name="CRM", url=f"http://crm.example:{port}/hook", stages=["sql"])
    receiver.secret = endpoint.secret
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    assert webhook_delivery_attempt(delivery_id=delivery.pk) is True
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert connected_to == [("93.184.215.14", port)]
    assert delivery.response_code is None and "refused" in delivery.error.lower()
    assert WebhookAttempt.objects.get(delivery=delivery).error == delivery.error


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch, settings):
    """An HTTPS receiver on 127.0.0.1 with a certificate for crm.example, which the sender trusts.

    crm.example resolves to 127.0.0.1 (private hosts are allowed, as in local development), so a delivery
    connects to 127.0.0.1 and must still send crm.example as SNI and check the certificate against it.
    """
    settings.LEADOPS_WEBHOOK_ALLOW_PRIVATE = True
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # read when the sender makes its context
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host.endswith(".example") else host, port, *args, **kwargs)

    monkeypatch.setattr(webhooks_service.socket, "getaddrinfo", getaddrinfo)
    servers: list[Receiver] = []

    def start(*, certificate_for: str) -> Receiver:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(certificate_for).configure_cert(context)
        context.sni_callback = lambda sock, name, ctx: server.server_names.append(name)
        server = Receiver(tls=context)
        server.server_names = []
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_an_https_delivery_checks_the_certificate_and_sends_sni_for_the_host_name_not_the_address(
    admin_user, tls_receiver, sent
):
    receiver = tls_receiver(certificate_for="crm.example")
    port = receiver.server.server_address[1]
    endpoint = webhook_endpoint_create(
        by=admin_user, name="CRM", url=f"https://crm.example:{port}/hook", stages=["sql"]
    )
    receiver.secret = endpoint.secret
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    assert webhook_delivery_attempt(delivery_id=delivery.pk) is True
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.error) == (DeliveryStatus.SUCCEEDED, 200, "")
    assert receiver.server_names == ["crm.example"]
    assert receiver.requests[0]["headers"]["Host"] == f"crm.example:{port}" and receiver.requests[0]["valid"]


def test_an_https_delivery_to_a_certificate_for_another_host_is_refused(admin_user, tls_receiver, sent):
    receiver = tls_receiver(certificate_for="other.example")
    port = receiver.server.server_address[1]
    endpoint = webhook_endpoint_create(
        by=admin_user, name="CRM", url=f"https://crm.example:{port}/hook", stages=["sql"]
    )
    to_sql(LeadFactory())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    assert webhook_delivery_attempt(delivery_id=delivery.pk) is True
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.error and "crm.example" in delivery.error
    assert receiver.requests == []


def test_the_https_connection_wraps_the_checked_address_with_the_host_name_as_server_hostname(receiver):
    wrapped: list[dict] = []

    class Context(ssl.SSLContext):
        def wrap_socket(self, sock, **kwargs):
            wrapped.append({"peer": sock.getpeername(), **kwargs})
            return sock

    port = receiver.server.server_address[1]
    connection = webhooks_service._PinnedHTTPSConnection(
        "crm.example", port=port, addresses=[("127.0.0.1", port)], context=Context(ssl.PROTOCOL_TLS_CLIENT), timeout=5
    )
    connection.connect()
    connection.close()
    assert wrapped == [{"peer": ("127.0.0.1", port), "server_hostname": "crm.example"}]
