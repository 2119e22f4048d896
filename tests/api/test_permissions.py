"""TokenHasScope: tokens need the declared scopes; undeclared views refuse tokens; sessions are not scoped."""

from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory

from leads.api.permissions import TokenHasScope
from tests.factories import APITokenFactory

pytestmark = pytest.mark.django_db


class View:
    def __init__(self, scopes=None):
        if scopes is not None:
            self.required_scopes = scopes


def request_with(method: str, token):
    request = getattr(APIRequestFactory(), method.lower())("/")
    request.auth = token
    return request


@pytest.mark.parametrize(
    "scopes, held, method, allowed",
    [
        ({"leads:read"}, ["leads:read"], "GET", True),
        ({"leads:read"}, ["events:write"], "GET", False),
        ({"GET": {"leads:read"}, "POST": {"leads:write"}}, ["leads:read"], "POST", False),
        ({"GET": {"leads:read"}, "POST": {"leads:write"}}, ["leads:read"], "HEAD", True),
        ({"GET": {"leads:read"}}, ["leads:read"], "DELETE", False),
        ({"leads:write"}, ["*"], "POST", True),
        (None, ["*"], "GET", False),
    ],
)
def test_token_scopes(alice, scopes, held, method, allowed):
    token = APITokenFactory(user=alice, scopes=held)
    assert TokenHasScope().has_permission(request_with(method, token), View(scopes)) is allowed


def test_a_session_is_not_limited_by_scopes(alice):
    assert TokenHasScope().has_permission(request_with("POST", None), View(None)) is True
