"""Issue #15, the web UI as a person meets it (rooms aside), in a real browser against a real
daphne: docs without internet, no internals on screen, one's own changes not announced as
someone else's, a confirmed delete, zh-Hant text and dates, the weekly report's first week,
the favicon and the 405 page."""

import datetime
import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

SETUP = """
import datetime, json, uuid
from contorl.accounts.models import User
from tasks import services
from tasks.models import Status, Task
alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
key = "UI" + uuid.uuid4().hex[:6].upper()
project = services.project_create(by=alice, name="Polish line " + key, key=key)
services.member_add(project=project, user=bob, role="member", by=alice)  # notifies bob, in English here
todo, doing, done = Status.objects.filter(project=project).order_by("order")
services.custom_field_create(project=project, by=alice, key="sev", name="Severity", type="select",
    options=["Low", "High"])
services.custom_field_create(project=project, by=alice, key="owner", name="Owner", type="user")
today = datetime.date(2026, 12, 1)
hist = services.task_create(project=project, by=alice, title="History me", status=todo, custom_fields={"sev": "Low"})
hist = services.task_update(task=hist, version=hist.version, by=alice, custom_fields={"sev": "High", "owner": bob.pk})
services.task_delete(task=hist, by=alice)
hist = Task.all_objects.get(pk=hist.pk)
services.task_restore(task=hist, by=alice)
dated = services.task_create(project=project, by=alice, title="Dated", status=todo,
    start_date=today, due_date=datetime.date(2027, 1, 15))
doomed = services.task_create(project=project, by=alice, title="Doomed", status=todo)
gone = services.task_create(project=project, by=alice, title="Already gone", status=todo)
services.task_delete(task=gone, by=alice)
print(json.dumps({"project": project.pk, "todo": todo.pk, "doing": doing.pk, "hist": hist.pk, "dated": dated.pk,
                  "doomed": doomed.pk, "gone": gone.pk}))
"""


@pytest.fixture(scope="module")
def ui(daphne_server):
    out = daphne_server.run_python(SETUP)
    return json.loads(out.strip().splitlines()[-1])


def in_chinese(page, daphne_server):
    page.context.add_cookies([{"name": "django_language", "value": "zh-hant", "url": daphne_server.url}])
    return page


def local_only(page):
    """Abort every request that leaves this machine; returns the list of what was tried."""
    tried = []

    def handle(route):
        host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", route.request.url)
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    page.context.route("**/*", handle)
    return tried


# --- 3. API docs from the app itself ------------------------------------------------------------


def test_api_docs_render_without_internet(signed_in):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    tried = local_only(page)
    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator('.opblock-summary-path[data-path^="/api/"]').first).to_be_visible()
    shoot(page, "issue15-api-docs")
    assert tried == []
    page.goto("/api/redoc/")
    # ReDoc lays out the whole schema on the main thread before its first paint: slow, not broken.
    expect(page.get_by_role("heading", name=re.compile("CONTORL API"))).to_be_visible(timeout=60_000)
    # Only ReDoc's "API docs by Redocly" badge image points outside; its code and styles are ours.
    assert [url for url in tried if not url.endswith(".svg")] == []


# --- 5. no internals on screen ----------------------------------------------------------------------


def test_history_reads_as_labels_names_and_events(signed_in, ui):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    page.goto(f"/tasks/{ui['hist']}/")
    history = page.locator("#history")
    expect(history).to_contain_text("Severity: Low → High")
    expect(history).to_contain_text("Owner: — → Bob Lin")
    expect(history).to_contain_text("Deleted the task")
    expect(history).to_contain_text("Restored the task")
    text = history.inner_text()
    for internal in ("{", "deleted_by", "deleted_at", "is_deleted", "Is deleted", "custom_fields", "Position"):
        assert internal not in text, f"{internal!r} shown in the history:\n{text}"
    shoot(page, "issue15-task-history-en")


