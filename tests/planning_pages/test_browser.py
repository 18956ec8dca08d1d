"""The planning pages in Debian Chromium against a real daphne with the demo data: drag an
assignment in the calendar, move several at once with one conflict, watch another calendar
follow, and read plan vs actual as a chart, a table and a CSV file."""

from pathlib import Path

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

ASSIGNMENT = "async (id) => (await window.contorl.api('GET', '/api/planning/assignments/' + id + '/')).data"


def open_calendar(page):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/planning/")
    page.wait_for_selector("#calendar[data-rendered] .cal-bar")
    page.wait_for_selector("#live-pill[data-state=live]")
    return errors


def bars(page):
    return page.locator(".cal-bar")


def wait_redrawn(page, before: str):
    page.wait_for_function("(b) => document.getElementById('calendar').dataset.rendered !== b", arg=before)


def test_drag_moves_and_resizes_an_assignment(signed_in):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    errors = open_calendar(page)
    assert page.locator(".cal-cell.over").count() > 0, "the demo's over-allocated days are highlighted"
    bar = bars(page).first
    ident = int(bar.get_attribute("data-id"))
    before = page.evaluate(ASSIGNMENT, ident)
    box = bar.bounding_box()
    rendered = page.get_attribute("#calendar", "data-rendered")
    with page.expect_response(lambda r: r.url.endswith("/api/planning/assignments/bulk/")) as response:
        page.mouse.move(box["x"] + 12, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 12 + 34, box["y"] + box["height"] / 2, steps=4)
        page.mouse.move(box["x"] + 12 + 2 * 34, box["y"] + box["height"] / 2, steps=4)
        page.mouse.up()
    assert response.value.json()["failed"] == []
    wait_redrawn(page, rendered)
    after = page.evaluate(ASSIGNMENT, ident)
    assert after["version"] == before["version"] + 1
    assert (after["start"], after["worker"]) != (before["start"], None)
    from datetime import date

    shift = (date.fromisoformat(after["start"]) - date.fromisoformat(before["start"])).days
    assert shift == 2 and (date.fromisoformat(after["end"]) - date.fromisoformat(before["end"])).days == 2
    # Resize: drag the right edge one day left.
    bar = page.locator(f".cal-bar[data-id='{ident}']")
    edge = bar.locator(".cal-resize").bounding_box()
    rendered = page.get_attribute("#calendar", "data-rendered")
    with page.expect_response(lambda r: r.url.endswith("/api/planning/assignments/bulk/")):
        page.mouse.move(edge["x"] + 3, edge["y"] + 5)
        page.mouse.down()
        page.mouse.move(edge["x"] + 3 - 34, edge["y"] + 5, steps=4)
        page.mouse.up()
    wait_redrawn(page, rendered)
    resized = page.evaluate(ASSIGNMENT, ident)
    assert resized["start"] == after["start"]
    assert (date.fromisoformat(after["end"]) - date.fromisoformat(resized["end"])).days in (1, 0)
    assert resized["end"] >= resized["start"]
    shoot(page, "planning-calendar")
    assert errors == []


