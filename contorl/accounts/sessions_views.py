"""Session management: the /accounts/sessions/ page and its small API."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from contorl import ratelimits
from contorl.errors import NotFound, RateLimited

from . import sessions
from .models import User
from .permissions import IsSystemAdmin
from .sessions_models import key_hash


def page_errors(view):
    """Pages answer domain errors like pages: 404 for what you may not see, 429 when too fast."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except RateLimited as exc:
            response = HttpResponse(_("Too many requests. Wait a minute and try again."), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response

    return wrapped


def _current_hash(request) -> str:
    return key_hash(request.session.session_key or "")


class SessionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    browser = serializers.SerializerMethodField()
    user_agent = serializers.CharField(read_only=True)
    ip = serializers.IPAddressField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_seen_at = serializers.DateTimeField(read_only=True)
    current = serializers.SerializerMethodField()

    def get_browser(self, obj) -> str:
        return sessions.describe_browser(obj.user_agent)

    def get_current(self, obj) -> bool:
        return obj.key_hash == self.context.get("current_hash")


# --- page ------------------------------------------------------------------------------------
@login_required
def session_list_page(request):
    current = _current_hash(request)
    rows = [
        {"session": row, "browser": sessions.describe_browser(row.user_agent), "current": row.key_hash == current}
        for row in sessions.sessions_for(request.user)
    ]
    return render(request, "accounts/sessions.html", {"rows": rows})


@login_required
@require_POST
@page_errors
def session_sign_out_page(request, pk: int):
    ratelimits.check(request, ratelimits.SENSITIVE)
    session = sessions.session_for(user=request.user, pk=pk)
    is_current = session.key_hash == _current_hash(request)
    sessions.session_sign_out(session=session, by=request.user, request=request)
    if is_current:
        return redirect("login")
    messages.success(request, _("That session is signed out."))
    return redirect("sessions")


@login_required
@require_POST
@page_errors
def session_sign_out_others_page(request):
    ratelimits.check(request, ratelimits.SENSITIVE)
    count = sessions.session_sign_out_others(
        user=request.user, current_key=request.session.session_key, request=request
    )
    messages.success(
        request,
        ngettext("%(count)d other session signed out.", "%(count)d other sessions signed out.", count)
        % {"count": count},
    )
    return redirect("sessions")


# --- API ---------------------------------------------------------------------------------------
class SessionListApi(ratelimits.RateLimitedViewMixin, APIView):
    """GET /api/sessions/: the caller's browser sessions, newest activity first."""

    @extend_schema(responses=SessionSerializer(many=True))
    def get(self, request):
        rows = sessions.sessions_for(request.user)
        context = {"current_hash": _current_hash(request) if hasattr(request, "session") else ""}
        return Response(SessionSerializer(rows, many=True, context=context).data)


class SessionDetailApi(ratelimits.RateLimitedViewMixin, APIView):
    """DELETE /api/sessions/{id}/: sign that session out (its sockets close)."""

    rate_tier = ratelimits.SENSITIVE

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        session = sessions.session_for(user=request.user, pk=pk)
        sessions.session_sign_out(session=session, by=request.user, request=request)
        return Response(status=204)


class SignOutEverywhereApi(ratelimits.RateLimitedViewMixin, APIView):
    """POST /api/users/{id}/sign-out-everywhere/ (admin): end every session and socket of a user."""

    rate_tier = ratelimits.SENSITIVE
    permission_classes = [IsSystemAdmin]

    @extend_schema(request=None, responses=inline_serializer("SignedOut", {"signed_out": serializers.IntegerField()}))
    def post(self, request, pk: int):
        user = get_object_or_404(User, pk=pk)
        count = sessions.user_sign_out_everywhere(user=user, by=request.user, request=request)
        return Response({"signed_out": count})