def test_validation_toast_uses_field_labels(signed_in, ui):
    page = signed_in("alice")
    page.goto(f"/tasks/{ui['dated']}/")
    expect(page.locator("#f-title")).to_have_value("Dated")
    page.fill("#task-form input[name=due_date]", "2026-11-01")  # before the start date
    page.click("#save-task")
    toast = page.locator(".toast-error")
    expect(toast).to_contain_text("Due date:")
    assert "due_date" not in toast.inner_text()


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "You are offline; the change was not saved"), ("zh-hant", "您已離線，變更未儲存")],
)
def test_offline_save_says_so_in_the_page_language(signed_in, ui, daphne_server, language, message):
    page = signed_in("alice")
    if language != "en":
        in_chinese(page, daphne_server)
    page.goto(f"/tasks/{ui['dated']}/")
    expect(page.locator("#f-title")).to_have_value("Dated")
    page.context.set_offline(True)
    page.fill("#f-title", "Dated offline")
    page.click("#save-task")
    toast = page.locator(".toast-error")
    expect(toast).to_contain_text(message)
    assert "Failed to fetch" not in toast.inner_text()
    page.context.set_offline(False)


def test_conflict_dialog_shows_no_position_numbers(signed_in, ui):
    page = signed_in("alice")
    page.goto(f"/projects/{ui['project']}/board/")
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live")
    page.evaluate(
        """([todo, doing]) => {
            const statuses = [{id: todo, name: "To do"}, {id: doing, name: "Doing"}];
            const current = {version: 7, position: 2048, status: todo};
            window.contorlTasks.conflictDialog({position: 5120}, current, {statuses});
        }""",
        [ui["todo"], ui["doing"]],
    )
    dialog = page.locator("#conflict-dialog")
    expect(dialog).to_be_visible()
    text = dialog.inner_text()
    assert "5120" not in text and "2048" not in text, text
    expect(dialog).to_contain_text("Order in column")


def test_audit_trail_changes_are_lines_not_python_dicts(signed_in, ui):
    page = signed_in("admin", viewport={"width": 1280, "height": 800})
    page.goto(f"/audit/?object_type=tasks.task&object_id={ui['hist']}")
    changes = page.locator(".audit-changes li")
    expect(changes.first).to_be_visible()
    for line in changes.all_inner_texts():
        assert "{'" not in line and "': " not in line and "[" not in line, line
    actor = page.locator("td[data-label=Actor]").first
    expect(actor).to_have_text("Alice Chen")
    shoot(page, "issue15-audit-en")


# --- 6. one's own changes, deleting ---------------------------------------------------------------


def test_own_change_in_another_tab_is_not_someone_elses(signed_in, ui):
    first = signed_in("alice")
    second = first.context.new_page()
    first.goto(f"/tasks/{ui['hist']}/")
    expect(first.locator("#live-pill")).to_have_attribute("data-state", "live")
    second.goto(f"/tasks/{ui['hist']}/")
    expect(second.locator("#f-title")).to_have_value("History me")
    second.fill("#f-title", "History me, renamed")
    second.click("#save-task")
    expect(second.locator(".toast-success")).to_be_visible()
    banner = first.locator("#remote-change")
    expect(banner).to_contain_text("You changed this task in another window or tab.")
    assert "Alice Chen changed" not in banner.inner_text()
    # and the tab that saved does not announce its own save
    expect(second.locator("#remote-change")).to_have_count(0)


def test_own_restore_is_not_announced(signed_in, ui):
    page = signed_in("alice")
    page.goto(f"/tasks/{ui['gone']}/")
    pill = page.locator("#live-pill")
    expect(pill).to_have_attribute("data-state", "live")
    expect(page.locator("#deleted-banner")).to_be_visible()
    before = int(pill.get_attribute("data-delivered") or 0)
    page.click("#restore-alone")
    expect(page.locator(".toast-success")).to_be_visible()
    # the restore's own event has come back over the socket by now
    page.wait_for_function("n => Number(document.getElementById('live-pill').dataset.delivered || 0) > n", arg=before)
    expect(page.locator("#remote-change")).to_have_count(0)
    expect(page.locator("#delete-task")).to_be_visible()


