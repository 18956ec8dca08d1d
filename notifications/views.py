"""The notifications page: read/unread filter, open (marks read), mark all read.

Plain forms, so it works without JavaScript; the bell (static/js/notifications.js) keeps
the count live on every page.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from contorl.errors import NotFound

from . import selectors, services

FILTERS = {"all": None, "unread": True, "read": False}


@login_required
def notification_list(request):
    current = request.GET.get("filter", "all")
    if current not in FILTERS:
        current = "all"
    page = Paginator(selectors.notifications_for(request.user, unread=FILTERS[current]), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "filter": current,
            "unread_count": selectors.unread_count(request.user.pk),
        },
    )


@login_required
@require_POST
def notification_open(request, pk: int):
    try:
        notification = services.notification_mark_read(notification_id=pk, user=request.user)
    except NotFound:
        return redirect("notifications:list")
    if request.POST.get("stay") or not notification.link:
        return redirect(request.POST.get("next") if _safe(request, request.POST.get("next")) else "notifications:list")
    if _safe(request, notification.link):
        return redirect(notification.link)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_preferences(request):
    from django.contrib import messages
    from django.utils.translation import gettext as _

    from contorl.accounts.services import user_set_preferences
    from contorl.errors import DomainError

    try:
        version = int(request.POST.get("version", ""))
        user_set_preferences(
            user=request.user, version=version, email_notifications=request.POST.get("email_notifications") == "on"
        )
        messages.success(request, _("Your notification settings were saved."))
    except (ValueError, DomainError):
        messages.error(request, _("Your settings changed elsewhere meanwhile; please try again."))
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    services.notification_mark_all_read(user=request.user)
    return redirect("notifications:list")


def _safe(request, url) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False)
