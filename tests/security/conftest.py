"""Shared fixtures of the security tests: one small world with every kind of caller."""

import io

import pytest
from PIL import Image


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def upload(name="note.txt", content=b"hello", content_type="text/plain"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


# --- the world every cell meets ---------------------------------------------------------------
PASSWORD = "correct-horse-battery-staple"


def build_world(full: bool = True) -> dict:
    """Users of every kind, a project and a room with every part the matrix names.
    `full=False`: only what the WebSocket tests need (users, project, room)."""
    from django.conf import settings
    from rest_framework.test import APIClient

    from contorl.accounts.models import Department, User

    department, _ = Department.objects.get_or_create(code="MXP", defaults={"name": "Matrix production"})
    other_department, _ = Department.objects.get_or_create(code="MXQ", defaults={"name": "Matrix quality"})

    def make_user(username, **fields):
        fields.setdefault("department", department)
        return User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com", **fields)

    def api_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    users = {
        "outsider": make_user("m_outsider", department=other_department),
        "viewer": make_user("m_viewer"),
        "member": make_user("m_member"),
        "owner": make_user("m_owner"),
        "manager": make_user("m_manager", is_department_manager=True),
        "admin": make_user("m_admin", is_system_admin=True),
        "spare": make_user("m_spare"),
    }
    owner = api_for(users["owner"])
    enabled, settings.RATELIMIT_ENABLE = settings.RATELIMIT_ENABLE, False
    try:
        return _build(users, owner, api_for, department, full)
    finally:
        settings.RATELIMIT_ENABLE = enabled


def _build(users, owner, api_for, department, full):

    def ok(resp, status=(200, 201)):
        assert resp.status_code in ((status,) if isinstance(status, int) else status), resp.content[:500]
        return resp.json() if resp.content else None

    w = {"users": users, "member": users["member"].pk, "spare": users["spare"].pk, "D": department.pk}
    w["member_v"] = users["member"].version
    w["D_v"] = department.version
    p = ok(owner.post("/api/projects/", {"name": "Matrix", "key": "MTX", "department": department.pk}))
    w["P"], w["P_v"] = p["id"], p["version"]
    for name, role in (("viewer", "viewer"), ("member", "member")):
        ok(owner.post(f"/api/projects/{w['P']}/members/", {"user": users[name].pk, "role": role}))
    if not full:
        r = ok(owner.post("/api/rooms/", {"title": "Valve leak", "severity": "high"}))
        w["R"] = r["id"]
        for name, role in (("viewer", "viewer"), ("member", "editor")):
            ok(owner.post(f"/api/rooms/{w['R']}/members/", {"user": users[name].pk, "role": role}))
        return w
    members = ok(owner.get(f"/api/projects/{w['P']}/members/"))
    members = members["results"] if isinstance(members, dict) else members
    w["PM_v"] = next(m["version"] for m in members if m["user"] == users["member"].pk)
    s = ok(owner.post(f"/api/projects/{w['P']}/statuses/", {"name": "Extra", "color": "#aa0000"}))
    w["S"], w["S_v"] = s["id"], s["version"]
    cf = ok(owner.post(f"/api/projects/{w['P']}/custom-fields/", {"key": "rate", "name": "Rate", "type": "number"}))
    w["CF"], w["CF_v"] = cf["id"], cf["version"]
    tasks = [ok(owner.post("/api/tasks/", {"project": w["P"], "title": f"Task {i}"})) for i in range(4)]
    w["T"], w["T_v"], w["T2"], w["T3"], w["TD"] = (
        tasks[0]["id"],
        tasks[0]["version"],
        tasks[1]["id"],
        tasks[2]["id"],
        tasks[3]["id"],
    )
    ok(owner.post(f"/api/tasks/{w['T']}/dependencies/", {"depends_on": w["T3"]}))
    ok(owner.delete(f"/api/tasks/{w['TD']}/"), 204)
    c = ok(owner.post(f"/api/tasks/{w['T']}/comments/", {"body": "first"}))
    w["C"], w["C_v"] = c["id"], c["version"]
    a = ok(owner.post(f"/api/tasks/{w['T']}/attachments/", {"file": upload()}, format="multipart"))
    w["A"] = a["id"]
    pt = ok(owner.post("/api/project-templates/", {"name": "Owner template"}))
    w["PT"], w["PT_v"] = pt["id"], pt["version"]
    w["TR_body"] = {"name": "t1", "event": "task_created", "actions": [{"type": "notify", "roles": ["owner"]}]}
    tr = ok(owner.post(f"/api/projects/{w['P']}/triggers/", w["TR_body"]))
    w["TR"], w["TR_v"] = tr["id"], tr["version"]

    r = ok(owner.post("/api/rooms/", {"title": "Valve leak", "severity": "high"}))
    w["R"], w["R_v"] = r["id"], r["version"]
    for name, role in (("viewer", "viewer"), ("member", "editor")):
        m = ok(owner.post(f"/api/rooms/{w['R']}/members/", {"user": users[name].pk, "role": role}))
        if name == "viewer":
            w["RMV"], w["RMV_v"] = m["id"], m["version"]
    msg = ok(owner.post(f"/api/rooms/{w['R']}/messages/", {"content": "valve 1 leaking @m_member"}))
    w["MSG"], w["MSG_v"] = msg["id"], msg["version"]
    ok(owner.post(f"/api/messages/{w['MSG']}/reactions/", {"emoji": "👀"}))
    rf = ok(
        owner.post(
            f"/api/rooms/{w['R']}/files/", {"file": upload("p.png", png_bytes(), "image/png")}, format="multipart"
        )
    )
    w["RF"] = rf["id"]
    rt = ok(owner.post("/api/room-templates/", {"name": "Owner tpl", "title_pattern": "Spill"}))
    w["RT"], w["RT_v"] = rt["id"], rt["version"]
    notes = ok(api_for(users["member"]).get("/api/notifications/"))
    notes = notes["results"] if isinstance(notes, dict) else notes
    assert notes, "the @mention notified the member"
    w["N"] = notes[0]["id"]
    _build_planning(w, users, owner, api_for(users["admin"]), ok)
    return w


def _build_planning(w, users, owner, admin, ok):
    """Planning (planning/README.md): project P linked to program PG of portfolio PF, and two
    scoped grants so the columns differ from their tasks roles:
      viewer   planner grant on PG -> planner on P (inherited down, beats the tasks role)
      manager  viewer grant on PF  -> viewer on P, PG, PF; also the worker W (own leave, own actuals)
      member, owner                -> planner / manager on P through tasks membership, no grant
    RG is the spare user's viewer grant on P (its manager, the owner, may change it)."""

    def made(key, path, body):
        assert key is None or key not in w, f"world key {key} is taken"
        row = ok(admin.post(f"/api/planning/{path}/", body, format="json"), 201)
        if key:
            w[key], w[f"{key}_v"] = row["id"], row["version"]

    made("PF", "portfolios", {"name": "Matrix portfolio"})
    made("PG", "programs", {"portfolio": w["PF"], "name": "Matrix program"})
    made("L", "project-links", {"project": w["P"], "program": w["PG"]})
    assert "P2" not in w
    w["P2"] = ok(owner.post("/api/projects/", {"name": "Matrix two", "key": "MTX2"}))["id"]  # unlinked
    made("PH", "phases", {"project": w["P"], "name": "Design", "start": "2026-03-02", "end": "2026-03-13"})
    made("WT", "worker-types", {"name": "Welder"})
    made("WT2", "worker-types", {"name": "Painter"})  # no workers, no rates: deletable
    rate = {"worker_type": w["WT"], "cost_per_hour": "40.00", "valid_from": "2026-01-01", "valid_to": "2029-12-31"}
    made("RA", "rates", rate)
    made("W", "workers", {"user": users["manager"].pk, "worker_type": w["WT"]})
    made("W2", "workers", {"name": "External welder", "worker_type": w["WT"]})
    made("WE", "worker-exceptions", {"worker": w["W"], "start": "2026-03-09", "end": "2026-03-09", "hours_off": "8.00"})
    made(
        "AS",
        "assignments",
        {"project": w["P"], "worker": w["W"], "start": "2026-03-02", "end": "2026-03-06", "hours_per_day": "6.00"},
    )
    made("AC", "actuals", {"project": w["P"], "worker": w["W"], "date": "2026-03-03", "hours": "5.00"})
    made("AC2", "actuals", {"project": w["P"], "worker": w["W2"], "date": "2026-03-03", "hours": "4.00"})
    made(None, "roles", {"user": users["viewer"].pk, "role": "planner", "program": w["PG"]})
    made(None, "roles", {"user": users["manager"].pk, "role": "viewer", "portfolio": w["PF"]})
    made("RG", "roles", {"user": users["spare"].pk, "role": "viewer", "project": w["P"]})


@pytest.fixture(scope="module")
def world_module(django_db_setup, django_db_blocker):
    """Built once per module inside a transaction that is rolled back at the end; each test
    runs in a savepoint of it (pytest-django's `db`), and each matrix cell in one more."""
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world(full=True)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(world_module, db, settings):
    settings.RATELIMIT_ENABLE = False  # hundreds of requests per caller; limits are tested elsewhere
    return world_module


@pytest.fixture
def ws_world(transactional_db):
    """Committed data for WebSocket tests (consumers read the database from other threads)."""
    return build_world(full=False)
