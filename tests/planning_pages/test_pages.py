"""The planning pages as rendered by the server: reachable from the menu, translated (every
string of their templates and scripts has a zh-Hant text), plan vs actual computed on the
server with its CSV link, and no report for a scope the user may not see."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from planning import services
from tests.tasks.factories import make_project

pytestmark = pytest.mark.django_db
PLANNING = Path(__file__).resolve().parents[2] / "planning"


def _catalog(name: str) -> dict:
    with (PLANNING / "locale/zh_Hant/LC_MESSAGES" / name).open("rb") as f:
        # a plural entry's id and string are tuples: key it by its singular, check every form
        return {
            (m.id[0] if isinstance(m.id, tuple) else m.id): (all(m.string) if isinstance(m.string, tuple) else m.string)
            for m in read_po(f)
            if m.id
        }


def test_every_planning_page_string_has_a_zh_hant_text():
    templates = "\n".join(p.read_text() for p in (PLANNING / "templates/planning").glob("*.html"))
    wanted = set(re.findall(r'{% trans "([^"]+)" %}', templates)) | set(re.findall(r"{% trans '([^']+)' %}", templates))
    blocks = re.findall(r"{% blocktrans[^%]*%}(.*?){% endblocktrans %}", templates, re.S)
    assert blocks, "the pages' blocktrans texts are checked too"
    wanted |= {re.sub(r"{{ *(\w+) *}}", r"%(\1)s", block) for block in blocks}  # as makemessages writes them
    django = _catalog("django.po")
    missing = sorted(w for w in wanted if not django.get(w))
    assert missing == [], missing
    scripts = "\n".join(p.read_text() for p in (PLANNING / "static/planning").glob("*.js"))
    js_wanted = set(re.findall(r'gettext\("([^"]+)"\)', scripts)) | set(re.findall(r'ngettext\("([^"]+)"', scripts))
    js = _catalog("djangojs.po")
    missing = sorted(w for w in js_wanted if not js.get(w))
    assert missing == [], missing


def test_pages_render_in_both_languages(client_for, user):
    client = client_for(user)
    for url in ("/planning/", "/planning/plan-vs-actual/", "/planning/timesheet/"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert 'href="/planning/"' in client.get("/").content.decode()
    client.cookies["django_language"] = "zh-hant"
    html = client.get("/planning/").content.decode()
    assert "人力指派行事曆" in html and "只重試失敗的項目" in html
    assert "您尚未被設定為人員" in client.get("/planning/timesheet/").content.decode()


def test_plan_vs_actual_page_is_computed_on_the_server(client_for, user, admin_user):
    import datetime
    from decimal import Decimal

    project = make_project(user)
    welder = services.worker_type_create(by=admin_user, name="Welder")
    services.rate_create(
        by=admin_user, worker_type=welder, cost_per_hour=Decimal("40"), valid_from=datetime.date(2026, 1, 1)
    )
    worker = services.worker_create(by=admin_user, worker_type=welder, name="Kurt")
    monday = datetime.date(2026, 3, 2)
    services.assignment_create(
        by=admin_user,
        worker=worker,
        project=project,
        start=monday,
        end=monday + datetime.timedelta(days=4),
        hours_per_day=Decimal(8),
    )
    services.actual_create(by=admin_user, worker=worker, project=project, date=monday, hours=Decimal("6.5"))
    html = client_for(user).get(f"/planning/plan-vs-actual/?scope=project:{project.pk}").content.decode()
    assert '<polyline class="line-planned"' in html and '<polyline class="line-actual"' in html
    assert 'data-week="2026-W10"' in html
    totals = re.search(r'<tr id="pva-totals">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", totals)
    assert cells[1:3] == ["40.00", "6.50"] and cells[4:6] == ["1600.00", "260.00"]
    assert f"/api/planning/plan-vs-actual/export/?project={project.pk}" in html


def test_plan_vs_actual_of_a_hidden_project_is_404(client_for, make_user):
    stranger = make_user("stranger")
    hidden = make_project(make_user("owner2"))
    response = client_for(stranger).get(f"/planning/plan-vs-actual/?project={hidden.pk}")
    assert response.status_code == 404
