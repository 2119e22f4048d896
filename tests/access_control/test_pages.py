"""Access control of the pages, htmx endpoints and downloads, by role, for every route (ASVS 4 chapter V8).

The routes come from Django's resolver and each must be classified in ROUTES below, so a new page
fails `test_every_route_is_classified` until someone says who may use it. Then, for every route and
every named user: outside the role → 403 (or, for the ULD, refused with nothing changed); a lead
outside the user's scope → 404, never a hint that it exists; in scope → the page works.
List pages and downloads are read as each user, and the name marker of every lead the user may not
see must never appear in them. (The REST API has its own suite: tests/access_control/test_api.py.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.lifecycle import Stage
from leads.models import (
    APIToken,
    APITokenKind,
    DeliveryStatus,
    ImportJob,
    RejectionReason,
    ULDSignOff,
    ULDVersion,
    WebhookDelivery,
    WebhookEndpoint,
)
from leads.selectors_uld import uld_active
from leads.services.api_tokens import api_token_create
from leads.services.imports import import_job_create
from leads.services.uld import uld_draft_create
from leads.services.webhooks import webhook_test_send
from nurture.models import Delivery, Enrolment, Step, Track
from nurture.services.delivery import enrolments_advance_due
from nurture.services.enrolment import enrolment_create
from scoring import services as scoring_services
from scoring.models import EngagementRule, FitRule
from tests.factories import APITokenFactory, CampaignFactory, LeadFactory
from tests.nurture.conftest import nurture_lead, three_step_track
from tests.url_patterns import routes

pytestmark = pytest.mark.django_db

USERS = ("alice", "bob", "charlie", "manager", "marketer", "executive", "admin")
EVERYONE = frozenset(USERS)
LEAD_READERS = frozenset({"alice", "bob", "charlie", "manager", "marketer", "admin"})
QUEUE_USERS = frozenset({"alice", "bob", "charlie", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})
IMPORTERS = frozenset({"marketer", "admin"})
EDITORS = frozenset({"manager", "marketer", "admin"})  # the ULD and the scoring model
REVIEWERS = frozenset({"marketer", "executive", "admin"})  # the monthly review covers every team
ADMINS = frozenset({"admin"})
# Nurture tracks and outbound webhooks belong to marketing (and admins). Both see every lead already, which
# is why those pages need no lead scope of their own (test_nurture_and_webhook_users_see_every_lead).
MARKETING = frozenset({"marketer", "admin"})

# One lead per owner; its last name is a marker that must appear only where its owner's leads may.
LEAD_KEYS = ("alice", "bob", "charlie", "maria", "pool")
MARKERS = {key: f"Zq{key}mark" for key in LEAD_KEYS}
# Who sees which of those leads, written out by hand (not computed with lead_scope, which is under test).
VISIBLE = {
    "alice": {"alice"},
    "bob": {"bob"},
    "charlie": {"charlie"},
    "manager": {"alice", "bob", "maria", "pool"},  # maria's team (East), her own and the unassigned pool
    "marketer": set(LEAD_KEYS),
    "executive": set(),
    "admin": set(LEAD_KEYS),
}
# One personal API token per user, and an integration token marketing issued; whose each user may see and
# revoke: their own and those they issued (the integration token is the marketer's); an admin, all.
TOKEN_KEYS = (*USERS, "integration")
TOKENS_VISIBLE = {who: {who} for who in USERS} | {
    "marketer": {"marketer", "integration"},
    "admin": set(TOKEN_KEYS),
}


@dataclass(frozen=True)
class Rule:
    """Who may use a route and what its first URL argument names."""

    gate: frozenset[str]
    # none | lead | job | uld | rule | reason | track | step | task (a nurture call task) | webhook |
    # webhook_delivery | token (an API token) | signed (a token in a nurture email link; no login)
    obj: str = "none"
    method: str = "GET"
    # How a user outside the gate is turned away: "403", or "refused" (the service says no with a message
    # and a redirect, and nothing changes: ULD pages, open to every role for reading).
    denied: str = "403"
    ok: frozenset[int] = frozenset({200, 302})
    data: dict = field(default_factory=dict)
    htmx: bool = False


def lead(gate, method="GET", **kw):
    return Rule(gate, "lead", method, **kw)


def queue_action(**data):
    return Rule(QUEUE_USERS, "lead", "POST", data={"return": "row", **data}, htmx=True)


ROUTES: dict[str, Rule] = {
    "home": Rule(EVERYONE),
    "no_role": Rule(EVERYONE, ok=frozenset({403})),  # the page for users without a role says so
    "system_status": Rule(ADMINS),
    # Leads
    "leads:list": Rule(LEAD_READERS),
    "leads:detail": lead(LEAD_READERS),
    "leads:stage": lead(LEAD_READERS, "POST", data={"to_stage": Stage.SAL, "expected_stage": Stage.MQL}),
    # The rep's queue, the lead preparation panel and its htmx actions, the manager's board
    "queue:home": Rule(QUEUE_USERS),
    "queue:export": Rule(QUEUE_USERS),
    "queue:lead": lead(QUEUE_USERS, htmx=True),
    "queue:accept": queue_action(expected_stage=Stage.MQL),
    "queue:reject": queue_action(reason="no_budget", comment="Zz"),
    "queue:no_response": queue_action(),
    "queue:touch": queue_action(channel="call", outcome="no_answer"),
    "queue:follow_up": queue_action(at="2030-01-02T10:00"),
    "queue:qualify": queue_action(budget_ok="on"),
    "queue:convert": queue_action(amount="1000", expected_close_on="2030-01-31"),
    "queue:close": queue_action(outcome="lost", reason="Zz"),
    "queue:board": Rule(MANAGERS),
    "queue:reassign": Rule(MANAGERS, method="POST"),
    "queue:notifications": Rule(EVERYONE),
    "queue:bell": Rule(EVERYONE, htmx=True),
    "queue:notifications_read": Rule(EVERYONE, method="POST"),
    # Imports (marketing shares every import; other roles have none)
    "imports:list": Rule(IMPORTERS),
    "imports:new": Rule(IMPORTERS),
    "imports:detail": Rule(IMPORTERS, "job"),
    "imports:configure": Rule(IMPORTERS, "job"),
    "imports:progress": Rule(IMPORTERS, "job", htmx=True),
    "imports:cancel": Rule(IMPORTERS, "job", "POST"),
    "imports:undo": Rule(IMPORTERS, "job", "POST"),
    "imports:errors": Rule(IMPORTERS, "job"),
    "imports:original": Rule(IMPORTERS, "job"),
    "imports:leads": Rule(IMPORTERS, "job"),
    "imports:api_upload": Rule(IMPORTERS, method="POST", ok=frozenset({400})),  # empty form: a clear 400
    "imports:api_status": Rule(IMPORTERS, "job"),
    # The Universal Lead Definition: every role reads it; Marketing and Sales Managers change it
    "uld:index": Rule(EVERYONE),
    "uld:guide": Rule(EVERYONE),
    "uld:diff": Rule(EVERYONE),
    "uld:detail": Rule(EVERYONE, "uld"),
    "uld:draft_new": Rule(EDITORS, method="POST", denied="refused"),
    "uld:edit": Rule(EDITORS, "uld", "POST", denied="refused", data={"min_touches_before_no_response": "9"}),
    "uld:propose": Rule(EDITORS, "uld", "POST", denied="refused"),
    "uld:withdraw": Rule(EDITORS, "uld", "POST", denied="refused"),
    "uld:sign": Rule(EDITORS, "uld", "POST", denied="refused", data={"role": "marketing"}),
    "uld:reason_add": Rule(
        EDITORS, "uld", "POST", denied="refused", data={"code": "zz", "label": "Zz", "route": "disqualify"}
    ),
    "uld:reason_delete": Rule(EDITORS, "reason", "POST", denied="refused"),
    # Scoring
    "scoring:index": Rule(EVERYONE),
    "scoring:runs": Rule(EDITORS),
    "scoring:rules": Rule(EVERYONE, "uld"),
    "scoring:fit_rule_add": Rule(EDITORS, "uld", "POST"),
    "scoring:engagement_rule_add": Rule(EDITORS, "uld", "POST"),
    "scoring:rule_delete": Rule(EDITORS, "rule", "POST"),
    "scoring:rule_points": Rule(EDITORS, "rule", "POST", data={"points": "7"}),
    "scoring:simulate": Rule(EDITORS, "uld"),
    "scoring:lead_score": lead(LEAD_READERS, htmx=True),
    # Reports (each role reads its own slice; see the list tests below)
    "reporting:dashboard": Rule(EVERYONE),
    "reporting:alignment": Rule(EVERYONE),
    "reporting:revenue_gap": Rule(EVERYONE),
    "reporting:review": Rule(REVIEWERS),
    "reporting:review_save": Rule(REVIEWERS, method="POST", data={"month": "2026-01"}),
    # Nurture (marketing): tracks, their steps, results and call tasks; enrolling and taking leads out
    "nurture:list": Rule(MARKETING),
    "nurture:create": Rule(MARKETING),
    "nurture:enrol": Rule(MARKETING, method="POST"),  # no track chosen: back with a message
    "nurture:unenrol": lead(MARKETING, "POST"),
    "nurture:task_done": Rule(MARKETING, "task", "POST", data={"note": "Spoke"}),
    "nurture:step_edit": Rule(MARKETING, "step"),
    "nurture:step_delete": Rule(MARKETING, "step", "POST"),
    "nurture:step_move": Rule(MARKETING, "step", "POST", data={"direction": "up"}),
    "nurture:track": Rule(MARKETING, "track"),
    "nurture:track_settings": Rule(
        MARKETING,
        "track",
        "POST",
        ok=frozenset({302}),
        data={"name": "Accelerate", "audience_grades": "B", "on_complete": "park", "recycle_after_days": "30"},
    ),
    "nurture:track_status": Rule(MARKETING, "track", "POST", ok=frozenset({302}), data={"action": "pause"}),
    "nurture:step_add": Rule(
        MARKETING, "track", "POST", ok=frozenset({302}), data={"wait_days": "1", "channel": "call", "body": "Call"}
    ),
    "nurture:results": Rule(MARKETING, "track"),
    # The two links in every nurture email: public by design, the signed token is the proof. A token that
    # does not verify is a clear 400 for anyone (test_public_email_links_refuse_a_bad_token_without_login).
    "nurture:click": Rule(EVERYONE, "signed", ok=frozenset({400})),
    "nurture:unsubscribe": Rule(EVERYONE, "signed", "POST", ok=frozenset({400})),
    # Integrations → Webhooks (marketing and admins)
    "webhooks:list": Rule(MARKETING),
    "webhooks:new": Rule(MARKETING),
    "webhooks:detail": Rule(MARKETING, "webhook"),
    "webhooks:deactivate": Rule(MARKETING, "webhook", "POST"),
    "webhooks:test": Rule(MARKETING, "webhook", "POST"),
    "webhooks:retry": Rule(MARKETING, "webhook_delivery", "POST"),
    # API tokens: everyone has their own page; a token outside TOKENS_VISIBLE is 404
    "tokens:list": Rule(EVERYONE),
    "tokens:revoke": Rule(EVERYONE, "token", "POST"),
}
# Django's own pages: the login flow (public by design) and the admin site (staff only, tested below).
DJANGO_OWN = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def is_api(route) -> bool:
    """The REST API (api/...) is classified in tests/access_control/test_api.py."""
    return route.route.startswith("api/")


def ours(route) -> bool:
    return not route.route.startswith("admin/") and not is_api(route)


def test_every_route_is_classified():
    names = {r.name for r in routes() if ours(r)}
    unnamed = [r.route for r in routes() if not r.name and ours(r)]
    assert unnamed == [], "name every route so the access-control matrix can classify it"
    assert names - DJANGO_OWN - set(ROUTES) == set(), "new routes: add each to ROUTES with who may use it"
    assert set(ROUTES) - names == set(), "ROUTES names routes that no longer exist"


def test_every_classified_route_takes_the_object_its_rule_names():
    params = {r.name: r.params for r in routes()}
    expected = {"none": (), "lead": ("pk",), "job": ("pk",), "uld": ("pk",)}
    expected |= {"rule": ("pk", "kind", "rule_pk"), "reason": ("pk", "reason_pk")}
    expected |= {"track": ("slug",), "step": ("pk",), "task": ("pk",), "webhook": ("pk",), "token": ("pk",)}
    expected |= {"webhook_delivery": ("pk", "delivery_pk"), "signed": ("token",)}
    for name, rule in ROUTES.items():
        assert params[name] == expected[rule.obj], name


# --- The world: the named users, a lead for each owner, an import, a draft definition -----------------


@dataclass
class World:
    users: dict
    leads: dict
    job: ImportJob
    draft: ULDVersion
    fit_rule: FitRule
    reason: RejectionReason
    track: Track
    task: Delivery  # an open call task of a lead enrolled in the track
    endpoint: WebhookEndpoint
    webhook_delivery: WebhookDelivery  # one that gave up, so it may be retried
    tokens: dict


@pytest.fixture
def world(alice, bob, charlie, manager, marketer, executive, admin_user, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    users = {
        "alice": alice,
        "bob": bob,
        "charlie": charlie,
        "manager": manager,
        "marketer": marketer,
        "executive": executive,
        "admin": admin_user,
    }
    owners = {"alice": alice, "bob": bob, "charlie": charlie, "maria": manager, "pool": None}
    now = timezone.now()
    leads = {
        key: LeadFactory(
            last_name=MARKERS[key],
            company_name=f"{MARKERS[key]} Inc",
            email=f"{key}@{MARKERS[key].lower()}.example",
            owner=owner,
            stage=Stage.MQL,
            grade="A",
            score=80,
            assigned_at=now if owner else None,
            first_touch_due_at=now if owner else None,
        )
        for key, owner in owners.items()
    }
    csv = b"Email,First Name,Last Name\r\nnew@example.com,New,Person\r\nnot-an-email,Bad,Row\r\n"
    job = import_job_create(by=marketer, upload=SimpleUploadedFile("list.csv", csv), campaign=CampaignFactory())
    assert uld_active() is not None, "the migration seeds the default definition"
    draft = uld_draft_create(by=marketer)
    # Every lead's grade changes under the draft, so the simulation has examples to (not) show.
    fit_rule = scoring_services.fit_rule_create(
        version=draft, by=marketer, label="Everyone", field="email", operator="is_set", value=None, points=100
    )
    reason = draft.rejection_reasons.first()
    # A track (email, call, email) with a lead at its call step: an open task.
    track = three_step_track(by=marketer)
    enrolled = nurture_lead(email=None, phone="+1 555 0101")
    enrolment_create(lead=enrolled, track=track)
    Enrolment.objects.filter(lead=enrolled).update(next_step=Step.objects.get(track=track, position=2))
    enrolments_advance_due()
    task = Delivery.objects.get(lead=enrolled, status=Delivery.Status.TASK_OPEN)
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hook", created_by=admin_user)
    webhook_delivery = webhook_test_send(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=webhook_delivery.pk).update(status=DeliveryStatus.FAILED)
    tokens = {who: APITokenFactory(user=user, name=f"Zqtok{who}") for who, user in users.items()}
    tokens["integration"] = api_token_create(
        user=marketer, by=marketer, name="Zqtokintegration", scopes=["events:write"], kind=APITokenKind.INTEGRATION
    ).token
    return World(
        users=users,
        leads=leads,
        job=job,
        draft=draft,
        fit_rule=fit_rule,
        reason=reason,
        track=track,
        task=task,
        endpoint=endpoint,
        webhook_delivery=webhook_delivery,
        tokens=tokens,
    )


def client_for(world: World, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def url_for(name: str, rule: Rule, world: World, key: str | None = None) -> str:
    args = {
        "none": [],
        "lead": [world.leads[key].pk] if rule.obj == "lead" else [],
        "token": [world.tokens[key].pk] if rule.obj == "token" else [],
        "track": [world.track.slug],
        "step": [world.track.steps.get(position=2).pk],
        "task": [world.task.pk],
        "webhook": [world.endpoint.pk],
        "webhook_delivery": [world.endpoint.pk, world.webhook_delivery.pk],
        "signed": ["not-a-signed-token"],
        "job": [world.job.pk],
        "uld": [world.draft.pk],
        "rule": [world.draft.pk, "fit", world.fit_rule.pk],
        "reason": [world.draft.pk, world.reason.pk if world.reason else 1],
    }[rule.obj]
    return reverse(name, args=args)


def fetch(client: Client, rule: Rule, url: str):
    """Make the request in a savepoint that is rolled back, so one user's action never changes the next case."""
    headers = {"HTTP_HX_REQUEST": "true"} if rule.htmx else {}
    with transaction.atomic():
        send = client.post if rule.method == "POST" else client.get
        response = send(url, rule.data, **headers)
        transaction.set_rollback(True)
    return response


