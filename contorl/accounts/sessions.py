"""Browser sessions: track them, list them, sign them out (and close their WebSockets).

A row in UserSession is created on sign-in (user_logged_in) and refreshed by
SessionActivityMiddleware at most once per SESSION_ACTIVITY_INTERVAL. Signing a session
out deletes it from the session store (the cookie stops working at once), deletes the
row, and, after commit, tells every WebSocket opened with that session to close: each
ContorlConsumer joins `session_group(key_hash)` when it is admitted.

API clients on JWT are not sessions; their sockets join `user_sockets_group(user_id)`, so
"sign out everywhere" closes those too (the access token itself expires on its own).
"""

import datetime
import logging
import re
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.utils import timezone

from contorl import auditing as audit
from contorl import events, metrics, ratelimits
from contorl.auditing import Sensitivity
from contorl.errors import NotFound

from . import services as account_services
from .sessions_models import UserSession, key_hash

log = logging.getLogger("contorl.sessions")

SEEN_KEY = "_contorl_seen"
DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def session_group(session_hash: str) -> str:
    return f"session.{session_hash[:48]}"


def user_sockets_group(user_id: int) -> str:
    return f"sockets.user.{user_id}"


def describe_browser(user_agent: str) -> str:
    """'Chrome 131 on Windows' from a User-Agent header; good enough to recognise a device."""
    ua = user_agent or ""
    browser = "Unknown browser"
    for name, pattern in (
        ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
        ("Opera", r"OPR/(\d+)"),
        ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
        ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
        ("Safari", r"Version/(\d+).*Safari/"),
        ("CONTORL client", r"contorl-client/(\S+)"),
        ("Python", r"python-(?:requests|httpx)/(\S+)"),
    ):
        match = re.search(pattern, ua)
        if match:
            browser = f"{name} {match.group(1)}"
            break
    system = ""
    for name, pattern in (
        ("Android", r"Android"),
        ("iOS", r"iPhone|iPad|iPod"),
        ("Windows", r"Windows"),
        ("macOS", r"Mac OS X|Macintosh"),
        ("Linux", r"Linux|X11"),
    ):
        if re.search(pattern, ua):
            system = name
            break
    return f"{browser} on {system}" if system else browser


# --- writes -------------------------------------------------------------------------------
def _request_details(request) -> dict:
    if request is None:
        return {"user_agent": "", "ip": None}
    ip = ratelimits.client_ip(request)
    return {
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "ip": ip if ip != "unknown" else None,
    }


def session_track(*, user, session_key: str, request=None, backend: str = "") -> UserSession:
    row, _ = UserSession.objects.update_or_create(
        key_hash=key_hash(session_key),
        defaults={
            "user": user,
            "session_key": session_key,
            "backend": backend[:100],
            "last_seen_at": timezone.now(),
            **_request_details(request),
        },
    )
    return row


def _close_sockets(groups: list[str]) -> None:
    """After commit: ask every socket in `groups` to close with 4401 (ContorlConsumer.session_revoked).
    Through the event door, so a Redis outage delays the close instead of dropping it."""
    for group in groups:
        events.control(group, "session.revoked")


def close_user_sockets(user_id: int) -> None:
    """After commit: close every socket of the user, in every process (deactivated,
    deleted, password changed, signed out everywhere)."""
    _close_sockets([user_sockets_group(user_id)])


def _end(rows: list[UserSession]) -> None:
    engine = import_module(settings.SESSION_ENGINE)
    for row in rows:
        engine.SessionStore(session_key=row.session_key).delete()
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    _close_sockets([session_group(row.key_hash) for row in rows])


@transaction.atomic
def session_sign_out(*, session: UserSession, by, request=None) -> None:
    """End one session of `by` (their own). Someone else's session is 404, never 403."""
    if session.user_id != by.pk:
        raise NotFound()
    _end([session])
    audit.record(
        "auth.session_signed_out",
        actor=by,
        sensitivity=Sensitivity.MEDIUM,
        object_type="accounts.usersession",
        object_id=session.pk,
        changes={"browser": describe_browser(session.user_agent), "ip": session.ip},
        request=request,
    )