def test_bulk_move_with_one_conflict_retries_the_failed_one(signed_in):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    open_calendar(page)
    ids = [int(x) for x in page.locator(".cal-bar").evaluate_all("bs => bs.slice(0, 2).map(b => b.dataset.id)")]
    page.locator(f".cal-bar[data-id='{ids[0]}']").click()
    page.locator(f".cal-bar[data-id='{ids[1]}']").click(modifiers=["Control"])
    assert page.inner_text("#cal-selection").startswith("2")
    before = {i: page.evaluate(ASSIGNMENT, i) for i in ids}
    # Someone else edits the second one; this calendar still holds the old version when it moves.
    page.evaluate(
        """async (a) => {
          await window.contorl.api('PATCH', '/api/planning/assignments/' + a.id + '/',
                                   {version: a.version, hours_per_day: '3.50'});
          document.getElementById('cal-right').click();
        }""",
        before[ids[1]],
    )
    dialog = page.locator("#bulk-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator("tbody tr").count() == 1
    assert dialog.locator(f"tbody tr[data-id='{ids[1]}']").count() == 1
    moved = page.evaluate(ASSIGNMENT, ids[0])
    assert moved["version"] == before[ids[0]]["version"] + 1
    with page.expect_response(lambda r: r.url.endswith("/api/planning/assignments/bulk/")) as response:
        page.click("#bulk-retry")
    assert response.value.json()["failed"] == []
    retried = page.evaluate(ASSIGNMENT, ids[1])
    assert retried["hours_per_day"] == "3.50"  # their change is kept
    assert retried["version"] == before[ids[1]]["version"] + 2
    from datetime import date

    for ident in ids:
        now = page.evaluate(ASSIGNMENT, ident)
        assert (date.fromisoformat(now["start"]) - date.fromisoformat(before[ident]["start"])).days == 1


def test_another_open_calendar_follows(signed_in):
    alice = signed_in("alice", viewport={"width": 1280, "height": 800})
    admin = signed_in("admin", viewport={"width": 1280, "height": 800})
    open_calendar(alice)
    open_calendar(admin)
    ident = int(alice.locator(".cal-bar").first.get_attribute("data-id"))
    start = admin.get_attribute(f".cal-bar[data-id='{ident}']", "data-start")
    alice.locator(f".cal-bar[data-id='{ident}']").click()
    alice.click("#cal-left")
    admin.wait_for_function(
        "([id, s]) => { const b = document.querySelector(`.cal-bar[data-id='${id}']`); "
        "return b && b.dataset.start !== s; }",
        arg=[ident, start],
    )
    now = admin.evaluate(ASSIGNMENT, ident)
    assert admin.get_attribute(f".cal-bar[data-id='{ident}']", "data-start") == now["start"]


def test_a_calendar_that_was_away_catches_up_when_it_is_back(signed_in):
    from datetime import date, timedelta

    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    open_calendar(page)
    ident = int(page.locator(".cal-bar").first.get_attribute("data-id"))
    page.evaluate("() => window.contorlCalendar.state.sockets.forEach((e) => e.socket.close())")
    page.wait_for_selector("#live-pill[data-state=offline]")
    row = page.evaluate(ASSIGNMENT, ident)
    moved = (date.fromisoformat(row["start"]) + timedelta(days=1)).isoformat()
    ended = (date.fromisoformat(row["end"]) + timedelta(days=1)).isoformat()
    status = page.evaluate(
        "async ([id, body]) => "
        "(await window.contorl.api('PATCH', '/api/planning/assignments/' + id + '/', body)).status",
        [ident, {"version": row["version"], "start": moved, "end": ended}],
    )
    assert status == 200
    # Nothing came live while away; back online, the calendar reads again.
    assert page.get_attribute(f".cal-bar[data-id='{ident}']", "data-start") == row["start"]
    page.evaluate("() => window.contorlCalendar.state.sockets.forEach((e) => e.socket.reopen())")
    page.wait_for_selector("#live-pill[data-state=live]")
    page.wait_for_function(
        "([id, s]) => { const b = document.querySelector(`.cal-bar[data-id='${id}']`); "
        "return b && b.dataset.start === s; }",
        arg=[ident, moved],
    )


def test_plan_vs_actual_chart_table_and_csv(signed_in):
    page = signed_in("alice", viewport={"width": 1280, "height": 800})
    page.goto("/planning/plan-vs-actual/")
    assert page.locator("#pva-chart polyline.line-planned").count() == 1
    assert page.locator("#pva-chart polyline.line-actual").count() == 1
    weeks = page.locator("#pva-table tbody tr[data-week]")
    assert weeks.count() >= 4  # the demo plans a month
    api = page.evaluate(
        "async () => { const s = document.getElementById('pva-scope').value.split(':'); "
        "return (await window.contorl.api('GET', '/api/planning/plan-vs-actual/?' + s[0] + '=' + s[1])).data; }"
    )
    totals = page.locator("#pva-totals td").all_inner_texts()
    assert totals[1:3] == [api["totals"]["planned_hours"], api["totals"]["actual_hours"]]
    assert float(api["totals"]["actual_cost"]) > 0
    with page.expect_download() as download:
        page.click("#pva-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("week,week_start,planned_hours")
    assert text.splitlines()[-1].startswith("total,")
    # Another scope through the page's own form (no JavaScript needed).
    page.select_option("#pva-scope", index=1)
    with page.expect_navigation():
        page.click("#pva-filters button[type=submit]")
    assert page.locator("#pva-title").count() == 1
    shoot(page, "planning-plan-vs-actual")


def test_timesheet_logs_edits_and_deletes_hours(signed_in):
    from playwright.sync_api import expect

    page = signed_in("bob")  # a worker (PLC engineer, 65.00 an hour in the demo) and member of both projects
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/planning/timesheet/")
    expect(page.locator("#ts-total")).not_to_be_empty()
    form = page.locator("#ts-add")
    form.locator("select[name=project]").select_option(index=0)
    form.locator("input[name=hours]").fill("2.5")
    form.locator("input[name=note]").fill("from the timesheet")

    def answer(method, ident=None):
        tail = "/api/planning/actuals/" + (f"{ident}/" if ident else "")
        return lambda r: r.request.method == method and r.url.split("?")[0].endswith(tail)

    with page.expect_response(answer("POST")) as created:
        form.locator("button[type=submit]").click()
    assert created.value.status == 201
    actual = created.value.json()
    assert (actual["hours"], actual["cost"], actual["note"]) == ("2.50", "162.50", "from the timesheet")
    row = page.locator(f"#ts-rows tr[data-id='{actual['id']}']")
    expect(row.locator("td").nth(4)).to_have_text("162.50")  # priced with the rate valid that day

    # Change the hours in the row: a PATCH with the row's version, re-priced.
    row.locator("input.ts-hours").fill("4")
    with page.expect_response(answer("PATCH", actual["id"])) as patched:
        row.locator("input.ts-hours").blur()
    assert patched.value.status == 200 and patched.value.json()["version"] == 2
    expect(row.locator("td").nth(4)).to_have_text("260.00")

    # Someone else changes it meanwhile: this page's edit is refused and shows their value.
    page.evaluate(
        "async (id) => window.contorl.api('PATCH', '/api/planning/actuals/' + id + '/', {version: 2, hours: '6'})",
        actual["id"],
    )
    row.locator("input.ts-hours").fill("5")
    with page.expect_response(answer("PATCH", actual["id"])) as stale:
        row.locator("input.ts-hours").blur()
    assert stale.value.status == 409
    expect(page.locator(".toast-error")).to_contain_text("Someone else changed this entry")
    expect(row.locator("input.ts-hours")).to_have_value("6.00")
    expect(row.locator("td").nth(4)).to_have_text("390.00")

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(answer("DELETE", actual["id"])) as deleted:
        row.get_by_role("button", name="Delete").click()
    assert deleted.value.status == 204
    expect(row).to_have_count(0)
    shoot(page, "planning-timesheet")
    assert errors == []
