"""Planning error messages and admin names exist in zh-Hant."""

import pytest
from django.utils import translation

from planning.models import ResourceAssignment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    translation.deactivate()


def test_rate_overlap_error_follows_the_request_language(admin_api, welder, welder_rates):
    body = {"worker_type": welder.pk, "cost_per_hour": "1.00", "valid_from": "2026-03-15"}
    zh = admin_api.post("/api/planning/rates/", body, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert zh.status_code == 400
    assert zh.json()["error"]["message"].startswith("同一人員類型的費率期間不可重疊")
    assert zh.json()["error"]["details"]["valid_from"] == ["與此人員類型的另一個費率期間重疊。"]
    en = admin_api.post("/api/planning/rates/", body, HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["error"]["message"].startswith("Rates of one worker type must not overlap")


def test_admin_names_in_zh_hant():
    with translation.override("zh-hant"):
        assert str(ResourceAssignment._meta.verbose_name) == "資源指派"
        assert str(ResourceAssignment._meta.get_field("hours_per_day").verbose_name) == "每日時數"
