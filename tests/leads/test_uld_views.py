from __future__ import annotations

from django.urls import reverse

from leads.models import ULDStatus, ULDVersion
from leads.selectors_uld import uld_active


def test_every_role_reads_the_definition_and_the_guide(client, alice, executive):
    for user in (alice, executive):
        client.force_login(user)
        assert client.get(reverse("uld:index")).status_code == 200
        guide = client.get(reverse("uld:guide"))
        assert guide.status_code == 200
        text = guide.content.decode()
        assert "What is a lead, and how to follow up on one" in text
        assert "at least <strong>8 touches</strong>" in text


def test_reps_see_no_draft_button_and_cannot_draft(client, alice):
    client.force_login(alice)
    assert b"Start a new draft" not in client.get(reverse("uld:index")).content
    response = client.post(reverse("uld:draft_new"), follow=True)
    assert "Only Marketing and Sales Managers" in response.content.decode()
    assert ULDVersion.objects.count() == 1


def test_draft_propose_and_sign_through_the_pages(client, marketer, manager, django_capture_on_commit_callbacks):
    client.force_login(marketer)
    response = client.post(reverse("uld:draft_new"))
    draft = ULDVersion.objects.get(status=ULDStatus.DRAFT)
    assert response.url == draft.get_absolute_url()
    page = client.get(draft.get_absolute_url())
    form = page.context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data["required_facts"] = list(data["required_facts"])
    data["grade_a_min"] = 75
    response = client.post(reverse("uld:edit", args=[draft.pk]), data, follow=True)
    assert "Draft saved." in response.content.decode()
    draft.refresh_from_db()
    assert draft.grade_a_min == 75
    client.post(reverse("uld:propose", args=[draft.pk]))
    client.post(reverse("uld:sign", args=[draft.pk]), {"role": "marketing"})
    client.force_login(manager)
    page = client.get(draft.get_absolute_url())
    assert b"Sign for Sales" in page.content
    with django_capture_on_commit_callbacks():
        client.post(reverse("uld:sign", args=[draft.pk]), {"role": "sales_manager"})
    assert uld_active() == draft


def test_overlapping_bands_are_explained_on_the_draft(client, marketer):
    client.force_login(marketer)
    client.post(reverse("uld:draft_new"))
    draft = ULDVersion.objects.get(status=ULDStatus.DRAFT)
    ULDVersion.objects.filter(pk=draft.pk).update(grade_b_min=90)
    response = client.post(reverse("uld:propose", args=[draft.pk]), follow=True)
    assert "grade bands overlap" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ULDStatus.DRAFT


def test_diff_page_lists_changes(client, marketer):
    client.force_login(marketer)
    client.post(reverse("uld:draft_new"))
    draft = ULDVersion.objects.get(status=ULDStatus.DRAFT)
    ULDVersion.objects.filter(pk=draft.pk).update(min_touches_before_no_response=6)
    response = client.get(reverse("uld:diff"), {"old": uld_active().pk, "new": draft.pk})
    assert [r.item for r in response.context["rows"]] == ["Touches before “no response”"]


def test_navigation_shows_definition_to_everyone_and_rules_to_editors(client, alice, marketer):
    client.force_login(alice)
    page = client.get(reverse("uld:index")).content.decode()
    assert "Lead definition" in page and "Scoring rules" not in page
    client.force_login(marketer)
    assert "Scoring rules" in client.get(reverse("uld:index")).content.decode()


def test_bad_input_on_the_draft_pages_is_a_message_not_an_error(client, marketer):
    client.force_login(marketer)
    assert client.post(reverse("uld:draft_new"), {"based_on": "abc"}).status_code == 302
    draft = ULDVersion.objects.get(status=ULDStatus.DRAFT)
    response = client.post(reverse("uld:edit", args=[draft.pk]), {"grade_a_min": "lots"}, follow=True)
    assert response.status_code == 200
    assert "Grade A from score: Enter a whole number." in response.content.decode()
    response = client.post(reverse("uld:sign", args=[draft.pk]), {"role": "pope"}, follow=True)
    assert "is not proposed" in response.content.decode()
