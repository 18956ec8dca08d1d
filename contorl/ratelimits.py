"""The one rate-limit policy: tiers, keys and how a refusal looks.

Counters live in the shared cache (Redis in production) through django-ratelimit, so
every daphne process counts against the same budget. Operators tune each tier with
RATELIMIT_STANDARD / _SENSITIVE / _HEAVY / _CHAT (e.g. "600/m", "10/s").
"""

import ipaddress
import logging
import time
from collections import Counter

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django_ratelimit.core import ALL, EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate

from . import metrics
from .errors import RateLimited

log = logging.getLogger("contorl.ratelimits")

STANDARD, SENSITIVE, HEAVY, CHAT = "standard", "sensitive", "heavy", "chat"
TIERS = (STANDARD, SENSITIVE, HEAVY, CHAT)


def rate_for(tier: str) -> str:
    return getattr(settings, f"RATELIMIT_{tier.upper()}")


def client_ip(request) -> str:
    """The caller's address, for rate limits, sessions and the audit trail: the one place
    that reads it.

    X-Real-IP and X-Forwarded-For are believed only when the peer itself is a proxy named in
    TRUSTED_PROXIES (addresses or CIDR networks; none by default). When daphne serves
    clients directly, anyone can send those headers to dodge the per-address limits or
    forge the audit trail's address. From a trusted proxy, X-Real-IP wins; otherwise the
    rightmost X-Forwarded-For entry that is not itself a trusted proxy.
    """
    peer = (request.META.get("REMOTE_ADDR") or "").strip()
    if not peer or not _trusted(peer):
        return peer or "unknown"
    real_ip = request.META.get("HTTP_X_REAL_IP", "").strip()
    if _valid_ip(real_ip):
        return real_ip
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if not _valid_ip(hop):
            break  # garbage in the chain: stop believing it
        if not _trusted(hop):
            return hop
    return peer


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.TRUSTED_PROXIES:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            log.warning("TRUSTED_PROXIES: %r is not an address or network", entry)
    return False


def identity(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def check_key(key: str, tier: str) -> None:
    """Count one call by `key` against `tier`; raise RateLimited past the limit."""
    refusal = check_keys([key], tier)[0]
    if refusal is not None:
        raise refusal


def check_keys(keys: list[str], tier: str) -> list[RateLimited | None]:
    """Count a batch of calls (the chat sends waiting for one room, or one request), in order:
    the refusal each call would have met alone, or None. The counters are django-ratelimit's
    own (its cache keys and windows), counted in one pipelined round trip on Redis instead of
    its two per call (add, then incr)."""
    if not settings.RATELIMIT_ENABLE or not keys:
        return [None] * len(keys)
    rate = rate_for(tier)
    limit, period = _split_rate(rate)
    group = f"contorl.{tier}"
    windows = {key: _get_window(key, period) for key in set(keys)}
    cache_keys = {key: _make_cache_key(group, window, rate, key, ALL) for key, window in windows.items()}
    wanted = Counter(keys)
    try:
        totals = _add_many(caches[settings.RATELIMIT_USE_CACHE], cache_keys, wanted, period + EXPIRATION_FUDGE)
    except Exception as exc:  # fail open, as check_key
        log.warning("rate-limit cache unavailable: %s", exc.__class__.__name__)
        return [None] * len(keys)
    seen: Counter = Counter()
    verdicts: list[RateLimited | None] = []
    now = int(time.time())
    for key in keys:
        seen[key] += 1
        count = totals[key] - wanted[key] + seen[key]  # the total this call's own increment made
        if count > limit:
            metrics.ratelimit_rejected(tier)
            verdicts.append(RateLimited(retry_after=max(1, windows[key] - now)))
        else:
            verdicts.append(None)
    return verdicts


def _add_many(cache, cache_keys: dict[str, str], counts: Counter, timeout: int) -> dict[str, int]:
    """Add counts[key] to each counter (created with the timeout if absent); the new totals."""
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipe:
            for key, cache_key in cache_keys.items():
                redis_key = cache.make_and_validate_key(cache_key)
                pipe.set(redis_key, 0, ex=timeout, nx=True)
                pipe.incrby(redis_key, counts[key])
            replies = pipe.execute()
        return {key: int(total) for key, total in zip(cache_keys, replies[1::2], strict=True)}
    totals = {}
    for key, cache_key in cache_keys.items():
        cache.add(cache_key, 0, timeout)
        totals[key] = cache.incr(cache_key, counts[key])
    return totals


def check(request, tier: str) -> None:
    """Rate-limit an HTTP request by its user, else its IP."""
    check_key(identity(request), tier)


class RateLimitedViewMixin:
    """DRF views pick a tier per action: `rate_tiers = {"create": HEAVY}`; default standard."""

    rate_tier = STANDARD
    rate_tiers: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticates first, so we key by user
        action = getattr(self, "action", None) or request.method.lower()
        check(request, self.rate_tiers.get(action, self.rate_tier))
