"""Security properties of the real production processes: shared rate limits across two
daphne processes, and the headers nginx + production settings put on every answer."""

import asyncio
import random
import time
import zlib

import pytest

from .wsclient import api

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(90)]

SENSITIVE_LIMIT = 20  # the production default, left unchanged in the stack (RATELIMIT_SENSITIVE=20/m)


def seconds_left_in_window(key: str, period: int = 60) -> int:
    """django-ratelimit's fixed window for `key` (it staggers windows by crc32(key))."""
    ts = int(time.time())
    end = ts - (ts % period) + (zlib.crc32(key.encode()) % period)
    if end < ts:
        end += period
    return end - ts


def fresh_ip_with_room(min_seconds: int = 20) -> str:
    """An address no other test used, whose window will not roll over during the burst."""
    rng = random.Random()
    while True:
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if seconds_left_in_window(f"ip:{ip}") >= min_seconds:
            return ip


async def test_rate_limit_is_exact_under_50_parallel_requests_across_two_processes(healthy_stack):
    stack = healthy_stack
    ip = fresh_ip_with_room()
    # Straight to the two daphne processes (nginx would overwrite X-Real-IP with 127.0.0.1);
    # in production they listen on loopback only, behind the proxy.
    clients = [api(stack.daphne_url(i), headers={"X-Real-IP": ip}, timeout=30) for i in (0, 1)]
    body = {"username": "load8", "password": "stack-pass-1234"}
    try:
        results = await asyncio.gather(*(clients[i % 2].post("/api/auth/token/", json=body) for i in range(50)))
    finally:
        for c in clients:
            await c.aclose()
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == SENSITIVE_LIMIT, statuses
    assert statuses.count(429) == 50 - SENSITIVE_LIMIT, statuses
    limited = [r for r in results if r.status_code == 429]
    assert all(r.json()["error"]["code"] == "rate_limited" for r in limited)
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in limited)
    # Both processes did refuse: the counter is shared, not per process.
    by_port = {(str(r.url).split(":")[2].split("/")[0], r.status_code) for r in results}
    assert {s for _port, s in by_port} == {200, 429}
    assert len({port for port, s in by_port if s == 429}) == 2


async def test_production_headers_through_nginx(healthy_stack):
    stack = healthy_stack
    async with api(stack.base_url) as client:
        page = await client.get("/accounts/login/")
        spoofed = await client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
        api_answer = await client.get("/api/users/me/")
    assert page.status_code == 200
    assert page.headers["server"] == "nginx"  # no version (server_tokens off)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    csrf = page.headers["set-cookie"]
    assert "Secure" in csrf and "SameSite=Lax" in csrf
    # nginx overwrites X-Forwarded-Proto: a client cannot make plain HTTP look like HTTPS.
    assert "strict-transport-security" not in spoofed.headers
    assert api_answer.status_code == 401 and api_answer.json()["error"]["code"] == "not_authenticated"
    # Behind a TLS terminator (X-Forwarded-Proto: https from the proxy) HSTS is sent.
    async with api(stack.daphne_url(0)) as direct:
        secure = await direct.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    async with api(stack.base_url) as client:
        static = await client.get("/static/js/app.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
