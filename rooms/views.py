"""Server-rendered pages; the room page itself is driven by rooms/static/rooms/room/main.js."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contorl.errors import DomainError, NotFound, ValidationFailed

from . import selectors, services
from .models import Role, Room, Severity

NEW_ROOM_FIELDS = ("template", "title", "location", "severity")


def _room_list(request, *, new_room: dict | None = None, error: str = "", status: int = 200):
    p = request.GET
    qs = selectors.rooms_for(request.user, status=p.get("status", ""), severity=p.get("severity", ""), q=p.get("q", ""))
    page = Paginator(qs, 20).get_page(p.get("page"))
    query = p.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "statuses": Room.Status.choices,
        "severities": Severity.choices,
        "templates": selectors.templates(),
        "filters": {"status": p.get("status", ""), "severity": p.get("severity", ""), "q": p.get("q", "")},
        "query": query.urlencode(),
        # A failed "New room" comes back open, with what was typed and why it failed.
        "new_room": new_room or {"severity": Severity.MEDIUM},
        "new_room_error": error,
    }
    return render(request, "rooms/room_list.html", context, status=status)


@login_required
def room_list(request):
    return _room_list(request)


@login_required
@require_POST
def room_new(request):
    p = request.POST
    try:
        if p.get("template"):
            template = selectors.template_or_none(p.get("template"))
            if template is None:
                raise ValidationFailed.field("template", _("No such template."))
            room = services.room_create_from_template(
                template=template, by=request.user, location=p.get("location", ""), title=p.get("title", "")
            )
        else:
            room = services.room_create(
                by=request.user,
                title=p.get("title", ""),
                severity=p.get("severity") or Severity.MEDIUM,
                location=p.get("location", ""),
                description=p.get("description", ""),
            )
    except DomainError as exc:
        typed = {name: p.get(name, "") for name in NEW_ROOM_FIELDS}
        return _room_list(request, new_room=typed, error=exc.message, status=400)
    return redirect("rooms:room-page", room_id=room.pk)


@login_required
def room_page(request, room_id: int):
    try:
        room, role = selectors.room_for(request.user, room_id)
    except NotFound:
        raise Http404 from None  # same page for "missing" and "not yours"
    context = {
        "room": room,
        "role": role,
        "can_write": role in ("owner", "editor") and room.status != Room.Status.ARCHIVED,
        "is_owner": role == "owner",
        "statuses": Room.Status.choices,
        "severities": Severity.choices,
        "roles": Role.choices,
        "status_labels": {value: str(label) for value, label in Room.Status.choices},
        # The server's limits for the page script (rooms/static/rooms/room/context.js).
        "room_limits": {
            "edit_window_seconds": settings.ROOM_EDIT_WINDOW_SECONDS,
            "text_max_bytes": services.TEXT_MAX_BYTES,
        },
    }
    return render(request, "rooms/room.html", context)
