"""The board in a real browser against a real daphne: live sync between two people, the
conflict dialog, the Live/Offline pill across a server restart, the heatmap, the phone menu."""

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import readme_shot, shoot

pytestmark = pytest.mark.browser

SETUP = """
import datetime, json, uuid
from decimal import Decimal
from contorl.accounts.models import User
from tasks import services
from tasks.models import Project, ProjectMember, Status
alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
key = "BR" + uuid.uuid4().hex[:6].upper()
project = services.project_create(by=alice, name="Browser line " + key, key=key)
ProjectMember.objects.create(project=project, user=bob, role="member")
todo, doing, done = Status.objects.filter(project=project).order_by("order")
today = datetime.date.today()
drag = services.task_create(project=project, by=alice, title="Drag me " + key, status=todo)
services.task_create(project=project, by=alice, title="Stay put", status=doing)
edit = services.task_create(project=project, by=alice, title="Edit me", status=todo, assignee=bob,
    estimated_hours=Decimal(30), start_date=today, due_date=today + datetime.timedelta(days=14))
c1, c2, c3 = (services.task_create(project=project, by=alice, title=f"Chain {n}", status=todo) for n in (1, 2, 3))
contested = services.task_create(project=project, by=alice, title="Contested", status=todo)
services.dependency_add(task=c1, depends_on=c2, by=alice)
services.dependency_add(task=c2, depends_on=c3, by=alice)
print(json.dumps({"project": project.pk, "todo": todo.pk, "doing": doing.pk, "drag": drag.pk, "edit": edit.pk,
                  "c1": c1.pk, "c2": c2.pk, "c3": c3.pk, "contested": contested.pk, "done": done.pk}))
"""


@pytest.fixture(scope="module")
def board_data(daphne_server):
    out = daphne_server.run_python(SETUP)
    return json.loads(out.strip().splitlines()[-1])


def open_board(page, project_id):
    page.goto(f"/projects/{project_id}/board/")
    expect(page.locator("#live-pill")).to_have_attribute("data-state", "live")  # subscribed


def test_drag_to_another_column_reaches_the_other_user_within_2s(signed_in, board_data):
    a, b = signed_in("alice"), signed_in("bob")
    open_board(a, board_data["project"])
    open_board(b, board_data["project"])
    card = f"#task-card-{board_data['drag']}"
    target = f'.board-column[data-status-id="{board_data["doing"]}"] .card-list'
    expect(b.locator(f'.board-column[data-status-id="{board_data["todo"]}"] {card}')).to_be_visible()

    a.locator(card).drag_to(a.locator(target))
    expect(a.locator(f"{target} {card}")).to_be_visible()  # optimistic on A
    expect(b.locator(f"{target} {card}")).to_be_visible(timeout=2000)  # live on B, no reload
    shoot(a, "board-after-drag-alice")
    readme_shot(a, "board")
    shoot(b, "board-after-drag-bob")
    # and the server kept it
    b.reload()
    expect(b.locator(f"{target} {card}")).to_be_visible()


