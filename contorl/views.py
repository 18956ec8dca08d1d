from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.templatetags.static import static

from .errors import NotFound, ServiceUnavailable, json_error_response

DASHBOARD_WIDGETS: list = []  # (template, context function) pairs that apps register


@login_required
def dashboard(request):
    widgets = []
    for template, context in DASHBOARD_WIDGETS:
        widgets.append((template, context(request)))
    return render(request, "contorl/dashboard.html", {"widgets": widgets})


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return json_error_response(NotFound())
    return render(request, "contorl/error.html", {"status": 404}, status=404)


def handler500(request):
    if _is_api(request):
        return json_error_response(Exception("server error"))
    return render(request, "contorl/error.html", {"status": 500}, status=500)


def handler403(request, exception=None):
    if _is_api(request):
        from .errors import Forbidden

        return json_error_response(Forbidden())
    return render(request, "contorl/error.html", {"status": 403}, status=403)


def handler400(request, exception=None):
    if _is_api(request):
        from .errors import ValidationFailed

        return json_error_response(ValidationFailed("Bad request."))
    return render(request, "contorl/error.html", {"status": 400}, status=400)


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page links; the icon itself is an SVG in static/.
    return redirect(static("img/favicon.svg"), permanent=True)


class MethodNotAllowedPageMiddleware:
    """Django has no handler405: a view refusing the method (require_POST, a class-based view)
    returns a bare HttpResponseNotAllowed with an empty body. People get the app's error page
    instead; the API keeps DRF's JSON envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not _is_api(request) and not response.content:
            page = render(request, "contorl/error.html", {"status": 405}, status=405)
            page["Allow"] = response["Allow"]
            return page
        return response


def csrf_failure(request, reason=""):
    if _is_api(request):
        from .errors import Forbidden

        return json_error_response(Forbidden(f"CSRF check failed: {reason}"))
    return render(request, "contorl/error.html", {"status": 403, "reason": reason}, status=403)


__all__ = [
    "dashboard",
    "favicon",
    "MethodNotAllowedPageMiddleware",
    "handler404",
    "handler500",
    "handler403",
    "handler400",
    "ServiceUnavailable",
]