@transaction.atomic
def session_sign_out_others(*, user, current_key: str | None, request=None) -> int:
    """End every session of `user` except the one making the request."""
    rows = list(UserSession.objects.filter(user=user).exclude(key_hash=key_hash(current_key or "")))
    # API clients are the user's other sessions too: their refresh tokens stop working.
    account_services.user_refresh_tokens_revoke(user=user)
    if rows:
        _end(rows)
        audit.record(
            "auth.sessions_signed_out",
            actor=user,
            obj=user,
            sensitivity=Sensitivity.MEDIUM,
            changes={"count": len(rows)},
            request=request,
        )
    return len(rows)


@transaction.atomic
def user_sign_out_everywhere(*, user, by, request=None) -> int:
    """Admin action: end all of `user`'s sessions, revoke their tokens, close their sockets."""
    rows = list(UserSession.objects.filter(user=user))
    # Sessions signed in before tracking existed are found in the store only by scanning
    # it; the db engine lets us do that cheaply enough for an admin action.
    tracked = {row.session_key for row in rows}
    untracked = _untracked_session_keys(user, tracked)
    _end(rows)
    engine = import_module(settings.SESSION_ENGINE)
    for key in untracked:
        engine.SessionStore(session_key=key).delete()
    # API clients too: every JWT issued until now stops working (accounts/tokens.py).
    account_services.user_refresh_tokens_revoke(user=user)
    user.tokens_valid_after = timezone.now()
    type(user).objects.filter(pk=user.pk).update(tokens_valid_after=user.tokens_valid_after)
    close_user_sockets(user.pk)
    audit.record(
        "auth.signed_out_everywhere",
        actor=by,
        obj=user,
        sensitivity=Sensitivity.HIGH,
        changes={"sessions": len(rows) + len(untracked)},
        request=request,
    )
    return len(rows) + len(untracked)


def _untracked_session_keys(user, tracked: set[str]) -> list[str]:
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        return []
    from django.contrib.sessions.models import Session

    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(session_key__in=tracked).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            keys.append(session.session_key)
    return keys


# --- reads ------------------------------------------------------------------------------------
def sessions_for(user):
    """Live sessions only: rows idle longer than the session lifetime belong to expired
    sessions (the store forgot them), so they are dropped rather than shown."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    UserSession.objects.filter(user=user, last_seen_at__lt=cutoff).delete()
    return UserSession.objects.filter(user=user).order_by("-last_seen_at")


def session_for(*, user, pk: int) -> UserSession:
    session = UserSession.objects.filter(user=user, pk=pk).first()
    if session is None:
        raise NotFound()
    return session


# --- wiring -------------------------------------------------------------------------------
def _on_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    # JWT sign-ins send user_logged_in too; only a session that now carries this user counts.
    if session is None or not session.session_key or str(session.get(SESSION_KEY)) != str(user.pk):
        return
    metrics.signin("success")
    session[SEEN_KEY] = int(time.time())
    session_track(user=user, session_key=session.session_key, request=request, backend=getattr(user, "backend", ""))


def _on_logout(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is None or not session.session_key:
        return
    digest = key_hash(session.session_key)
    UserSession.objects.filter(key_hash=digest).delete()
    _close_sockets([session_group(digest)])  # other tabs of this browser go offline too


def _on_login_failed(sender, credentials, request=None, **kwargs):
    from .signin import record_failed_login

    metrics.signin("failure")
    record_failed_login(credentials.get("username"), request)


user_logged_in.connect(_on_login, dispatch_uid="contorl.sessions.login")
user_login_failed.connect(_on_login_failed, dispatch_uid="contorl.sessions.login_failed")
user_logged_out.connect(_on_logout, dispatch_uid="contorl.sessions.logout")


class SessionActivityMiddleware:
    """Refresh last-seen (and IP / browser) at most once per SESSION_ACTIVITY_INTERVAL per session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None and session.session_key:
            now = int(time.time())
            seen = session.get(SEEN_KEY, 0)
            if not isinstance(seen, int) or now - seen >= settings.SESSION_ACTIVITY_INTERVAL:
                session[SEEN_KEY] = now
                updated = UserSession.objects.filter(key_hash=key_hash(session.session_key)).update(
                    last_seen_at=timezone.now(), **_request_details(request)
                )
                if not updated:  # signed in before tracking existed: start tracking now
                    session_track(user=user, session_key=session.session_key, request=request)
        return self.get_response(request)
