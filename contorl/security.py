from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        # The browsable API and the Swagger page inline their own scripts.
        if not request.path.startswith(("/api/", "/admin/")):
            response.setdefault("Content-Security-Policy", self.policy)
        return response


class InputSanityMiddleware:
    """Refuse NUL characters in the path, the query string and url-encoded form bodies.

    PostgreSQL cannot hold NUL in text, so `?search=%00` reaching a filter ends in a 500;
    it is bad input, answered 400 `validation_error` before any view runs. JSON and other
    DRF bodies are checked by contorl/parsers.py; multipart bodies are left to the DRF
    parsers and Django forms (reading them here would bypass their upload handlers).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .parsers import contains_nul

        where = None
        if "\x00" in request.path_info:
            where = "path"
        elif contains_nul(request.GET):
            where = "query"
        elif (
            request.method == "POST"
            and request.content_type == "application/x-www-form-urlencoded"
            and contains_nul(request.POST)
        ):
            where = "body"
        if where is None:
            return self.get_response(request)
        return _bad_input(request, where)


def _bad_input(request, where: str):
    from django.shortcuts import render
    from django.utils.translation import gettext as _

    from .errors import ValidationFailed, json_error_response

    message = _("Text may not contain NUL (\\u0000) characters.")
    if request.path.startswith("/api/"):
        return json_error_response(ValidationFailed(message, details={where: [message]}))
    return render(request, "contorl/error.html", {"status": 400}, status=400)


def local_secret_key(path) -> str:
    """The development SECRET_KEY: random, made once per checkout in `path` (mode 0600).

    A key committed to the repository would sign JWTs and sessions that every other
    checkout accepts; this one exists only here. Two processes starting at once race to
    create the file; os.link is atomic, so both end up reading the same key.
    """
    import os
    import secrets
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(64) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 50:
        raise ValueError(f"{path} holds no usable secret key; delete it to make a new one.")
    return key
