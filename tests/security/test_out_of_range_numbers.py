"""Numbers past what the database can hold are the caller's error (400/404), never a 500.

SQLite (the embedded default) cannot even bind an integer over 2**63; dates near year
9999 overflow date arithmetic.
"""

import pytest

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/workload/?start=9999-12-31", 400),
        ("get", "/api/workload/?start=1000-01-01", 400),
        ("get", f"/api/workload/?department={HUGE}", 400),
        ("patch", f"/api/projects/1/members/{HUGE}/", 404),
        ("delete", f"/api/projects/1/members/{HUGE}/", 404),
        ("delete", f"/api/tasks/1/dependencies/{HUGE}/", 404),
        ("patch", f"/api/rooms/1/members/{HUGE}/", 404),
        ("get", f"/api/rooms/{HUGE}/", 404),
        ("get", f"/api/notifications/{HUGE}/", 404),
        ("get", f"/api/tasks/{HUGE}/", 404),
    ],
)
def test_out_of_range_numbers_are_refused_in_the_envelope(admin_api, method, url, status):
    response = getattr(admin_api, method)(url, {}, format="json")
    assert response.status_code == status, response.content
    assert set(response.json()["error"]) == {"code", "message", "details"}
