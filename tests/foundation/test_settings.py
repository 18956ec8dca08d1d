"""Embedded and production settings, each in a real daphne process."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from deploy.stack import launcher

ROOT = Path(__file__).resolve().parents[2]
PROD_SECRET = "p" * 20 + "-production-secret-for-tests-only-" + "q" * 20


def clean_env(**extra) -> dict:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "SECRET_KEY"))
    }
    env.update(extra)
    return env


def serve_and_get(env: dict, path: str = "/health/live") -> httpx.Response:
    port = launcher.free_port()
    proc = launcher.start_daphne(port, env=env, log=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode())
            try:
                return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)  # the server is still starting; there is no event to await
        raise AssertionError("daphne did not start")
    finally:
        proc.terminate()
        proc.wait(10)


def production_env(redis_url) -> dict:
    return clean_env(
        DJANGO_ENV="production",
        SECRET_KEY=PROD_SECRET,
        AUDIT_HMAC_KEY="k" * 48,  # check --deploy requires it (audit.E001)
        DATABASE_URL=os.environ.get("PG_TEST_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        REDIS_URL=redis_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DB_POOL_MIN_SIZE="1",
    )


def test_embedded_settings_serve_health_live(tmp_path):
    response = serve_and_get(clean_env(SQLITE_PATH=str(tmp_path / "db.sqlite3")))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.postgres
@pytest.mark.redis
def test_production_settings_serve_health_live(redis_url, postgres):
    response = serve_and_get(production_env(redis_url))
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.postgres
@pytest.mark.redis
def test_check_deploy_is_clean_in_production(redis_url, postgres):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(redis_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_default_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(DJANGO_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_backends_follow_the_environment(settings):
    """No variables: the embedded stack. DATABASE_URL/REDIS_URL: PostgreSQL and Redis."""
    assert settings.DEBUG is False
    if os.environ.get("DATABASE_URL"):
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "contorl.layers.PubSubLayer"
        assert issubclass(import_string(settings.CACHES["default"]["BACKEND"]), RedisCache)
        assert settings.CELERY_TASK_ALWAYS_EAGER is False
        assert settings.CELERY_BROKER_URL.startswith("redis://")
        assert settings.WS_DB_THREADS is ("WS_DB_THREADS" not in os.environ)  # on with PostgreSQL
    else:
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        assert issubclass(import_string(settings.CACHES["default"]["BACKEND"]), LocMemCache)
        assert settings.CELERY_TASK_ALWAYS_EAGER is True
        assert settings.WS_DB_THREADS is False or "WS_DB_THREADS" in os.environ


@pytest.mark.postgres
def test_production_database_uses_the_psycopg_pool(postgres, settings):
    db = settings.DATABASES["default"]
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"]["max_size"] == 30
    assert db["OPTIONS"]["server_side_binding"] is True
    assert db["CONN_HEALTH_CHECKS"] is False  # the pool discards broken connections itself


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_twice_on_a_connection_runs_prepared(postgres):
    """psycopg prepares a statement from its second run (prepare_threshold), so PostgreSQL
    parses and plans it once per connection, not once per request."""
    from django.db import connection

    from tasks.models import Project

    for name in ("a", "b", "c"):
        list(Project.objects.filter(name=name, key=name).values_list("pk"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(
        'FROM "tasks_project" WHERE ("tasks_project"."key" = $1 AND "tasks_project"."name" = $2)' in sql
        for sql in prepared
    ), prepared
