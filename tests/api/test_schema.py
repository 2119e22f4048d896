"""The OpenAPI schema validates without warnings, and the docs page works offline (sidecar assets)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generation_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/leads/{id}/accept/:" in text and "tokenAuth" in text
    assert "/imports/api/" not in text  # documented once, under /api/


def test_schema_needs_authentication(client):
    assert client.get("/api/schema/").status_code in (401, 403)


def test_any_token_may_read_the_schema(token_client, marketer):
    response = token_client(marketer, ["events:write"], kind="integration").get("/api/schema/?format=json")
    assert response.status_code == 200 and response.json()["info"]["title"] == "leadops API"


def test_docs_page_loads_its_assets_from_our_static_files(client, alice):
    client.force_login(alice)
    page = client.get("/api/docs/").content.decode()
    bundle = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert f'src="/static/{bundle}"' in page and "cdn" not in page.lower()
    assert finders.find(bundle) is not None