def test_stale_edit_shows_conflict_dialog_then_refresh_and_retry(signed_in, board_data):
    a, b = signed_in("alice"), signed_in("bob")
    url = f"/tasks/{board_data['edit']}/"
    a.goto(url)
    b.goto(url)
    expect(a.locator("#f-title")).to_have_value("Edit me")
    expect(b.locator("#f-title")).to_have_value("Edit me")

    a.fill("#f-title", "Edited by Alice")
    a.click("#save-task")
    expect(a.locator("#version-note")).to_contain_text("2")

    b.select_option("select[name=priority]", "4")  # B's page still holds version 1
    b.click("#save-task")
    dialog = b.locator("#conflict-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("td.conflict-mine")).to_have_text("Urgent")
    expect(dialog.locator("td.conflict-current")).to_have_text("Normal")
    shoot(b, "conflict-dialog")
    readme_shot(b, "conflict-dialog")
    b.click("#conflict-retry")
    expect(dialog).to_be_hidden()
    expect(b.locator("#version-note")).to_contain_text("3")
    # both changes survived: Alice's title and Bob's priority
    expect(b.locator("#f-title")).to_have_value("Edited by Alice")
    expect(b.locator("select[name=priority]")).to_have_value("4")


def test_conflict_cancel_keeps_server_state(signed_in, board_data):
    a, b = signed_in("alice"), signed_in("bob")
    url = f"/tasks/{board_data['edit']}/"
    a.goto(url)
    b.goto(url)
    expect(b.locator("#f-title")).not_to_have_value("")
    a.fill("#f-description", "Alice's notes")
    a.click("#save-task")
    expect(a.locator(".toast-success")).to_be_visible()
    b.fill("#f-description", "Bob's notes")
    b.click("#save-task")
    expect(b.locator("#conflict-dialog")).to_be_visible()
    b.click("#conflict-cancel")
    expect(b.locator("#conflict-dialog")).to_have_count(0)
    a.reload()
    expect(a.locator("#f-description")).to_have_value("Alice's notes")


def test_pill_goes_offline_when_the_server_drops_and_live_after(signed_in, board_data, daphne_server):
    page = signed_in("bob")
    open_board(page, board_data["project"])
    pill = page.locator("#live-pill")
    daphne_server.stop()
    try:
        expect(pill).to_have_attribute("data-state", "offline", timeout=5000)
        expect(pill).to_have_class(re.compile("status-offline"))
        shoot(page, "board-offline")
    finally:
        daphne_server.start()
    # backoff 1, 2, 4 ... s: the next attempt after the restart succeeds
    expect(pill).to_have_attribute("data-state", "live", timeout=35_000)
    expect(pill).to_have_class(re.compile("status-live"))


def test_workload_heatmap_renders(signed_in, board_data):
    page = signed_in("alice")  # PROD department manager: sees the department
    page.goto("/workload/")
    heatmap = page.locator("#heatmap[data-rendered=true]")
    expect(heatmap).to_be_visible()
    expect(page.locator(".hm-user", has_text="Bob Lin")).to_be_visible()
    loaded = page.locator(".hm-cell:not(.load-0)")
    expect(loaded.first).to_be_visible()  # Bob's 30 h task colours some cells
    shoot(page, "workload-heatmap")
    readme_shot(page, "heatmap")


def test_hamburger_menu_at_390px(signed_in):
    page = signed_in("bob", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto("/projects/")
    link = page.locator("#sidebar a[href='/workload/']")
    expect(link).not_to_be_in_viewport()
    page.click("#nav-toggle")
    expect(page.locator("#nav-toggle")).to_have_attribute("aria-expanded", "true")
    expect(link).to_be_in_viewport()
    shoot(page, "menu-390px")
    link.click()
    expect(page).to_have_url(re.compile(r"/workload/$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_refused_cycle_is_drawn_as_a_linked_path(signed_in, board_data):
    page = signed_in("alice")
    page.goto(f"/tasks/{board_data['c3']}/")
    page.select_option("#dependency-select", str(board_data["c1"]))
    page.click("#dependency-form button[type=submit]")
    path = page.locator("#cycle-path .cycle-path")
    expect(path).to_be_visible()
    expect(path).to_contain_text("Chain 3 → Chain 1 → Chain 2 → Chain 3")
    hrefs = path.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    ids = [board_data[k] for k in ("c3", "c1", "c2", "c3")]
    assert hrefs == [f"/tasks/{i}/" for i in ids]
    shoot(page, "dependency-cycle")


def test_delete_warns_about_blockers_then_restore(signed_in, board_data):
    page = signed_in("alice")
    page.goto(f"/tasks/{board_data['c2']}/")
    page.click("#delete-task")
    page.click("#delete-confirm")  # deleting asks once more
    warning = page.locator("#blocker-warning")
    expect(warning).to_be_visible()
    expect(warning.locator("a", has_text="Chain 1")).to_have_attribute("href", f"/tasks/{board_data['c1']}/")
    page.click("#delete-force")
    expect(page.locator("#deleted-banner")).to_be_visible()
    page.click("#restore-cascade")
    expect(page.locator("#deleted-banner")).to_have_count(0)
    expect(page.locator(".toast-success")).to_be_visible()


def test_mention_autocomplete_and_comment(signed_in, board_data):
    page = signed_in("alice")
    page.goto(f"/tasks/{board_data['edit']}/")
    area = page.locator("#comment-body")
    area.click()
    area.press_sequentially("Please check @bo")
    expect(page.locator("#mention-list")).to_be_visible()
    expect(page.locator("#mention-bob")).to_have_attribute("aria-selected", "true")
    area.press("Enter")
    expect(area).to_have_value("Please check @bob ")
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#comments .comment-body", has_text="Please check @bob")).to_be_visible()


def test_attachment_drop_upload_shows_image_preview(signed_in, board_data):
    page = signed_in("alice")
    page.goto(f"/tasks/{board_data['edit']}/")
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "dot.png", {type: "image/png"}));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        PNG_1PX,
    )
    image = page.locator("#attachments img[alt='dot.png']")
    expect(image).to_be_visible()
    expect(page.locator("#attachments a", has_text="dot.png")).to_be_visible()
    # decode() settles once the bytes came back through the permission-checked download view
    assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 1


def test_an_older_list_answer_arriving_last_does_not_hide_a_new_attachment(signed_in, board_data):
    """The page-load GET of the attachments is held back until the upload and the GET after it
    have been answered; when the old (empty) answer finally lands it must not paint over the
    newer list. The server answers requests on threads of their own, so this order happens."""
    page = signed_in("alice")
    # Count the answers each URL's body was read for, so the test can wait for the late one.
    page.add_init_script(
        """(() => {
            const read = Response.prototype.text;
            window.__answered = {};
            Response.prototype.text = async function () {
                const body = await read.call(this);
                const path = new URL(this.url).pathname;
                window.__answered[path] = (window.__answered[path] || 0) + 1;
                return body;
            };
        })()"""
    )
    path = f"/api/tasks/{board_data['c3']}/attachments/"
    held = []

    def hold_the_first_get(route):
        if route.request.method == "GET" and not held:
            held.append(route)  # answered later, by hand
        else:
            route.continue_()

    page.route(f"**{path}", hold_the_first_get)
    page.goto(f"/tasks/{board_data['c3']}/")
    expect(page.locator("#dropzone")).to_be_visible()
    # Playwright hands a route to its handler between our calls: give it those calls.
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert len(held) == 1, "the page-load GET was not seen"
    old_answer = held[0].fetch()  # the server's answer before the upload, delivered later
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "late.png", {type: "image/png"}));
            document.getElementById("dropzone").dispatchEvent(
                new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        PNG_1PX,
    )
    link = page.locator("#attachments a", has_text="late.png")
    expect(link).to_be_visible()  # the GET after the upload, answered first

    answered = page.evaluate("(p) => window.__answered[p] || 0", path)
    old = old_answer.json()
    assert (old["results"] if isinstance(old, dict) else old) == []  # read before the upload
    held[0].fulfill(response=old_answer)  # now the old, empty answer
    page.wait_for_function("([p, n]) => (window.__answered[p] || 0) > n", arg=[path, answered])
    page.evaluate("() => new Promise((done) => setTimeout(done))")  # its reader has run by the next task
    expect(link).to_be_visible()
    expect(page.locator("#attachments li")).to_have_count(1)