def uld_fingerprint() -> list:
    return [
        list(model.objects.order_by("pk").values())
        for model in (ULDVersion, ULDSignOff, RejectionReason, FitRule, EngagementRule)
    ]


# Objects with a scope: for each, every key is tried as every user, and those outside the user's set are 404.
SCOPED = {"lead": (LEAD_KEYS, VISIBLE), "token": (TOKEN_KEYS, TOKENS_VISIBLE)}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_by_role_and_scope(name, world):
    """Outside the role: turned away. A lead outside the scope: 404. Otherwise the page works."""
    rule = ROUTES[name]
    wrong = []
    for who in USERS:
        client = client_for(world, who)
        keys, visible = SCOPED.get(rule.obj, ((None,), {}))
        for key in keys:
            url = url_for(name, rule, world, key)
            before = uld_fingerprint() if rule.denied == "refused" else None
            response = fetch(client, rule, url)
            if who not in rule.gate:
                if rule.denied == "refused":
                    good = response.status_code in (302, 403) and uld_fingerprint() == before
                else:
                    good = response.status_code == 403
                expected = f"denied ({rule.denied})"
            elif rule.obj in SCOPED and key not in visible[who]:
                good, expected = response.status_code == 404, "404"
            else:
                good, expected = response.status_code in rule.ok, f"one of {sorted(rule.ok)}"
            if not good:
                wrong.append(f"{who} {rule.method} {url}: {response.status_code}, expected {expected}")
    assert wrong == []


