import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from contorl.logging import RequestIdFilter, request_id_var


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("contorl.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("req-42")
    try:
        assert RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s").format(record)
    parsed = json.loads(line)
    assert parsed["message"] == "hello world"
    assert parsed["request_id"] == "req-42"
    assert parsed["levelname"] == "INFO"


@pytest.mark.django_db
def test_version_conflicts_are_logged_without_secrets(admin_api, user, caplog):
    admin_api.patch(f"/api/users/{user.pk}/", {"role": "manager", "version": 1})
    with caplog.at_level(logging.INFO, logger="contorl.conflicts"):
        assert admin_api.patch(f"/api/users/{user.pk}/", {"role": "operator", "version": 1}).status_code == 409
    (record,) = [r for r in caplog.records if r.name == "contorl.conflicts"]
    assert (record.entity, record.entity_id, record.expected_version, record.actual_version) == (
        "accounts.User",
        user.pk,
        1,
        2,
    )
    assert record.user_id is not None
    assert "password" not in record.getMessage()
