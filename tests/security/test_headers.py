"""Security headers on every page, cookie flags, and production settings that pass `check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve, reverse

from tests.factories import DEMO_PASSWORD

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


def test_pages_send_a_strict_content_security_policy(client, alice):
    client.force_login(alice)
    directives = csp_directives(client.get(reverse("leads:list")))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"], "no inline or eval'd script may run"
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]


def test_only_the_api_docs_page_allows_inline_styles_and_never_inline_script(client, marketer):
    """Swagger UI writes <style> elements; the exception is that one view's, not the site's."""
    client.force_login(marketer)
    docs = csp_directives(client.get(reverse("api:docs")))
    assert docs["style-src"] == ["'self'", "'unsafe-inline'"]
    assert docs["script-src"] == ["'self'"]
    for name in ("nurture:list", "webhooks:list", "tokens:list", "api:schema"):
        response = client.get(reverse(name))
        assert csp_directives(response)["style-src"] == ["'self'"], name


def test_the_login_page_sends_the_other_security_headers(client):
    response = client.get(reverse("login"))
    assert "Content-Security-Policy" in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_session_and_csrf_cookies_are_http_only_and_same_site(client, alice):
    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "alice", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    for name in ("csrftoken", "sessionid"):
        cookie = response.cookies[name]
        assert cookie["httponly"] and cookie["samesite"] == "Lax", name


def test_templates_carry_no_inline_script_style_or_event_handler():
    """The CSP would block them in the browser; catch them here, before a page silently breaks."""
    import re

    offenders = []
    patterns = [
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
        re.compile(r"\sstyle=\"", re.I),
        re.compile(r"\son[a-z]+=\"", re.I),
        re.compile(r"\shx-on[:-]", re.I),
        re.compile(r"<style", re.I),
        re.compile(r"javascript:", re.I),
    ]
    for path in sorted((REPO / "templates").rglob("*.html")):
        text = path.read_text()
        offenders += [f"{path.relative_to(REPO)}: {p.pattern}" for p in patterns if p.search(text)]
    assert offenders == []


def test_our_scripts_neither_eval_code_nor_write_inline_styles_or_handlers():
    """static/js runs under script-src 'self' without 'unsafe-eval'; markup it writes obeys the CSP too."""
    forbidden = ["eval(", "new Function", 'setTimeout("', "innerHTML", 'setAttribute("style', 'setAttribute("on']
    offenders = [
        f"{path.relative_to(REPO)}: {needle}"
        for path in sorted((REPO / "static" / "js").rglob("*.js"))
        for needle in forbidden
        if needle in path.read_text()
    ]
    assert offenders == []


def test_media_is_never_served_by_the_app():
    with pytest.raises(Resolver404):
        resolve("/media/imports/0123456789abcdef.csv")


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "LEADOPS_")) and key not in {"ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "leadops.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "leads.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://leadops@127.0.0.1:5432/leadops",
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "LEADOPS_VAR_DIR": str(REPO / "var"),
    }
    return env | overrides


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_insecure_cookies_when_the_environment_turns_them_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(DJANGO_SECURE_COOKIES="false"))
    assert result.returncode != 0
    assert "security.W012" in result.stderr  # SESSION_COOKIE_SECURE


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in result.stderr