def test_quick_add_and_filters(signed_in, board_data):
    page = signed_in("bob")
    open_board(page, board_data["project"])
    column = page.locator(f'.board-column[data-status-id="{board_data["todo"]}"]')
    column.locator("input[name=title]").fill("Quick one")
    column.locator("input[name=title]").press("Enter")
    expect(column.locator(".task-card", has_text="Quick one")).to_be_visible()
    page.fill("#board-filters input[name=q]", "quick")
    expect(page.locator(".task-card")).to_have_count(1)
    page.fill("#board-filters input[name=q]", "")
    card = column.locator(".task-card", has_text="Quick one")
    card.focus()
    card.press("Alt+ArrowRight")  # the keyboard alternative to dragging
    doing = page.locator(f'.board-column[data-status-id="{board_data["doing"]}"]')
    expect(doing.locator(".task-card", has_text="Quick one")).to_be_focused()
    card = doing.locator(".task-card", has_text="Quick one")
    card.press("Alt+ArrowLeft")
    expect(column.locator(".task-card", has_text="Quick one")).to_be_visible()
    page.select_option("#board-filters select[name=priority]", "0")  # nothing here has priority "none"
    expect(page.locator(".task-card")).to_have_count(0)
    page.select_option("#board-filters select[name=priority]", "")
    page.select_option("#board-filters select[name=assignee]", "none")
    expect(column.locator(".task-card", has_text="Quick one")).to_be_visible()
    expect(page.locator(".task-card", has_text="Edit me")).to_have_count(0)  # assigned to Bob