def test_refused_uld_changes_would_have_worked_for_an_editor(world):
    """The data the denial cases send is valid: the same request from Marketing changes something."""
    client = client_for(world, "marketer")
    for name in ("uld:reason_add", "uld:draft_new"):
        rule = ROUTES[name]
        before = uld_fingerprint()
        client.post(url_for(name, rule, world), rule.data)
        assert uld_fingerprint() != before, name


def test_an_object_that_does_not_exist_is_404_for_those_who_may_use_the_page(world):
    for who, name in [("marketer", "imports:detail"), ("marketer", "imports:original"), ("marketer", "uld:detail")]:
        assert client_for(world, who).get(reverse(name, args=[999_999])).status_code == 404, name
    for who in ("alice", "manager", "marketer"):
        assert client_for(world, who).get(reverse("leads:detail", args=[999_999])).status_code == 404


def test_the_admin_site_is_for_staff_only(world):
    for who in USERS:
        response = client_for(world, who).get(reverse("admin:leads_lead_changelist"))
        if who == "admin":
            assert response.status_code == 200
        else:
            assert response.status_code == 302 and reverse("admin:login") in response.url, who


def test_a_manager_cannot_reassign_another_teams_lead(world):
    charlie_lead = world.leads["charlie"]
    response = client_for(world, "manager").post(
        reverse("queue:reassign"), {"lead_ids": [charlie_lead.pk], "to_user": world.users["alice"].pk, "reason": "x"}
    )
    assert response.status_code == 302
    charlie_lead.refresh_from_db()
    assert charlie_lead.owner == world.users["charlie"]


