"""Security headers, CSRF on every form, cookie flags and `check --deploy`.

The production-only parts (HSTS, secure cookies, SSL redirect) are checked in a
subprocess started with DJANGO_ENV=production, because settings read the environment once
at import; the stack tests check the same headers on the real production processes.
"""

import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]

SKIP_PREFIXES = ("api/", "admin/", "ws/", "static/", "media", "health/", "i18n/", "jsi18n/", "metrics")
# URL parameter names -> the world object they name.
PARAMS = {"project_id": "P", "task_id": "T", "room_id": "R", "pk": "N", "id": "N"}


def production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(64), DJANGO_SETTINGS_MODULE="contorl.settings")
    env.setdefault("AUDIT_HMAC_KEY", secrets.token_urlsafe(48))  # check --deploy requires it (audit.E001)
    env.update(extra)
    return env


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "inputs": []}
            )
        elif tag in ("input", "button", "select", "textarea") and self.forms:
            self.forms[-1]["inputs"].append(attrs.get("name"))


def page_patterns():
    """(route template, names of its parameters) for every server-rendered page."""

    def walk(resolver, prefix=""):
        for p in resolver.url_patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                yield from walk(p, route)
            elif isinstance(p, URLPattern):
                yield route

    for route in walk(get_resolver()):
        clean = route.lstrip("^")
        if clean.startswith(SKIP_PREFIXES) or "(?P" in clean:
            continue
        yield clean


def fill_route(route: str, world: dict) -> str | None:
    def sub(match):
        name = match.group(2)
        key = PARAMS.get(name)
        if key is None:
            raise KeyError(name)
        return str(world[key])

    try:
        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, route).replace("\\Z", "").rstrip("$")
    except KeyError:
        return None


@pytest.fixture
def pages(world):
    out = []
    for route in page_patterns():
        url = fill_route(route, world)
        assert url is not None, f"page {route!r} has a parameter this test cannot fill: add it to PARAMS"
        out.append(url)
    return sorted(set(out))


def test_every_post_form_carries_a_csrf_token_and_is_refused_without(world, pages):
    owner = Client()
    owner.force_login(world["users"]["owner"])
    checked = 0
    for url in ["/accounts/login/", *pages]:
        client = Client() if url == "/accounts/login/" else owner
        resp = client.get(url)
        if resp.status_code != 200 or "text/html" not in resp.get("Content-Type", ""):
            continue
        parser = Forms()
        parser.feed(resp.content.decode())
        for form in parser.forms:
            if form["method"] != "post":
                continue
            checked += 1
            assert "csrfmiddlewaretoken" in form["inputs"], f"form on {url} (action {form['action']}) has no CSRF token"
            target = form["action"] or url
            strict = Client(enforce_csrf_checks=True)
            if url != "/accounts/login/":
                strict.force_login(world["users"]["owner"])
            refused = strict.post(target, {"x": "1"})
            assert refused.status_code == 403, f"POST {target} without a CSRF token -> {refused.status_code}"
    assert checked >= 2, "the sign-in and sign-out forms at least"


def test_session_api_writes_need_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["owner"])
    refused = client.post("/api/rooms/", {"title": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    client.get("/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    allowed = client.post("/api/rooms/", {"title": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 201


def test_security_headers_on_pages_and_api(world):
    client = Client()
    client.force_login(world["users"]["owner"])
    page = client.get("/")
    assert page.status_code == 200
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    for resp in (page, client.get("/api/users/me/"), Client().get("/accounts/login/")):
        assert resp["X-Content-Type-Options"] == "nosniff"
        assert resp["X-Frame-Options"] == "DENY"
        assert resp["Referrer-Policy"] == "same-origin"


def test_session_and_csrf_cookie_flags(world, password):
    resp = Client().post("/accounts/login/", {"username": world["users"]["owner"].username, "password": password})
    assert resp.status_code == 302
    session = resp.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    csrf = Client().get("/accounts/login/").cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"


PRODUCTION_PROBE = """
import django; django.setup()
from django.conf import settings as s
from django.test import Client
c = Client()
r = c.get('/accounts/login/', secure=True)
print(r.status_code, r.get('Strict-Transport-Security'), r.cookies['csrftoken']['secure'])
plain = c.get('/accounts/login/')
print(plain.status_code, plain.get('Location'))
print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,
      s.SECURE_PROXY_SSL_HEADER, s.DEBUG)
"""


def test_production_hsts_secure_cookies_and_https_redirect():
    # Production serves hashed static names from the manifest, as after a deploy.
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stderr[-2000:]
    out = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    secure, plain, flags = out.stdout.strip().splitlines()[-3:]
    status, hsts, csrf_secure = secure.split(" ", 2)[0], secure.split(" ")[1:-1], secure.split(" ")[-1]
    assert status == "200"
    assert " ".join(hsts) == "max-age=31536000; includeSubDomains; preload"
    assert csrf_secure == "True"
    assert plain.startswith("301 https://")
    assert flags == "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') False"


def test_production_refuses_the_default_secret_key():
    env = production_env()
    env.pop("SECRET_KEY")
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "SECRET_KEY" in out.stderr


def _check_deploy() -> list[str]:
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return [line for line in (out.stdout + out.stderr).splitlines() if re.match(r"^\S*: \(\w+\.[WE]\d+\)", line)]


@pytest.fixture(scope="module")
def deploy_issues():
    return _check_deploy()


def test_check_deploy_has_no_security_issue(deploy_issues):
    security = [i for i in deploy_issues if "(security." in i or "(django." in i]
    assert security == [], security


def test_check_deploy_is_fully_clean(deploy_issues):
    # drf-spectacular's schema checks run under --deploy too: an endpoint it cannot describe
    # is one schemathesis (and API clients) cannot rely on.
    assert deploy_issues == [], "\n".join(deploy_issues)
