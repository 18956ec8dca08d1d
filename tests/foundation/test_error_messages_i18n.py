"""Domain error messages follow the request language (the web UI shows them in its toasts)."""

import pytest
from django.utils import translation

from tests.tasks.factories import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_language_left_behind():
    # LocaleMiddleware activates the request language on this thread and never resets it.
    yield
    translation.deactivate()


def test_a_domain_error_message_is_translated_for_the_request_language(api, user, make_user):
    project = make_project(make_user("owner"), members=[(user, "member")])
    body = {"project": project.pk, "title": "Replace belt", "start_date": "2026-05-10", "due_date": "2026-05-01"}

    r = api.post("/api/tasks/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "到期日不能早於開始日期。"
    assert error["details"] == {"due_date": ["到期日不能早於開始日期。"]}

    r = api.post("/api/tasks/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "The due date cannot be before the start date."
    assert error["details"] == {"due_date": ["The due date cannot be before the start date."]}