def test_a_rep_cannot_move_someone_elses_lead_by_posting_its_id(world):
    bobs = world.leads["bob"]
    response = client_for(world, "alice").post(reverse("queue:accept", args=[bobs.pk]), {})
    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.stage == Stage.MQL


# --- Lists and downloads never leak -------------------------------------------------------------------


def lists_for(world: World) -> list[tuple[str, frozenset[str], dict]]:
    """(URL, who may open it, extra request headers) of every page or download that lists leads."""
    charlie = world.users["charlie"].pk
    job = world.job.pk
    htmx = {"HTTP_HX_REQUEST": "true"}
    return [
        (reverse("leads:list"), LEAD_READERS, {}),
        (reverse("leads:list") + "?q=Zq", LEAD_READERS, {}),
        (reverse("leads:list") + "?unassigned=1", LEAD_READERS, {}),
        # Another team's rep is not a filter a rep or East's manager may choose: 400, the filter named.
        (reverse("leads:list") + f"?owner={charlie}", LEAD_READERS, {}),
        (reverse("leads:list") + "?after=99999999", LEAD_READERS, htmx),  # the next-page rows (htmx)
        (reverse("queue:home"), QUEUE_USERS, {}),
        (reverse("queue:home") + "?q=Zq", QUEUE_USERS, {}),
        (reverse("queue:export"), QUEUE_USERS, {}),
        (reverse("queue:board"), MANAGERS, {}),
        (reverse("queue:notifications"), EVERYONE, {}),
        (reverse("imports:leads", args=[job]), IMPORTERS, {}),
        (reverse("imports:errors", args=[job]), IMPORTERS, {}),
        (reverse("scoring:simulate", args=[world.draft.pk]), EDITORS, {}),
        (reverse("uld:index"), EVERYONE, {}),
        (reverse("reporting:dashboard"), EVERYONE, {}),
        (reverse("reporting:alignment"), EVERYONE, {}),
        (reverse("reporting:revenue_gap"), EVERYONE, {}),
        (reverse("reporting:review"), REVIEWERS, {}),
        # Nurture names leads (tracks waiting, parked leads, results, open call tasks); webhooks log payloads.
        (reverse("nurture:list"), MARKETING, {}),
        (reverse("nurture:track", args=[world.track.slug]), MARKETING, {}),
        (reverse("nurture:results", args=[world.track.slug]), MARKETING, {}),
        (reverse("webhooks:list"), MARKETING, {}),
        (reverse("webhooks:detail", args=[world.endpoint.pk]), MARKETING, {}),
        (reverse("webhooks:detail", args=[world.endpoint.pk]), MARKETING, htmx),  # the delivery log (htmx)
        (reverse("tokens:list"), EVERYONE, {}),
    ]


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace").lower()


