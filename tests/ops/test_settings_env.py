"""settings.py turns the operations variables into Django settings (checked in a fresh process,
because settings are read once at start-up)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "backends": s.AUTHENTICATION_BACKENDS,
    "ldap_uri": getattr(s, "AUTH_LDAP_SERVER_URI", None),
    "ldap_map": getattr(s, "LDAP_GROUP_MAP", None),
    "storage": s.STORAGES["default"],
    "middleware": s.MIDDLEWARE,
    "cache": s.CACHES["default"]["BACKEND"],
}, default=str))
"""


def probe(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LDAP_", "STORAGE_", "S3_", "METRICS_"))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "contorl.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_defaults_are_local_accounts_filesystem_and_instrumented():
    config = probe()
    assert config["backends"] == ["django.contrib.auth.backends.ModelBackend"]
    assert config["ldap_uri"] is None
    assert config["storage"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert config["middleware"][0] == "contorl.metrics.PrometheusMiddleware"
    assert "contorl.accounts.sessions.SessionActivityMiddleware" in config["middleware"]
    assert config["cache"].startswith("contorl.metrics.Timed")


@pytest.mark.slow
def test_directory_storage_and_metrics_variables_take_effect():
    pytest.importorskip("ldap", reason="python-ldap (requirements-ldap.txt) is not installed")
    config = probe(
        LDAP_SERVER_URI="ldaps://dc1.corp.example",
        LDAP_USER_SEARCH_BASE="OU=Staff,DC=corp,DC=example",
        LDAP_GROUP_TYPE="nestedActiveDirectory",
        LDAP_GROUP_MAP='{"CONTORL-Admins": {"system_admin": true}}',
        STORAGE_URL="s3://plant-files/contorl",
        S3_ENDPOINT_URL="http://minio:9000",
        METRICS_ENABLED="0",
    )
    assert config["backends"] == ["contorl.accounts.ldap.DirectoryBackend", "django.contrib.auth.backends.ModelBackend"]
    assert config["ldap_uri"] == "ldaps://dc1.corp.example"
    assert config["ldap_map"] == {"contorl-admins": {"system_admin": True}}
    assert config["storage"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["storage"]["OPTIONS"]["bucket_name"] == "plant-files"
    assert "contorl.metrics.PrometheusMiddleware" not in config["middleware"]
    assert not config["cache"].startswith("contorl.metrics")
