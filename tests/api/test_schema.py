"""The OpenAPI schema validates without warnings and against the OpenAPI spec, a client generated from it
lists and reads leads, and the docs page works offline (sidecar assets)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import urllib.request

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.factories import APITokenFactory, LeadFactory

pytestmark = pytest.mark.django_db
CLIENT_PACKAGE = "leadops_client"


def test_schema_generation_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/leads/{id}/accept/:" in text and "tokenAuth" in text
    assert "/imports/api/" not in text  # documented once, under /api/


def test_schema_passes_the_openapi_spec_validator(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    spec = yaml.safe_load(out.read_text())
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises, naming the first error, if the document breaks the OpenAPI specification


@pytest.fixture
def generated_client(tmp_path, monkeypatch):
    """Import the client generated into tmp_path; forget its modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda module: importlib.import_module(f"{CLIENT_PACKAGE}.{module}")
    for name in [name for name in sys.modules if name.split(".")[0] == CLIENT_PACKAGE]:
        del sys.modules[name]


@pytest.mark.django_db(transaction=True)
def test_a_client_generated_from_the_schema_lists_and_reads_leads(tmp_path, live_server, marketer, generated_client):
    lead = LeadFactory(email="ada@example.com", company_name="Acme")
    token = APITokenFactory(user=marketer, scopes=["leads:read"])
    url, auth = f"{live_server.url}/api/schema/?format=json", {"Authorization": f"Bearer {token.secret}"}
    request = urllib.request.Request(url, headers=auth)  # noqa: S310 (the test's own live server)
    with urllib.request.urlopen(request) as response:  # noqa: S310
        (tmp_path / "schema.json").write_bytes(response.read())
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")  # no formatter run on the generated code
    generate = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    subprocess.run(
        [*generate, "--path", str(tmp_path / "schema.json"), "--config", str(tmp_path / "config.yaml"),
         "--output-path", str(tmp_path / CLIENT_PACKAGE), "--fail-on-warning"],
        check=True, capture_output=True,
    )  # fmt: skip

    client = generated_client("client").AuthenticatedClient(base_url=live_server.url, token=token.secret)
    listed = generated_client("api.leads.leads_list").sync(client=client)
    assert [row.email for row in listed.results] == ["ada@example.com"]
    read = generated_client("api.leads.leads_retrieve").sync(id=lead.pk, client=client)
    assert (read.id, read.company_name, read.stage.value) == (lead.pk, "Acme", lead.stage)


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