def report_exports(client: Client, url: str, response) -> list[tuple[str, str]]:
    """Every table of a report page, downloaded as CSV."""
    tables = (response.context or {}).get("tables") or []
    joiner = "&" if "?" in url else "?"
    return [(f"{url}{joiner}export={t.id}", body(client.get(f"{url}{joiner}export={t.id}"))) for t in tables]


@pytest.mark.parametrize("who", USERS)
def test_lists_and_exports_show_only_leads_in_scope(who, world):
    client = client_for(world, who)
    hidden = {MARKERS[key].lower() for key in LEAD_KEYS if key not in VISIBLE[who]}
    leaks, opened = [], 0
    for url, gate, headers in lists_for(world):
        if who not in gate:
            continue
        response = client.get(url, **headers)
        assert response.status_code == 200 or (response.status_code == 400 and "owner=" in url), url
        opened += 1
        pages = [(url, body(response)), *report_exports(client, url, response)]
        leaks += [f"{page_url}: {marker}" for page_url, text in pages for marker in hidden if marker in text]
    assert leaks == []
    assert opened > 0


@pytest.mark.parametrize("who", ["alice", "manager", "marketer"])
def test_the_lead_list_and_queue_export_do_show_the_leads_in_scope(who, world):
    """The other half of the leak test: the markers are really there to be found when allowed."""
    client = client_for(world, who)
    lead_list = body(client.get(reverse("leads:list")))
    assert all(MARKERS[key].lower() in lead_list for key in VISIBLE[who])
    if who in QUEUE_USERS:
        own = "maria" if who == "manager" else who
        assert MARKERS[own].lower() in body(client.get(reverse("queue:export")))


