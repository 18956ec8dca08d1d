"""Development signs with a random key made per checkout, never the one once committed."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from django.conf import settings

from contorl.security import local_secret_key

ROOT = Path(__file__).resolve().parents[2]
OLD_COMMITTED_KEY = "contorl-embedded-insecure-key-change-me"


@pytest.mark.django_db
def test_a_token_signed_with_the_old_committed_key_is_refused(anon_api, user):
    forged = jwt.encode(
        {"token_type": "access", "user_id": str(user.pk), "jti": "x" * 32, "exp": 4102444800, "iat": 1700000000},
        OLD_COMMITTED_KEY,
        algorithm="HS256",
    )
    response = anon_api.get("/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_key_file_is_made_private_once_and_then_reused(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = local_secret_key(path)
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret_key(path) == first
    assert local_secret_key(tmp_path / "elsewhere") != first  # another checkout, another key


def test_an_empty_key_file_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("\n")
    with pytest.raises(ValueError):
        local_secret_key(path)


@pytest.mark.skipif("SECRET_KEY" in os.environ, reason="the environment sets SECRET_KEY")
def test_development_settings_use_the_checkout_key():
    assert settings.SECRET_KEY != OLD_COMMITTED_KEY
    assert (ROOT / "var" / "secret_key").read_text().strip() == settings.SECRET_KEY


def _settings_key(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", "from contorl import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_fresh_process_reads_the_same_key_and_the_old_key_is_refused_even_in_development():
    one, two = _settings_key(), _settings_key()
    assert one.returncode == 0, one.stderr
    assert one.stdout == two.stdout and OLD_COMMITTED_KEY not in one.stdout
    refused = _settings_key(SECRET_KEY=OLD_COMMITTED_KEY)
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr
