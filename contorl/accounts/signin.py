"""Sign-in: rate limited (sensitive tier) on every form, audited when it fails.

Failures are audited from Django's `user_login_failed` signal (accounts/sessions.py), so the
browser form, the Django admin's form, the JWT endpoint and directory sign-in all record
them the same way, once.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from contorl import auditing as audit
from contorl import ratelimits
from contorl.auditing import Sensitivity
from contorl.errors import RateLimited


def record_failed_login(username, request) -> None:
    audit.record(
        "auth.login_failed",
        actor=None,
        sensitivity=Sensitivity.MEDIUM,
        object_type="auth.user",
        object_id=str(username or "")[:150],
        changes={"username": str(username or "")[:150], "ip": ratelimits.client_ip(request) if request else ""},
        request=request,
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            ratelimits.check(request, ratelimits.SENSITIVE)
        except RateLimited as exc:
            # An unbound form: rendering a bound one would validate it, i.e. check the password.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")[:150]})
            response = self.render_to_response(self.get_context_data(form=form, rate_limited=True))
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)


def admin_login(request, extra_context=None):
    """The Django admin's sign-in form, under the same sensitive-tier limit as ours."""
    if request.method == "POST":
        try:
            ratelimits.check(request, ratelimits.SENSITIVE)
        except RateLimited as exc:
            response = HttpResponse(exc.message, status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(exc.retry_after)
            return response
    return admin.site.login(request, extra_context)