def test_the_simulation_names_other_teams_leads_only_to_those_who_see_them(world):
    manager_page = body(client_for(world, "manager").get(reverse("scoring:simulate", args=[world.draft.pk])))
    marketer_page = body(client_for(world, "marketer").get(reverse("scoring:simulate", args=[world.draft.pk])))
    assert MARKERS["charlie"].lower() in marketer_page
    assert MARKERS["charlie"].lower() not in manager_page
    assert MARKERS["alice"].lower() in manager_page


# --- The routes that came with nurture, webhooks and API tokens -----------------------------------------


def test_nurture_and_webhook_users_see_every_lead(world):
    """Nurture and webhook pages use no lead scope: only right because everyone let in sees every lead."""
    from leads.models import Lead
    from leads.selectors import lead_scope

    for who in MARKETING:
        assert lead_scope(user=world.users[who]).count() == Lead.objects.count(), who


@pytest.mark.parametrize("who", USERS)
def test_the_tokens_page_never_shows_another_users_token(who, world):
    page = body(client_for(world, who).get(reverse("tokens:list")))
    for key, token in world.tokens.items():
        shown = f"zqtok{key}" in page or token.prefix.lower() in page
        assert shown == (key in TOKENS_VISIBLE[who]), f"{who} sees {key}'s token: {shown}"


