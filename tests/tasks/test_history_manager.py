"""contorl.history: simple_history's manager class is built once, and still works."""

import pytest

from rooms.models import Room
from tasks.models import Task

pytestmark = pytest.mark.django_db


def test_the_history_manager_class_is_built_once():
    assert type(Task.history) is type(Task.history) is type(Room.history)
    assert Task.history.model is not Room.history.model  # each manager still knows its own model


def test_history_rows_are_recorded_and_read_through_it(api, make_task, statuses):
    task = make_task(status=statuses[0])
    r = api.patch(f"/api/tasks/{task.pk}/", {"version": task.version, "title": "Renamed"}, format="json")
    assert r.status_code == 200, r.content
    task.refresh_from_db()
    titles = list(task.history.order_by("history_date").values_list("title", flat=True))
    assert titles[-1] == "Renamed" and len(titles) >= 2
    assert task.history.most_recent().title == "Renamed"
    assert Task.history.filter(id=task.pk).count() == len(titles)
