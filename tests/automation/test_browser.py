"""The trigger page and the weekly report in Debian Chromium against a real daphne (embedded
mode: eager Celery), at phone width: create a trigger in the editor, see a run in the log."""

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser


def test_trigger_editor_and_execution_log_at_390px(signed_in):
    page = signed_in("alice", viewport={"width": 390, "height": 844})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    project_id = page.evaluate(
        "async () => { const r = await window.contorl.api('GET', '/api/projects/'); "
        "return (r.data.results || r.data)[0].id; }"
    )
    page.goto(f"/projects/{project_id}/triggers/")
    assert page.locator(".trigger-item").count() >= 3  # the demo triggers
    # New trigger through the editor.
    page.click("#trigger-new")
    page.fill("#tf-name", "Browser made")
    page.select_option("#tf-event", "task_created")
    page.fill("#tf-conditions", '[{"field": "title", "op": "contains", "value": "browser"}]')
    page.fill("#tf-actions", '[{"type": "set_field", "field": "priority", "value": 3}]')
    with page.expect_navigation():
        page.click("#trigger-form button[type=submit]")
    item = page.locator(".trigger-item", has_text="Browser made")
    assert item.count() == 1
    # An invalid trigger is refused with the field named.
    page.click("#trigger-new")
    page.fill("#tf-name", "Broken")
    page.fill("#tf-actions", '[{"type": "webhook", "url": "ftp://nope"}]')
    page.click("#trigger-form button[type=submit]")
    page.wait_for_selector("#tf-error:not([hidden])")
    assert "actions[0]" in page.inner_text("#tf-error")
    page.click("#tf-cancel")
    # A task write fires it (eager mode: right after the commit), and the log shows the run.
    created = page.evaluate(
        "async (pid) => (await window.contorl.api('POST', '/api/tasks/',"
        " {project: pid, title: 'made in the browser'})).status",
        project_id,
    )
    assert created == 201
    item.locator("[data-action=log]").click()
    page.wait_for_selector("#log-rows tr")
    assert "Succeeded" in page.inner_text("#log-rows")
    # Phone width: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "automation-triggers-390")
    page.goto(f"/projects/{project_id}/reports/weekly/")
    assert page.locator("#total-completed").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "automation-weekly-report-390")
    assert errors == []


def test_owner_enables_webhooks_of_a_copied_trigger(signed_in):
    page = signed_in("alice", viewport={"width": 390, "height": 844})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    project_id = page.evaluate(
        "async () => { const r = await window.contorl.api('GET', '/api/projects/'); "
        "return (r.data.results || r.data)[0].id; }"
    )
    # As a template copy leaves it: webhook actions off.
    made = page.evaluate(
        "async (pid) => (await window.contorl.api('POST', '/api/projects/' + pid + '/triggers/',"
        " {name: 'Held hook', event: 'task_created', webhooks_enabled: false,"
        "  actions: [{type: 'webhook', url: 'https://hooks.example.com/in'}]})).data",
        project_id,
    )
    assert made["webhooks_enabled"] is False
    page.goto(f"/projects/{project_id}/triggers/")
    item = page.locator(".trigger-item", has_text="Held hook")
    assert item.locator(".webhooks-off").inner_text() == "Webhooks off"
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    with page.expect_navigation():
        item.locator("[data-action=webhooks]").click()
    assert "https://hooks.example.com/in" in dialogs[0]  # the owner sees where data would go
    item = page.locator(".trigger-item", has_text="Held hook")
    assert item.locator(".webhooks-off").count() == 0
    assert item.locator("[data-action=webhooks]").inner_text() == "Disable webhooks"
    state = page.evaluate(
        "async (id) => (await window.contorl.api('GET', '/api/triggers/' + id + '/')).data.webhooks_enabled",
        made["id"],
    )
    assert state is True
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
