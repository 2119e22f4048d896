"""Building tracks: the track, its steps in order, activation, and the checks that refuse bad input."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils.text import slugify

from leadops.errors import ApplicationError
from leads.roles import Role, has_role, is_admin
from nurture.content import MERGE_FIELDS, unknown_fields
from nurture.models import Channel, Step, Track

TRACK_FIELDS = (
    "name",
    "slug",
    "description",
    "owner",
    "audience_grades",
    "audience_reasons",
    "is_default_return",
    "on_complete",
    "recycle_track",
    "recycle_after_days",
)
# Paths under /nurture/ that a track's slug would shadow.
RESERVED_SLUGS = frozenset({"new", "enrol", "c", "u", "leads", "tasks", "steps"})
STEP_FIELDS = ("wait_days", "channel", "subject", "body", "content_url", "skip_if")


def require_marketer(user) -> None:
    if not (is_admin(user) or has_role(user, Role.MARKETING)):
        raise ApplicationError("Only marketing builds and runs nurture tracks.", code="forbidden")


def _recycle_check(track: Track) -> None:
    """Refuse a recycle chain that comes back to where it started, naming the loop."""
    if track.on_complete != Track.OnComplete.RECYCLE:
        return
    if track.recycle_track is None:
        raise ApplicationError("Choose the track to recycle into, or park leads that complete this track.")
    chain = [track.name]
    seen = {track.pk}
    target = track.recycle_track
    while target is not None:
        chain.append(target.name)
        if target.pk in seen or target.pk == track.pk:
            raise ApplicationError("Recycling makes a loop: " + " → ".join(chain) + ". Park leads somewhere in it.")
        seen.add(target.pk)
        target = target.recycle_track if target.on_complete == Track.OnComplete.RECYCLE else None


def _track_check(track: Track) -> None:
    if not track.name.strip():
        raise ApplicationError("Give the track a name.")
    track.slug = slugify(track.slug or track.name)[:60]
    if not track.slug:
        raise ApplicationError("Give the track a slug of letters, digits and hyphens.")
    if track.slug in RESERVED_SLUGS:
        raise ApplicationError(f"The slug {track.slug!r} is reserved; choose another.")
    bad = [g for g in track.audience_grades if g not in ("A", "B", "C", "D")]
    if bad:
        raise ApplicationError(f"Unknown grade(s) in the audience: {', '.join(bad)}. Grades are A to D.")
    if track.on_complete == Track.OnComplete.PARK:
        track.recycle_track = None
    _recycle_check(track)


@transaction.atomic
def track_create(*, by, **fields: Any) -> Track:
    """Create a draft track; add its steps next, then activate it."""
    require_marketer(by)
    track = Track(**{k: v for k, v in fields.items() if k in TRACK_FIELDS})
    if track.owner is None:
        track.owner = by
    _track_check(track)
    if Track.objects.filter(slug=track.slug).exists():
        raise ApplicationError(f"A track with the slug {track.slug!r} already exists.")
    _default_clear(track)
    track.save()
    return track


def _default_clear(track: Track) -> None:
    # One default return track: choosing a new one moves the flag rather than refusing.
    if track.is_default_return:
        Track.objects.filter(is_default_return=True).exclude(pk=track.pk).update(is_default_return=False)


@transaction.atomic
def track_update(*, track: Track, by, **fields: Any) -> Track:
    require_marketer(by)
    for key, value in fields.items():
        if key in TRACK_FIELDS and key != "slug":
            setattr(track, key, value)
    _track_check(track)
    _default_clear(track)
    try:
        track.save()
    except IntegrityError as exc:
        raise ApplicationError("These track settings conflict with another track.") from exc
    return track


def _step_check(step: Step) -> None:
    if step.channel not in Channel.values:
        raise ApplicationError(f"Unknown channel {step.channel!r}.")
    if step.channel == Channel.EMAIL:
        step.subject = (step.subject or "").strip()
        if not step.subject:
            raise ApplicationError("An email step needs a subject.")
        if not (step.body or "").strip():
            raise ApplicationError("An email step needs a body.")
    for label, text in (("subject", step.subject), ("body", step.body)):
        unknown = unknown_fields(text)
        if unknown:
            known = ", ".join(f"{{{{ {name} }}}}" for name in MERGE_FIELDS)
            names = ", ".join(f"{{{{ {name} }}}}" for name in unknown)
            raise ApplicationError(f"Unknown merge field {names} in the {label}. Known fields: {known}.")
    if "content_link" in (step.body or "") and not step.content_url:
        raise ApplicationError("The body uses {{ content_link }}: give the step a content link.")


@transaction.atomic
def step_add(*, track: Track, by, **fields: Any) -> Step:
    """Append a step to the track."""
    require_marketer(by)
    Track.objects.select_for_update().filter(pk=track.pk).first()
    last = track.steps.aggregate(m=Max("position"))["m"] or 0
    step = Step(track=track, position=last + 1, **{k: v for k, v in fields.items() if k in STEP_FIELDS})
    _step_check(step)
    step.save()
    return step


@transaction.atomic
def step_update(*, step: Step, by, **fields: Any) -> Step:
    require_marketer(by)
    for key, value in fields.items():
        if key in STEP_FIELDS:
            setattr(step, key, value)
    _step_check(step)
    step.save()
    return step


def _renumber(track: Track, ordered_ids: list[int]) -> None:
    # Two passes so the unique (track, position) never sees two steps at one position mid-way.
    Step.objects.filter(track=track).update(position=F("position") + 10_000)
    for position, step_id in enumerate(ordered_ids, start=1):
        Step.objects.filter(pk=step_id).update(position=position)


@transaction.atomic
def step_delete(*, step: Step, by) -> None:
    """Delete a step; enrolments waiting on it move to the step after it."""
    from nurture.models import Enrolment

    require_marketer(by)
    track = Track.objects.select_for_update().get(pk=step.track_id)
    if track.status == Track.Status.ACTIVE and track.steps.count() == 1:
        raise ApplicationError("An active track needs at least one step; pause it before deleting its last step.")
    following = track.steps.filter(position__gt=step.position).order_by("position").first()
    Enrolment.objects.filter(next_step=step, status=Enrolment.Status.ACTIVE).update(next_step=following)
    step.delete()
    _renumber(track, list(track.steps.order_by("position").values_list("pk", flat=True)))


@transaction.atomic
def step_move(*, step: Step, by, direction: str) -> None:
    """Move a step one place up or down."""
    require_marketer(by)
    track = Track.objects.select_for_update().get(pk=step.track_id)
    ids = list(track.steps.order_by("position").values_list("pk", flat=True))
    i = ids.index(step.pk)
    j = i - 1 if direction == "up" else i + 1
    if j < 0 or j >= len(ids):
        return
    ids[i], ids[j] = ids[j], ids[i]
    _renumber(track, ids)


@transaction.atomic
def track_activate(*, track: Track, by) -> Track:
    """Make the track live: it takes enrolments and its due steps go out. Refuses a track with no steps."""
    require_marketer(by)
    track = Track.objects.select_for_update().get(pk=track.pk)
    if not track.steps.exists():
        raise ApplicationError(f"The track {track.name!r} has no steps: add at least one before activating it.")
    for step in track.steps.all():
        _step_check(step)
    _recycle_check(track)
    track.status = Track.Status.ACTIVE
    track.save(update_fields=["status"])
    return track


@transaction.atomic
def track_pause(*, track: Track, by) -> Track:
    """Stop sending from the track; its enrolments wait where they are until it is active again."""
    require_marketer(by)
    Track.objects.filter(pk=track.pk).update(status=Track.Status.PAUSED)
    track.status = Track.Status.PAUSED
    return track
