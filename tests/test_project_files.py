"""The run files (docker-compose.yml, Procfile, .env.example) name real modules and every setting."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app

REPO = Path(__file__).resolve().parent.parent
SERVICES = {"postgres", "redis", "web", "worker", "beat"}
# os.environ.get("X"), os.environ["X"], env_bool("X"), env_list("X"), dj_database_url.config(env="X")
ENV_READ = r"""(?:environ\.get\(|environ\[|env_bool\(|env_list\(|env=)\s*["']([A-Z][A-Z0-9_]+)["']"""


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def _command_words(command: str | list[str]) -> list[str]:
    """Split a compose or Procfile command into words, looking inside `sh -c "..."`."""
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        return shlex.split(words[2].replace("&&", " && "))
    return words


def _assert_names_real_modules(words: list[str]) -> None:
    """Import what gunicorn, celery and manage.py would load from these words."""
    checked = 0
    for word in words:
        match = re.fullmatch(r"([A-Za-z_][\w.]*):([A-Za-z_]\w*)", word)
        if match and "." in match[1]:
            module = importlib.import_module(match[1])
            assert callable(getattr(module, match[2])), f"{word} is not a WSGI callable"
            checked += 1
    if "-A" in words:
        app = find_app(words[words.index("-A") + 1])
        assert isinstance(app, Celery)
        app.loader.import_default_modules()  # the task autodiscovery a worker does when it starts
        assert "leads.tasks.system_heartbeat" in app.tasks
        checked += 1
    if "manage.py" in words:
        assert (REPO / "manage.py").is_file()
        checked += 1
    assert checked, f"the command {' '.join(words)!r} names no module this test knows how to check"


def test_compose_has_every_service_with_a_health_check():
    services = _compose()["services"]

    assert set(services) >= SERVICES
    for name in SERVICES:
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name} has no health check"


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_compose_app_commands_name_importable_modules(service):
    command = _compose()["services"][service]["command"]

    _assert_names_real_modules(_command_words(command))


def test_compose_web_serves_the_wsgi_app_with_gunicorn():
    words = _command_words(_compose()["services"]["web"]["command"])

    assert "gunicorn" in words
    assert "leadops.wsgi:application" in words


def test_compose_app_services_read_the_example_env_file():
    services = _compose()["services"]

    for name in ("postgres", "web", "worker", "beat"):
        paths = [entry["path"] if isinstance(entry, dict) else entry for entry in services[name]["env_file"]]
        assert ".env.example" in paths, name


def test_procfile_runs_web_worker_and_beat():
    entries = _procfile()

    assert set(entries) == {"web", "worker", "beat"}
    assert "$PORT" in entries["web"]
    worker = shlex.split(entries["worker"])
    # The worker yields the CPU to the web server (background work must not slow the pages).
    assert worker[:3] == ["nice", "-n", "10"]
    assert worker[3:5] == ["celery", "-A"] and worker[6] == "worker"
    assert shlex.split(entries["beat"])[3] == "beat"


def _option(words: list[str], name: str) -> int:
    assert name in words, f"{name} is not given: {' '.join(words)}"
    return int(words[words.index(name) + 1])


def test_make_run_serves_the_web_with_a_fixed_number_of_threads_hence_of_database_connections():
    web = shlex.split(_procfile()["web"])

    # runserver starts a thread (and a database connection) per request, without a bound.
    assert web[0] == "gunicorn" and "runserver" not in web
    assert 1 <= _option(web, "--workers") * _option(web, "--threads") <= 16


def test_compose_web_runs_a_fixed_number_of_workers():
    web = _command_words(_compose()["services"]["web"]["command"])

    assert 1 <= _option(web, "--workers") * (_option(web, "--threads") if "--threads" in web else 1) <= 16


def test_developer_settings_keep_no_database_connection_open_between_requests():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_CONN_MAX_AGE"}
    env |= {"DATABASE_URL": "postgres://leadops@127.0.0.1:5432/leadops", "DJANGO_SETTINGS_MODULE": ""}
    code = "from leadops.settings import local; print(local.DATABASES['default']['CONN_MAX_AGE'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "0"


def test_an_empty_database_url_means_the_sqlite_file_as_an_unset_one_does(tmp_path):
    env = {**os.environ, "DATABASE_URL": "", "LEADOPS_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": ""}
    code = "from leadops.settings import local; d = local.DATABASES['default']; print(d['ENGINE'], d['NAME'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["django.db.backends.sqlite3", str(tmp_path / "leadops.sqlite3")]


@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_procfile_commands_name_importable_modules(process):
    _assert_names_real_modules(_command_words(_procfile()[process]))


def test_env_example_documents_every_variable_the_settings_read():
    read = set()
    for path in (REPO / "leadops" / "settings").glob("*.py"):
        read |= set(re.findall(ENV_READ, path.read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.MULTILINE))

    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"} <= read
    assert read - documented == set()


def test_imports_go_to_the_bulk_queue_which_a_worker_without_q_also_consumes():
    from leadops.celery import BULK_QUEUE, DEFAULT_QUEUE, app

    route = app.amqp.router.route({}, "leads.tasks.import_job_run_task")
    assert route["queue"].name == BULK_QUEUE
    assert app.amqp.router.route({}, "leads.tasks.events_process_task")["queue"].name == DEFAULT_QUEUE
    # A worker started without -Q (the Procfile's, docker-compose's) consumes app.amqp.queues: both.
    assert {DEFAULT_QUEUE, BULK_QUEUE} <= set(app.amqp.queues)
