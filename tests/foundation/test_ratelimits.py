import threading

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_window(monkeypatch):
    """django-ratelimit counts in fixed windows of wall-clock time; freeze its clock so a
    slow (loaded) machine cannot split one test's calls across two windows."""
    import time as real_time
    import types

    frozen = real_time.time()
    monkeypatch.setattr("django_ratelimit.core.time", types.SimpleNamespace(time=lambda: frozen))


def test_sensitive_tier_refuses_the_21st_call_with_retry_after(anon_api, user):
    statuses = [
        anon_api.post("/api/auth/token/", {"username": user.username, "password": "x"}).status_code for _ in range(20)
    ]
    assert statuses == [401] * 20
    response = anon_api.post("/api/auth/token/", {"username": user.username, "password": "x"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_limits_come_from_settings(anon_api, user, settings):
    settings.RATELIMIT_SENSITIVE = "3/m"
    codes = [anon_api.post("/api/auth/token/", {"username": "u", "password": "x"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_standard_tier_is_per_user(api_for, user, other_user, settings):
    settings.RATELIMIT_STANDARD = "5/m"
    first, second = api_for(user), api_for(other_user)
    assert [first.get("/api/users/me/").status_code for _ in range(5)] == [200] * 5
    assert first.get("/api/users/me/").status_code == 429
    assert second.get("/api/users/me/").status_code == 200


def test_login_page_is_rate_limited(client, user, settings):
    settings.RATELIMIT_SENSITIVE = "2/m"
    for _ in range(2):
        client.post("/accounts/login/", {"username": user.username, "password": "bad"})
    response = client.post("/accounts/login/", {"username": user.username, "password": "bad"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


@pytest.mark.redis
@pytest.mark.postgres  # SQLite's in-memory test database cannot take two writing threads
@pytest.mark.django_db(transaction=True)
def test_sensitive_limit_is_shared_through_redis_across_threads(redis_cache, user):
    """Two threads, each with its own Redis connection, share one budget of 20."""
    results: list[int] = []
    lock = threading.Lock()

    def hammer(n):
        client = Client()
        for _ in range(n):
            code = client.post(
                "/api/auth/token/", {"username": user.username, "password": "x"}, content_type="application/json"
            ).status_code
            with lock:
                results.append(code)
        from django.db import connection

        connection.close()

    threads = [threading.Thread(target=hammer, args=(11,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count(401) == 20
    assert sorted(results).count(429) == 2


@pytest.mark.parametrize(
    ("peer", "real_ip", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # nginx on this host: believed
        ("198.51.100.4", "203.0.113.7", "198.51.100.4"),  # a client sending the header itself
        ("198.51.100.4", "", "198.51.100.4"),
        ("10.1.2.3", "203.0.113.7", "203.0.113.7"),  # a proxy inside a trusted network
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
    ],
)
def test_x_real_ip_is_believed_only_from_a_trusted_proxy(rf, settings, peer, real_ip, expected):
    from contorl.ratelimits import client_ip

    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1", "10.0.0.0/8"]
    request = rf.get("/", REMOTE_ADDR=peer, HTTP_X_REAL_IP=real_ip)
    assert client_ip(request) == expected


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own entry is not believed
        ("127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.5", "203.0.113.7"),  # skip our inner proxies
        ("127.0.0.1", "203.0.113.7, junk", "127.0.0.1"),
        ("198.51.100.4", "203.0.113.7", "198.51.100.4"),  # untrusted peer: header ignored
    ],
)
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(rf, settings, peer, forwarded, expected):
    from contorl.ratelimits import client_ip

    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    request = rf.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_no_proxy_is_trusted_by_default():
    from django.conf import settings

    if "TRUSTED_PROXIES" not in __import__("os").environ:
        assert settings.TRUSTED_PROXIES == []


@pytest.mark.django_db(transaction=True)
async def test_daphne_serving_directly_ignores_a_spoofed_x_real_ip(user, settings):
    """Through the ASGI application, as daphne runs it, with the peer on this host and no
    TRUSTED_PROXIES set: each attempt names a fresh X-Real-IP, and all share one budget."""
    import httpx

    from contorl.asgi import application

    settings.RATELIMIT_SENSITIVE = "2/m"
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 40123))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        codes = []
        for i in range(3):
            response = await client.post(
                "/api/auth/token/",
                json={"username": user.username, "password": "wrong"},
                headers={"X-Real-IP": f"10.9.8.{i}", "X-Forwarded-For": f"10.7.6.{i}"},
            )
            codes.append(response.status_code)
    assert codes == [401, 401, 429]


def test_a_spoofed_x_real_ip_does_not_buy_fresh_sign_in_attempts(anon_api, user, settings):
    settings.RATELIMIT_SENSITIVE = "2/m"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    codes = [
        anon_api.post(
            "/api/auth/token/",
            {"username": user.username, "password": "x"},
            REMOTE_ADDR="198.51.100.77",
            HTTP_X_REAL_IP=f"10.0.0.{i}",
        ).status_code
        for i in range(3)
    ]
    assert codes == [401, 401, 429]


def test_the_proxy_overwrites_the_forwarding_headers():
    from pathlib import Path

    template = (Path(__file__).resolve().parents[2] / "deploy/stack/nginx.conf.template").read_text()
    assert "$proxy_add_x_forwarded_for" not in template  # appending keeps what the client sent
    assert template.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2
    assert template.count("proxy_set_header X-Real-IP $remote_addr;") == 2


@pytest.mark.parametrize("backend", ["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_batch_of_calls_spends_the_same_budget_as_single_calls(request, settings, backend):
    """check_keys (the chat sends waiting for one room) counts in django-ratelimit's own
    counters: calls alone and calls in a batch share one budget, refused in call order."""
    if backend == "redis":
        request.getfixturevalue("redis_cache")
    from contorl import ratelimits
    from contorl.errors import RateLimited

    settings.RATELIMIT_CHAT = "4/m"
    ratelimits.check_key("user:7", ratelimits.CHAT)
    verdicts = ratelimits.check_keys(["user:7", "user:8", "user:7", "user:7", "user:7"], ratelimits.CHAT)
    assert [v is None for v in verdicts] == [True, True, True, True, False]
    assert isinstance(verdicts[4], RateLimited) and verdicts[4].retry_after >= 1
    with pytest.raises(RateLimited):
        ratelimits.check_key("user:7", ratelimits.CHAT)
    ratelimits.check_key("user:8", ratelimits.CHAT)  # user 8 has spent 2 of 4
    assert ratelimits.check_keys(["user:8", "user:8", "user:8"], ratelimits.CHAT)[2] is not None
