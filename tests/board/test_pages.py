"""Server-rendered pages: who sees what, the embedded first state, query counts, i18n."""

import json

import pytest
from django.test import Client

from tests.board.factories import make_project, make_task, statuses

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return make_project(user, name="Línea 3")


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def page_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="page-data" type="application/json">') + len(
        '<script id="page-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_anonymous_is_sent_to_login(project):
    for url in ("/projects/", f"/projects/{project.pk}/board/", "/workload/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_every_page_renders_for_a_member(client_for, user, project):
    task = make_task(project, user, title="Check the press")
    client = client_for(user)
    for url, marker in (
        ("/projects/", "Línea 3"),
        (f"/projects/{project.pk}/board/", 'id="live-pill"'),
        (f"/projects/{project.pk}/list/", 'id="task-table"'),
        (f"/projects/{project.pk}/settings/", 'id="statuses"'),
        (f"/tasks/{task.pk}/", "Check the press"),
        ("/workload/", 'id="heatmap"'),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert marker in response.content.decode(), url
        assert "Content-Security-Policy" in response


def test_board_embeds_columns_and_cards(client_for, user, project):
    todo, doing, _ = statuses(project)
    make_task(project, user, title="A", status=todo)
    make_task(project, user, title="B", status=doing)
    data = page_data(client_for(user).get(f"/projects/{project.pk}/board/"))
    assert [s["name"] for s in data["board"]["statuses"]] == ["To do", "In progress", "Done"]
    assert [t["title"] for t in data["board"]["statuses"][1]["tasks"]] == ["B"]
    assert data["can_edit"] is True and data["role"] == "owner"


def test_outsider_gets_404(client_for, other_user, user, project):
    task = make_task(project, user)
    client = client_for(other_user)
    for url in (f"/projects/{project.pk}/board/", f"/projects/{project.pk}/settings/", f"/tasks/{task.pk}/"):
        assert client.get(url).status_code == 404, url


def test_a_deleted_task_page_is_for_those_who_may_restore_it(client_for, make_user, user, other_user, project):
    from tasks import services

    viewer = make_user("vic")
    project.members.create(user=viewer, role="viewer")
    task = make_task(project, user, title="Binned by mistake")
    services.task_delete(task=task, by=user)
    response = client_for(user).get(f"/tasks/{task.pk}/")  # the owner (a member may restore too)
    assert response.status_code == 200
    assert page_data(response)["task"]["is_deleted"] is True and page_data(response)["can_edit"] is True
    for stranger in (viewer, other_user):
        assert client_for(stranger).get(f"/tasks/{task.pk}/").status_code == 404


def test_viewer_page_is_read_only(client_for, make_user, user, project):
    viewer = make_user("vic")
    project.members.create(user=viewer, role="viewer")
    html = client_for(viewer).get(f"/projects/{project.pk}/board/").content.decode()
    assert 'class="quick-add"' not in html


def test_notification_link_redirects_to_task(client_for, user, project):
    task = make_task(project, user)
    response = client_for(user).get(f"/projects/{project.pk}/tasks/{task.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"


def test_board_page_queries_do_not_grow(client_for, user, project, django_assert_max_num_queries):
    client = client_for(user)
    make_task(project, user, title="warm")
    client.get(f"/projects/{project.pk}/board/")
    with django_assert_max_num_queries(20) as few:
        client.get(f"/projects/{project.pk}/board/")
    for i in range(25):
        make_task(project, user, title=f"t{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/projects/{project.pk}/board/")
    assert len(page_data(response)["board"]["statuses"][0]["tasks"]) == 26


def test_pages_in_traditional_chinese(client_for, user, project):
    client = client_for(user)
    client.cookies["django_language"] = "zh-hant"
    html = client.get(f"/projects/{project.pk}/board/").content.decode()
    assert "看板" in html
    assert "離線" in html


def test_project_tabs_reach_triggers_and_the_weekly_report(client_for, user, project):
    client = client_for(user)
    html = client.get(f"/projects/{project.pk}/board/").content.decode()
    for url in (f"/projects/{project.pk}/triggers/", f"/projects/{project.pk}/reports/weekly/"):
        assert f'href="{url}"' in html
        assert client.get(url).status_code == 200, url
    client.cookies["django_language"] = "zh-hant"
    html = client.get(f"/projects/{project.pk}/board/").content.decode()
    assert "觸發器" in html and "週報" in html


def test_board_scripts_are_translated(client_for, user):
    client = client_for(user)
    client.cookies["django_language"] = "zh-hant"
    catalog = client.get("/jsi18n/").content.decode()
    refresh_and_retry = "重新整理並重試"
    escaped = refresh_and_retry.encode("unicode_escape").decode()
    assert refresh_and_retry in catalog or escaped in catalog


def test_dashboard_card_lists_my_open_tasks(client_for, user, project):
    _todo, _doing, done = statuses(project)
    make_task(project, user, title="Mine and open", assignee=user)
    make_task(project, user, title="Mine but done", assignee=user, status=done)
    make_task(project, user, title="Nobody's")
    html = client_for(user).get("/").content.decode()
    assert 'id="my-tasks-card"' in html
    assert "Mine and open" in html
    assert "Mine but done" not in html and "Nobody&#x27;s" not in html