def test_revoking_another_users_token_is_404_and_leaves_it_working(world):
    bobs = world.tokens["bob"]
    for who in ("alice", "charlie", "manager", "marketer", "executive"):
        response = client_for(world, who).post(reverse("tokens:revoke", args=[bobs.pk]))
        assert response.status_code == 404, who
    bobs.refresh_from_db()
    assert bobs.revoked_at is None
    client_for(world, "bob").post(reverse("tokens:revoke", args=[bobs.pk]))
    bobs.refresh_from_db()
    assert bobs.revoked_at is not None


def test_a_token_id_that_does_not_exist_or_overflows_is_404(world):
    client = client_for(world, "admin")
    for pk in (999_999_999, 2**63):
        assert client.post(f"/tokens/{pk}/revoke/").status_code == 404, pk
    assert APIToken.objects.filter(revoked_at__isnull=False).count() == 0


def test_a_nurture_task_and_a_webhook_retry_are_refused_to_other_roles_and_change_nothing(world):
    for who in sorted(EVERYONE - MARKETING):
        client = client_for(world, who)
        assert client.post(reverse("nurture:task_done", args=[world.task.pk])).status_code == 403, who
        retry = reverse("webhooks:retry", args=[world.endpoint.pk, world.webhook_delivery.pk])
        assert client.post(retry).status_code == 403, who
    world.task.refresh_from_db()
    assert world.task.status == Delivery.Status.TASK_OPEN
    assert WebhookDelivery.objects.get(pk=world.webhook_delivery.pk).status == DeliveryStatus.FAILED