def test_delete_asks_first_and_a_deleted_task_offers_no_delete(signed_in, ui):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    page.goto(f"/tasks/{ui['doomed']}/")
    page.click("#delete-task")
    expect(page.locator("#delete-question")).to_contain_text("Doomed")
    expect(page.locator("#deleted-banner")).to_have_count(0)  # nothing deleted yet
    page.click("#delete-cancel")
    expect(page.locator("#delete-question")).to_have_count(0)
    page.click("#delete-task")
    page.click("#delete-confirm")
    expect(page.locator("#deleted-banner")).to_be_visible()
    expect(page.get_by_role("button", name="Delete task")).to_have_count(0)
    page.reload()
    expect(page.locator("#deleted-banner")).to_be_visible()
    expect(page.get_by_role("button", name="Delete task")).to_have_count(0)
    shoot(page, "issue15-deleted-task-en")


# --- 7. zh-Hant: seeded notifications, dates ----------------------------------------------------------


def test_seeded_notifications_in_the_readers_language(signed_in, ui, daphne_server):
    page = in_chinese(signed_in("bob", viewport={"width": 1280, "height": 800}), daphne_server)
    # the seed's own notes may be past the first page by now (other tests notify bob too): the API
    # in the same session, so in the same language, lists them all
    notes = page.request.get("/api/notifications/?page_size=100").json()["results"]
    titles = {n["data"].get("seed"): n["title"] for n in notes if n["data"].get("seed")}
    assert titles == {"welcome": "歡迎使用 CONTORL", "room_invite": "您已被加入事件處理室"}
    # and the page: SETUP added bob to its project while English was active
    page.goto("/notifications/")
    added = page.locator(".notif-title", has_text="Polish line")
    expect(added.first).to_contain_text("您已被加入專案")
    expect(added.first).to_contain_text("成員")
    expect(page.locator(".notif-meta time").first).to_contain_text("年")
    shoot(page, "issue15-notifications-zh")
    page.click("#bell")
    expect(page.locator("#bell-dropdown")).to_contain_text("您已被加入專案")


def test_dates_follow_the_page_language(signed_in, ui, daphne_server):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    page.goto(f"/projects/{ui['project']}/board/")
    chip = page.locator(f"#task-card-{ui['dated']} .chip", has_text="2027")
    expect(chip).to_have_text(re.compile(r"^(⚠ )?Jan 15, 2027$"))
    page.goto(f"/tasks/{ui['dated']}/")
    expect(page.locator("#history .when").first).to_contain_text(re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}"))
    in_chinese(page, daphne_server)
    page.goto(f"/projects/{ui['project']}/board/")
    chip = page.locator(f"#task-card-{ui['dated']} .chip", has_text="2027")
    expect(chip).to_have_text(re.compile(r"^(⚠ )?2027年1月15日$"))
    shoot(page, "issue15-board-zh")
    page.goto(f"/tasks/{ui['dated']}/")
    expect(page.locator("#history .when").first).to_contain_text("年")
    shoot(page, "issue15-task-zh")


# --- 8. the weekly report opens where the data is --------------------------------------------------


def test_weekly_report_opens_on_the_latest_week_with_data(signed_in, ui, daphne_server):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    page.goto(f"/projects/{ui['project']}/reports/weekly/")
    year, week, _ = datetime.date.today().isocalendar()
    expect(page.locator("#week-input")).to_have_attribute("type", "week")
    expect(page.locator("#week-input")).to_have_value(f"{year}-W{week:02d}")
    assert int(page.locator("#total-created").inner_text()) >= 3
    shoot(page, "issue15-weekly-en")
    page.click("#prev-week")
    expect(page.locator("#total-created")).to_have_text("0")
    expect(page.locator("#latest-week")).to_be_visible()  # a way back to the data
    in_chinese(page, daphne_server)
    page.goto(f"/projects/{ui['project']}/reports/weekly/")
    expect(page.locator("#week-range")).to_contain_text("年")
    shoot(page, "issue15-weekly-zh")


# --- 9. favicon, 405 ---------------------------------------------------------------------------------------


def test_favicon_and_the_405_page(signed_in):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    page.goto("/projects/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href and href.endswith(".svg")
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.body()
    response = page.goto("/accounts/logout/")  # sign-out is POST only
    assert response.status == 405
    expect(page.locator("main h1")).to_have_text("405")
    expect(page.locator("#sidebar")).to_be_visible()  # the app's own page, still signed in
    shoot(page, "issue15-405-en")
    api = page.request.get("/api/auth/token/")
    assert api.status == 405
    assert api.json()["error"]["code"]