def test_list_view_sorts_and_filters(signed_in, board_data):
    page = signed_in("alice")
    page.goto(f"/projects/{board_data['project']}/list/")
    rows = page.locator("#task-table-body tr")
    expect(rows.first).to_be_visible()
    page.click("#task-table-head th:first-child button")
    first = rows.first.locator("td").first.inner_text()
    page.click("#task-table-head th:first-child button")
    expect(page.locator("#task-table-head th:first-child")).to_have_attribute("aria-sort", "descending")
    assert rows.first.locator("td").first.inner_text() != first
    page.fill("#board-filters input[name=q]", "chain")
    expect(rows).to_have_count(3)


def test_phone_width_pages(signed_in, board_data):
    page = signed_in("bob", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for name, url in (
        ("board", f"/projects/{board_data['project']}/board/"),
        ("task", f"/tasks/{board_data['edit']}/"),
        ("workload", "/workload/"),
    ):
        page.goto(url)
        expect(page.locator("#main")).to_be_visible()
        if name != "workload":
            expect(page.locator("#live-pill")).to_have_attribute("data-state", "live")
        else:
            expect(page.locator("#heatmap[data-rendered=true]")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 391, f"{name} page scrolls sideways at 390px ({overflow}px)"
        shoot(page, f"{name}-390px")


def test_two_tabs_apply_each_event_once(signed_in, board_data):
    tab1 = signed_in("bob")
    tab2 = tab1.context.new_page()
    open_board(tab1, board_data["project"])
    open_board(tab2, board_data["project"])
    alice = signed_in("alice")
    open_board(alice, board_data["project"])
    column = alice.locator(f'.board-column[data-status-id="{board_data["doing"]}"]')

    def add(title):
        column.locator("input[name=title]").fill(title)
        column.locator("input[name=title]").press("Enter")

    add("Seen once")
    for tab in (tab1, tab2):
        expect(tab.locator(".task-card", has_text="Seen once")).to_have_count(1)
        expect(tab.locator("#live-pill")).to_have_attribute("data-delivered", "1")
    # Each tab's socket delivers the event and the first tab to get it relays it to the
    # other over BroadcastChannel: the later copy is dropped by event_id, never applied twice.
    deadline = time.monotonic() + 5
    duplicates = lambda: sum(int(t.locator("#live-pill").get_attribute("data-duplicates") or 0) for t in (tab1, tab2))  # noqa: E731
    while duplicates() < 1 and time.monotonic() < deadline:
        tab1.wait_for_timeout(25)  # polling a condition with a deadline
    assert duplicates() >= 1
    for tab in (tab1, tab2):
        expect(tab.locator("#live-pill")).to_have_attribute("data-delivered", "1")

    # A tab whose own socket is gone still hears events through the other tab.
    tab2.evaluate("() => window.contorlLiveSocket.close()")
    expect(tab2.locator("#live-pill")).to_have_attribute("data-state", "offline")
    add("Relayed")
    expect(tab2.locator(".task-card", has_text="Relayed")).to_have_count(1)


def test_custom_and_formula_fields_from_settings_to_task(signed_in, board_data):
    page = signed_in("alice")
    page.goto(f"/projects/{board_data['project']}/settings/")
    form = page.locator("#field-form")

    def add_field(key, name, kind, formula=""):
        form.locator("input[name=key]").fill(key)
        form.locator("input[name=name]").fill(name)
        form.locator("select[name=type]").select_option(kind)
        form.locator("input[name=formula]").fill(formula)
        with page.expect_navigation():  # the page reloads with the new field
            form.locator("button[type=submit]").click()
        expect(page.locator("#fields", has_text=name)).to_be_visible()

    add_field("rate", "Rate", "number")
    add_field("cost", "Cost", "formula", "{estimated_hours} * {rate}")
    page.goto(f"/tasks/{board_data['edit']}/")
    page.fill("#cf-rate", "2.5")
    page.click("#save-task")
    expect(page.locator(".toast-success")).to_be_visible()
    expect(page.locator("#cf-cost")).to_have_text(re.compile(r"^75(\.0+)?$"))  # 30 h x 2.5
    page.reload()
    expect(page.locator("#cf-rate")).to_have_value("2.5")
    shoot(page, "task-custom-fields")


def test_stale_board_drag_gets_conflict_dialog_and_retry(signed_in, board_data):
    a, b = signed_in("alice"), signed_in("bob")
    open_board(a, board_data["project"])
    open_board(b, board_data["project"])
    b.evaluate("() => window.contorlLiveSocket.close()")  # B's board goes stale
    expect(b.locator("#live-pill")).to_have_attribute("data-state", "offline")
    card = f"#task-card-{board_data['contested']}"
    column = lambda page, key: page.locator(f'.board-column[data-status-id="{board_data[key]}"] .card-list')  # noqa: E731

    a.locator(card).drag_to(column(a, "doing"))
    expect(column(a, "doing").locator(card)).to_be_visible()
    expect(column(b, "todo").locator(card)).to_be_visible()  # B still sees the old column

    b.locator(card).drag_to(column(b, "done"))
    dialog = b.locator("#conflict-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("td.conflict-mine").first).to_have_text("Done")
    expect(dialog.locator("td.conflict-current").first).to_have_text("In progress")
    expect(column(b, "doing").locator(card)).to_be_visible()  # rolled to the current state meanwhile
    shoot(b, "board-conflict-dialog")
    b.click("#conflict-retry")
    expect(column(b, "done").locator(card)).to_be_visible()
    expect(column(a, "done").locator(card)).to_be_visible(timeout=2000)  # and A sees B's retry live


def test_owner_edits_a_custom_field_in_settings(signed_in, board_data, daphne_server):
    made = daphne_server.run_python(
        "from tasks import services; from tasks.models import Project; from contorl.accounts.models import User\n"
        f"p = Project.objects.get(pk={board_data['project']}); a = User.objects.get(username='alice')\n"
        "f = services.custom_field_create(project=p, by=a, key='line_no', name='Line no', type='select',"
        " options=['L1', 'L2'])\nprint(f.pk)"
    )
    field_id = int(made.strip().splitlines()[-1])
    alice = signed_in("alice")
    alice.goto(f"/projects/{board_data['project']}/settings/")
    row = alice.locator("#fields li", has_text="Line no")
    row.locator("button.field-edit").click()
    form = alice.locator("#field-form")
    expect(form.locator("input[name=key]")).to_have_value("line_no")
    expect(form.locator("input[name=key]")).to_have_js_property("readOnly", True)
    form.locator("input[name=name]").fill("Line number")
    form.locator("input[name=options]").fill("L1, L2, L3")
    form.locator("button[type=submit]").click()
    expect(alice.locator("#fields li", has_text="Line number")).to_contain_text("L1, L2, L3")
    stored = daphne_server.run_python(
        "from tasks.models import CustomField\n"
        f"f = CustomField.objects.get(pk={field_id}); print(f.name, f.options, f.version)"
    )
    assert stored.strip().splitlines()[-1] == "Line number ['L1', 'L2', 'L3'] 2"