def test_a_webhook_delivery_is_only_reached_through_its_own_endpoint(world):
    other = WebhookEndpoint.objects.create(name="Other", url="https://other.example/hook")
    response = client_for(world, "marketer").post(reverse("webhooks:retry", args=[other.pk, world.webhook_delivery.pk]))
    assert response.status_code == 404
    assert WebhookDelivery.objects.get(pk=world.webhook_delivery.pk).status == DeliveryStatus.FAILED


@pytest.mark.parametrize("pk", [999_999, 2**63])  # the second is past PostgreSQL's bigint: still a 404, no 500
def test_nurture_and_webhook_objects_that_do_not_exist_are_404(pk, world):
    client = client_for(world, "marketer")
    gets = ["nurture:step_edit", "webhooks:detail"]
    posts = ["nurture:task_done", "nurture:step_delete", "nurture:step_move", "nurture:unenrol"]
    posts += ["webhooks:deactivate", "webhooks:test"]
    wrong = [f"GET {n}" for n in gets if client.get(reverse(n, args=[pk])).status_code != 404]
    wrong += [f"POST {n}" for n in posts if client.post(reverse(n, args=[pk])).status_code != 404]
    retry = reverse("webhooks:retry", args=[world.endpoint.pk, pk])
    wrong += ["POST webhooks:retry"] if client.post(retry).status_code != 404 else []
    for name in ("nurture:track", "nurture:results"):
        wrong += [f"GET {name}"] if client.get(reverse(name, args=["no-such-track"])).status_code != 404 else []
    assert wrong == []


@pytest.mark.parametrize("name", ["nurture:click", "nurture:unsubscribe"])
def test_public_email_links_refuse_a_bad_token_without_login(name, world):
    """No login needed (the lead has no account), and a token that does not verify is a 400, never a 500."""
    client = Client()
    for token in ("not-a-token", "x" * 2000, "a:b:c", "%00", "..", "\u00e9t\u00e9"):
        url = reverse(name, args=[token])
        assert client.get(url).status_code == 400, url
        if name == "nurture:unsubscribe":
            assert client.post(url).status_code == 400, url


# Reached from an email by a lead who has no account: the signed token in the URL is the only credential.
PUBLIC = {"nurture:click", "nurture:unsubscribe"}


def test_only_the_email_links_are_open_without_login():
    """Django REST framework views are left out: they authenticate each request themselves (401 below)."""
    open_views = {
        r.name for r in routes() if ours(r) and not r.is_drf and getattr(r.callback, "login_required", True) is False
    }
    assert open_views - DJANGO_OWN == PUBLIC


def test_anonymous_is_sent_to_login_from_every_other_route_and_nothing_changes(world):
    client = Client()
    before = uld_fingerprint()
    tokens_before = list(APIToken.objects.order_by("pk").values_list("revoked_at", flat=True))
    drf = {r.name for r in routes() if r.is_drf}
    wrong = []
    for name, rule in ROUTES.items():
        if name in PUBLIC:
            continue
        key = {"lead": "pool", "token": "alice"}.get(rule.obj)
        url = url_for(name, rule, world, key)
        response = (client.post if rule.method == "POST" else client.get)(url, rule.data)
        if name in drf:
            if response.status_code != 401:
                wrong.append(f"{rule.method} {url}: {response.status_code}, expected 401")
        elif response.status_code != 302 or not response.url.startswith(reverse("login")):
            wrong.append(f"{rule.method} {url}: {response.status_code}")
    assert wrong == []
    assert uld_fingerprint() == before
    assert list(APIToken.objects.order_by("pk").values_list("revoked_at", flat=True)) == tokens_before
    world.task.refresh_from_db()
    assert world.task.status == Delivery.Status.TASK_OPEN
