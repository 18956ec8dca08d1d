from django.conf import settings

# Scripts and styles are all served from /static/; no inline script is needed by any page.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        # The browsable API and the Swagger page inline their own scripts.
        if not request.path.startswith(("/api/", "/admin/")):
            response.setdefault("Content-Security-Policy", self.policy)
        return response
