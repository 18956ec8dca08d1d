"""Browser sign-in: rate limited (sensitive tier) and audited when it fails."""

from django.contrib.auth import views as auth_views

from audit import services as audit
from audit.services import Sensitivity
from contorl import ratelimits
from contorl.errors import RateLimited


def record_failed_login(username, request) -> None:
    audit.record(
        "auth.login_failed",
        actor=None,
        sensitivity=Sensitivity.MEDIUM,
        object_type="auth.user",
        object_id=str(username or "")[:150],
        changes={"username": str(username or "")[:150], "ip": ratelimits.client_ip(request)},
        request=request,
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            ratelimits.check(request, ratelimits.SENSITIVE)
        except RateLimited as exc:
            response = self.render_to_response(self.get_context_data(form=self.get_form(), rate_limited=True))
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failed_login(form.data.get("username"), self.request)
        return super().form_invalid(form)
