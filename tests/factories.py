"""factory_boy factories. Leads are created through the lifecycle service, as the app creates them."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from leads.models import Activity, APIToken, APITokenKind, Campaign, Lead, Profile, Team
from leads.services.api_tokens import api_token_create
from leads.services.lifecycle import lead_create

DEMO_PASSWORD = "correct-horse-battery"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(DEMO_PASSWORD)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: a transactional test flushes the groups the data migration made.
            obj.groups.add(Group.objects.get_or_create(name=extracted)[0])

    @factory.post_generation
    def team(obj, create, extracted, **kwargs):
        if create:
            Profile.objects.update_or_create(user=obj, defaults={"team": extracted, **kwargs})


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    cost = 1000


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@acme{n % 7}.example")
    company_name = factory.Faker("company")
    title = factory.Faker("job")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return lead_create(**kwargs)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    kind = "web_visit"
    source = "test"


class APITokenFactory(factory.django.DjangoModelFactory):
    """An API token issued by the service; the plain token is on `.secret` (as the page shows it once)."""

    class Meta:
        model = APIToken

    name = factory.Sequence(lambda n: f"token {n}")
    user = factory.SubFactory(UserFactory)
    kind = APITokenKind.PERSONAL
    scopes = factory.LazyFunction(lambda: ["*"])

    @classmethod
    def _create(cls, model_class, *args, user, name, kind, scopes, **kwargs):
        issued = api_token_create(user=user, by=user, name=name, scopes=scopes, kind=kind)
        issued.token.secret = issued.secret
        return issued.token
