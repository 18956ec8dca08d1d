"""The audit trail page for admins: filters, CSV export link, verify button (static/audit/audit.js)."""

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from contorl.accounts.permissions import is_admin
from contorl.errors import ValidationFailed

from . import selectors
from .models import Sensitivity


@login_required
def audit_trail(request):
    if not is_admin(request.user):
        raise PermissionDenied
    params = {k: request.GET.get(k, "").strip() for k in selectors.FILTERS if request.GET.get(k, "").strip()}
    error = None
    try:
        qs = selectors.audit_logs(params)
        page = Paginator(qs, 50).get_page(request.GET.get("page"))
        entries = list(page)
    except ValidationFailed as exc:
        error, page, entries = exc.message, None, []
    query = urlencode(params)
    return render(
        request,
        "audit/trail.html",
        {
            "params": params,
            "page": page,
            "entries": entries,
            "error": error,
            "query": query,
            "csv_url": "/api/audit-logs/?" + urlencode({**params, "format": "csv"}),
            "sensitivities": Sensitivity.choices,
            "actors": get_user_model().objects.filter(is_active=True).order_by("username").only("id", "username"),
        },
    )
