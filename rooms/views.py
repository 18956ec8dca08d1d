"""Server-rendered pages; the room page itself is driven by static/rooms/room.js."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contorl.errors import DomainError, NotFound

from . import selectors, services
from .models import Role, Room, RoomTemplate, Severity


@login_required
def room_list(request):
    p = request.GET
    qs = selectors.rooms_for(request.user, status=p.get("status", ""), severity=p.get("severity", ""), q=p.get("q", ""))
    page = Paginator(qs, 20).get_page(p.get("page"))
    query = p.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "statuses": Room.Status.choices,
        "severities": Severity.choices,
        "templates": RoomTemplate.objects.order_by("name"),
        "filters": {"status": p.get("status", ""), "severity": p.get("severity", ""), "q": p.get("q", "")},
        "query": query.urlencode(),
    }
    return render(request, "rooms/room_list.html", context)


@login_required
@require_POST
def room_new(request):
    p = request.POST
    try:
        if p.get("template"):
            template = RoomTemplate.objects.filter(pk=p.get("template")).first()
            if template is None:
                raise DomainError("No such template.")
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
        from django.contrib import messages

        messages.error(request, exc.message)
        return redirect("rooms:room-list")
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
    }
    return render(request, "rooms/room.html", context)
