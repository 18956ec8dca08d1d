"""The authorization matrix: every API operation and WebSocket endpoint x every kind of caller.

ONE table (MATRIX, WS_MATRIX) says what each caller gets; every cell is requested and
checked. A write that is allowed runs inside a rolled-back savepoint, so each caller meets
the same world. `test_matrix_covers_every_operation` fails when an endpoint appears in the
OpenAPI schema without a row here: a new endpoint cannot ship without its permissions
being written down.

Callers (columns, in this order):
  anon      not signed in
  outsider  signed in, other department, no relation to the project or room
  viewer    project viewer, room viewer
  member    project member, room editor (and the notification's recipient)
  owner     project owner, room owner (created both; author of the comment and message)
  manager   department manager of the project's department, not a member of anything
  admin     system admin
"""

import json

import pytest
from django.db import transaction

from .conftest import upload

ROLES = ("anon", "outsider", "viewer", "member", "owner", "manager", "admin")

# Shorthands for common rows.
READ_PROJECT = "401 404 200 200 200 200 200"  # visible to members of any role, the manager, admin
OWNER_WRITE = "401 404 403 403 {ok} 403 {ok}"  # project owner or admin
EDIT_WRITE = "401 404 403 {ok} {ok} 403 {ok}"  # project member/owner or admin
READ_ROOM = "401 404 200 200 200 404 200"  # room members and admin; a department manager has no say in rooms
ROOM_WRITE = "401 404 403 {ok} {ok} 404 {ok}"
ROOM_OWNER = "401 404 403 403 {ok} 404 {ok}"
ANY_USER = "401 {ok} {ok} {ok} {ok} {ok} {ok}"
ADMIN_ONLY = "401 403 403 403 403 403 {ok}"
# Planning (tests/security/conftest.py: _build_planning): visible to every caller but the outsider.
PLANNING_ADMIN = "401 404 403 403 403 403 200"  # portfolio/program managers: here only the admin
PROJECT_MANAGER = "401 404 403 403 {ok} 403 {ok}"  # planning manager of P: owner (tasks) or admin
PROJECT_PLANNER = "401 404 {ok} {ok} {ok} 403 {ok}"  # planner of P: program grant, membership, admin
GRANT_READ = "401 404 200 404 404 200 200"  # rates and leave: planning grant holders (and the worker)
GRANT_WRITE = "401 404 403 404 404 403 {ok}"  # ...changed only by managers (here the admin)


def row(pattern: str, ok: int = 200) -> str:
    return pattern.format(ok=ok)


# (method, path, body(world) | None, expected "anon outsider viewer member owner manager admin")
# Bodies are valid for the callers that are allowed, so an allowed cell must really succeed.
# "multipart" bodies are sent as forms with a file.
MATRIX = [
    # --- projects -------------------------------------------------------------------------
    ("GET", "/api/projects/", None, row(ANY_USER)),
    ("POST", "/api/projects/", lambda w: {"name": "New", "key": "NEWP"}, row(ANY_USER, 201)),
    ("GET", "/api/projects/{P}/", None, READ_PROJECT),
    ("PATCH", "/api/projects/{P}/", lambda w: {"version": w["P_v"], "name": "Renamed"}, row(OWNER_WRITE)),
    ("PUT", "/api/projects/{P}/", lambda w: {"version": w["P_v"], "name": "Renamed", "key": "MTX"}, row(OWNER_WRITE)),
    ("DELETE", "/api/projects/{P}/", None, "401 404 403 403 204 403 204"),
    ("GET", "/api/projects/{P}/board/", None, READ_PROJECT),
    ("GET", "/api/projects/{P}/members/", None, READ_PROJECT),
    ("POST", "/api/projects/{P}/members/", lambda w: {"user": w["spare"], "role": "member"}, row(OWNER_WRITE, 201)),
    (
        "PATCH",
        "/api/projects/{P}/members/{member}/",
        lambda w: {"role": "viewer", "version": w["PM_v"]},
        row(OWNER_WRITE),
    ),
    # Members may leave a project themselves; only owners remove others.
    ("DELETE", "/api/projects/{P}/members/{member}/", None, "401 404 403 204 204 403 204"),
    ("GET", "/api/projects/{P}/statuses/", None, READ_PROJECT),
    ("POST", "/api/projects/{P}/statuses/", lambda w: {"name": "Review", "color": "#123456"}, row(OWNER_WRITE, 201)),
    ("GET", "/api/projects/{P}/custom-fields/", None, READ_PROJECT),
    (
        "POST",
        "/api/projects/{P}/custom-fields/",
        lambda w: {"key": "rate2", "name": "Rate 2", "type": "number"},
        row(OWNER_WRITE, 201),
    ),
    ("POST", "/api/projects/{P}/save-as-template/", lambda w: {"name": "Tpl"}, row(OWNER_WRITE, 201)),
    ("GET", "/api/projects/{P}/reports/weekly/", None, READ_PROJECT),
    ("GET", "/api/projects/{P}/triggers/", None, READ_PROJECT),
    (
        "POST",
        "/api/projects/{P}/triggers/",
        lambda w: {"name": "t2", "event": "task_created", "actions": [{"type": "notify", "roles": ["owner"]}]},
        row(OWNER_WRITE, 201),
    ),
    ("GET", "/api/projects/{P}/triggers/{TR}/", None, READ_PROJECT),
    ("PATCH", "/api/projects/{P}/triggers/{TR}/", lambda w: {"version": w["TR_v"], "name": "t3"}, row(OWNER_WRITE)),
    (
        "PUT",
        "/api/projects/{P}/triggers/{TR}/",
        lambda w: {"version": w["TR_v"], **w["TR_body"], "name": "t4"},
        row(OWNER_WRITE),
    ),
    ("DELETE", "/api/projects/{P}/triggers/{TR}/", None, row(OWNER_WRITE, 204)),
    # --- statuses, custom fields, templates -------------------------------------------------
    ("GET", "/api/statuses/{S}/", None, READ_PROJECT),
    ("PATCH", "/api/statuses/{S}/", lambda w: {"version": w["S_v"], "name": "Doing"}, row(OWNER_WRITE)),
    ("DELETE", "/api/statuses/{S}/", None, row(OWNER_WRITE, 204)),
    ("GET", "/api/custom-fields/{CF}/", None, READ_PROJECT),
    ("PATCH", "/api/custom-fields/{CF}/", lambda w: {"version": w["CF_v"], "name": "Rate!"}, row(OWNER_WRITE)),
    ("DELETE", "/api/custom-fields/{CF}/", None, row(OWNER_WRITE, 204)),
    ("GET", "/api/project-templates/", None, row(ANY_USER)),
    ("POST", "/api/project-templates/", lambda w: {"name": "Blank"}, row(ANY_USER, 201)),
    ("GET", "/api/project-templates/{PT}/", None, row(ANY_USER)),
    # Templates are shared: the creator (the owner) or an admin edits them.
    (
        "PATCH",
        "/api/project-templates/{PT}/",
        lambda w: {"version": w["PT_v"], "name": "X"},
        "401 403 403 403 200 403 200",
    ),
    ("DELETE", "/api/project-templates/{PT}/", None, "401 403 403 403 204 403 204"),
    # --- tasks ------------------------------------------------------------------------------
    ("GET", "/api/tasks/", None, row(ANY_USER)),
    # An invisible project is a validation error (never "forbidden": that would leak it).
    ("POST", "/api/tasks/", lambda w: {"project": w["P"], "title": "New task"}, "401 400 403 201 201 403 201"),
    ("GET", "/api/tasks/{T}/", None, READ_PROJECT),
    ("PATCH", "/api/tasks/{T}/", lambda w: {"version": w["T_v"], "title": "Edited"}, row(EDIT_WRITE)),
    ("PUT", "/api/tasks/{T}/", lambda w: {"version": w["T_v"], "title": "Edited"}, row(EDIT_WRITE)),
    ("DELETE", "/api/tasks/{T}/?force=true", None, row(EDIT_WRITE, 204)),
    ("POST", "/api/tasks/{TD}/restore/", lambda w: {"cascade": True}, row(EDIT_WRITE)),
    ("GET", "/api/tasks/{T}/history/", None, READ_PROJECT),
    ("GET", "/api/tasks/{T}/comments/", None, READ_PROJECT),
    ("POST", "/api/tasks/{T}/comments/", lambda w: {"body": "hi"}, row(EDIT_WRITE, 201)),
    ("GET", "/api/tasks/{T}/attachments/", None, READ_PROJECT),
    ("POST", "/api/tasks/{T}/attachments/", lambda w: {"file": upload()}, row(EDIT_WRITE, 201)),
    ("GET", "/api/tasks/{T}/dependencies/", None, READ_PROJECT),
    ("POST", "/api/tasks/{T2}/dependencies/", lambda w: {"depends_on": w["T"]}, row(EDIT_WRITE, 201)),
    ("DELETE", "/api/tasks/{T}/dependencies/{T3}/", None, row(EDIT_WRITE, 204)),
    # Bulk update answers 200 with per-item results; what a caller may not change fails inside.
    ("POST", "/api/tasks/bulk-update/", lambda w: [{"id": w["T"], "version": w["T_v"], "title": "B"}], row(ANY_USER)),
    ("GET", "/api/comments/{C}/", None, READ_PROJECT),
    # Only the author (here the owner) edits a comment; the author or an admin deletes it.
    ("PATCH", "/api/comments/{C}/", lambda w: {"version": w["C_v"], "body": "edited"}, "401 404 403 403 200 403 403"),
    ("DELETE", "/api/comments/{C}/", None, "401 404 403 403 204 403 204"),
    ("GET", "/api/attachments/{A}/", None, READ_PROJECT),
    ("GET", "/api/attachments/{A}/download/", None, READ_PROJECT),
    # The uploader (here the owner) or an admin deletes an attachment.
    ("DELETE", "/api/attachments/{A}/", None, "401 404 403 403 204 403 204"),
    # --- triggers (by id) ---------------------------------------------------------------------
    ("GET", "/api/triggers/{TR}/", None, READ_PROJECT),
    ("PATCH", "/api/triggers/{TR}/", lambda w: {"version": w["TR_v"], "name": "t5"}, row(OWNER_WRITE)),
    ("PUT", "/api/triggers/{TR}/", lambda w: {"version": w["TR_v"], **w["TR_body"], "name": "t6"}, row(OWNER_WRITE)),
    ("DELETE", "/api/triggers/{TR}/", None, row(OWNER_WRITE, 204)),
    ("GET", "/api/triggers/{TR}/executions/", None, READ_PROJECT),
    ("POST", "/api/triggers/{TR}/rotate-secret/", lambda w: {"version": w["TR_v"]}, row(OWNER_WRITE)),
    # --- workload ---------------------------------------------------------------------------------
    ("GET", "/api/workload/", None, row(ANY_USER)),
    # --- rooms ----------------------------------------------------------------------------------
    ("GET", "/api/rooms/", None, row(ANY_USER)),
    ("POST", "/api/rooms/", lambda w: {"title": "Boiler", "severity": "low"}, row(ANY_USER, 201)),
    ("GET", "/api/rooms/{R}/", None, READ_ROOM),
    ("PATCH", "/api/rooms/{R}/", lambda w: {"version": w["R_v"], "title": "Boiler 2"}, row(ROOM_OWNER)),
    ("GET", "/api/rooms/{R}/members/", None, READ_ROOM),
    ("POST", "/api/rooms/{R}/members/", lambda w: {"user": w["spare"], "role": "viewer"}, row(ROOM_OWNER, 201)),
    ("PATCH", "/api/rooms/{R}/members/{RMV}/", lambda w: {"version": w["RMV_v"], "role": "editor"}, row(ROOM_OWNER)),
    # RMV is the viewer's own membership: leaving a room is allowed.
    ("DELETE", "/api/rooms/{R}/members/{RMV}/", None, "401 404 204 403 204 404 204"),
    ("GET", "/api/rooms/{R}/messages/", None, READ_ROOM),
    ("POST", "/api/rooms/{R}/messages/", lambda w: {"content": "status?"}, row(ROOM_WRITE, 201)),
    ("GET", "/api/rooms/{R}/messages/search/?q=valve", None, READ_ROOM),
    # Search across rooms: every caller searches the rooms they may read (none: no results).
    ("GET", "/api/rooms/messages/search/?q=valve", None, row(ANY_USER)),
    ("GET", "/api/rooms/{R}/online/", None, READ_ROOM),
    ("GET", "/api/rooms/{R}/typing/", None, READ_ROOM),
    ("GET", "/api/rooms/{R}/files/", None, READ_ROOM),
    ("POST", "/api/rooms/{R}/files/", lambda w: {"file": upload()}, row(ROOM_WRITE, 201)),
    ("GET", "/api/room-files/{RF}/", None, READ_ROOM),
    ("GET", "/api/room-files/{RF}/download/", None, READ_ROOM),
    ("GET", "/api/room-files/{RF}/thumbnail/", None, READ_ROOM),
    # Messages: only the author edits (within 15 minutes); the author, a room owner or an admin deletes.
    ("GET", "/api/messages/{MSG}/", None, READ_ROOM),
    (
        "PATCH",
        "/api/messages/{MSG}/",
        lambda w: {"version": w["MSG_v"], "content": "valve 2"},
        "401 404 403 403 200 404 403",
    ),
    ("DELETE", "/api/messages/{MSG}/", None, "401 404 403 403 204 404 204"),
    ("GET", "/api/messages/{MSG}/history/", None, READ_ROOM),
    ("POST", "/api/messages/{MSG}/reactions/", lambda w: {"emoji": "👍"}, row(ROOM_WRITE, 201)),
    ("DELETE", "/api/messages/{MSG}/reactions/👀/", None, "401 404 403 404 204 404 404"),
    ("GET", "/api/room-templates/", None, row(ANY_USER)),
    (
        "POST",
        "/api/room-templates/",
        lambda w: {"name": "Leak", "title_pattern": "Leak at {location}"},
        row(ANY_USER, 201),
    ),
    ("GET", "/api/room-templates/{RT}/", None, row(ANY_USER)),
    (
        "PATCH",
        "/api/room-templates/{RT}/",
        lambda w: {"version": w["RT_v"], "name": "Fire"},
        "401 403 403 403 200 403 200",
    ),
    ("DELETE", "/api/room-templates/{RT}/", None, "401 403 403 403 204 403 204"),
    ("POST", "/api/room-templates/{RT}/open/", lambda w: {"location": "Line 2"}, row(ANY_USER, 201)),
    # --- planning (planning/README.md, planning/permissions.py) ----------------------------------
    # Planning roles on P: viewer -> planner (grant on the program PG), member -> planner and
    # owner -> manager (tasks membership), manager -> viewer (grant on the portfolio PF; also the
    # worker W), admin -> manager. Only the viewer and the manager hold grants.
    ("GET", "/api/planning/portfolios/", None, row(ANY_USER)),
    ("POST", "/api/planning/portfolios/", lambda w: {"name": "Another portfolio"}, row(ADMIN_ONLY, 201)),
    # Visible read-only to everyone with a role below it (the program, project P).
    ("GET", "/api/planning/portfolios/{PF}/", None, READ_PROJECT),
    ("PATCH", "/api/planning/portfolios/{PF}/", lambda w: {"version": w["PF_v"], "name": "PF 2"}, PLANNING_ADMIN),
    # PF still has a program: the admin passes the permission check and meets 409 conflict.
    ("DELETE", "/api/planning/portfolios/{PF}/", None, "401 404 403 403 403 403 409"),
    ("GET", "/api/planning/programs/", None, row(ANY_USER)),
    # Creating under a portfolio you cannot see is a validation error on that field.
    (
        "POST",
        "/api/planning/programs/",
        lambda w: {"portfolio": w["PF"], "name": "Another program"},
        "401 400 403 403 403 403 201",
    ),
    ("GET", "/api/planning/programs/{PG}/", None, READ_PROJECT),
    # A planner grant on the program is not enough to change it (manager).
    ("PATCH", "/api/planning/programs/{PG}/", lambda w: {"version": w["PG_v"], "name": "PG 2"}, PLANNING_ADMIN),
    ("DELETE", "/api/planning/programs/{PG}/", None, "401 404 403 403 403 403 409"),  # P is linked
    ("GET", "/api/planning/project-links/", None, row(ANY_USER)),
    # P2 is the owner's unlinked project in the manager's department: the others cannot see it
    # (400 on the field); owner and manager see it but do not manage the program. The owner
    # (no grant; PG visible to them through P) gets 404 where planning/README.md promises 403
    # for a visible object: planning.permissions.require_new_program_manager checks the new
    # program's role without the visible -> viewer floor the other checks use. Stricter, not a leak.
    (
        "POST",
        "/api/planning/project-links/",
        lambda w: {"project": w["P2"], "program": w["PG"]},
        "401 400 400 400 404 403 201",
    ),
    ("GET", "/api/planning/project-links/{L}/", None, READ_PROJECT),
    (
        "PATCH",
        "/api/planning/project-links/{L}/",
        lambda w: {"version": w["L_v"], "program": w["PG"]},
        PLANNING_ADMIN,
    ),
    ("DELETE", "/api/planning/project-links/{L}/", None, "401 404 403 403 403 403 204"),
    ("GET", "/api/planning/phases/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/phases/",
        lambda w: {"project": w["P"], "name": "Build", "start": "2026-03-16", "end": "2026-03-27"},
        "401 400 403 403 201 403 201",
    ),
    ("GET", "/api/planning/phases/{PH}/", None, READ_PROJECT),
    ("PATCH", "/api/planning/phases/{PH}/", lambda w: {"version": w["PH_v"], "name": "Design 2"}, row(PROJECT_MANAGER)),
    ("DELETE", "/api/planning/phases/{PH}/", None, row(PROJECT_MANAGER, 204)),
    # Shared resources: every signed-in user reads worker types and workers; only a manager
    # grant (here: the admin) writes them. A project owner's tasks role is no such grant.
    ("GET", "/api/planning/worker-types/", None, row(ANY_USER)),
    ("POST", "/api/planning/worker-types/", lambda w: {"name": "Fitter"}, row(ADMIN_ONLY, 201)),
    ("GET", "/api/planning/worker-types/{WT}/", None, row(ANY_USER)),
    (
        "PATCH",
        "/api/planning/worker-types/{WT}/",
        lambda w: {"version": w["WT_v"], "name": "Welder 2"},
        row(ADMIN_ONLY),
    ),
    ("DELETE", "/api/planning/worker-types/{WT2}/", None, row(ADMIN_ONLY, 204)),
    # Rates are cost data: only grant holders (viewer, manager) and admins see them.
    ("GET", "/api/planning/rates/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/rates/",
        lambda w: {"worker_type": w["WT"], "cost_per_hour": "45.00", "valid_from": "2030-01-01"},
        row(ADMIN_ONLY, 201),
    ),
    ("GET", "/api/planning/rates/{RA}/", None, GRANT_READ),
    (
        "PATCH",
        "/api/planning/rates/{RA}/",
        lambda w: {"version": w["RA_v"], "cost_per_hour": "42.00"},
        row(GRANT_WRITE),
    ),
    ("DELETE", "/api/planning/rates/{RA}/", None, row(GRANT_WRITE, 204)),
    ("GET", "/api/planning/workers/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/workers/",
        lambda w: {"name": "External fitter", "worker_type": w["WT"]},
        row(ADMIN_ONLY, 201),
    ),
    ("GET", "/api/planning/workers/{W}/", None, row(ANY_USER)),
    (
        "PATCH",
        "/api/planning/workers/{W}/",
        lambda w: {"version": w["W_v"], "weekly_capacity_hours": "32.00"},
        row(ADMIN_ONLY),
    ),
    ("DELETE", "/api/planning/workers/{W}/", None, row(ADMIN_ONLY, 204)),
    # Leave: grant holders and the worker themself (here the manager) read it; managers write.
    ("GET", "/api/planning/worker-exceptions/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/worker-exceptions/",
        lambda w: {"worker": w["W"], "start": "2026-03-10", "end": "2026-03-10", "hours_off": "4.00"},
        row(ADMIN_ONLY, 201),
    ),
    ("GET", "/api/planning/worker-exceptions/{WE}/", None, GRANT_READ),
    (
        "PATCH",
        "/api/planning/worker-exceptions/{WE}/",
        lambda w: {"version": w["WE_v"], "hours_off": "4.00"},
        row(GRANT_WRITE),
    ),
    ("DELETE", "/api/planning/worker-exceptions/{WE}/", None, row(GRANT_WRITE, 204)),
    # Assignments: planners of the project (the viewer through the program grant).
    ("GET", "/api/planning/assignments/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/assignments/",
        lambda w: {
            "project": w["P"],
            "worker": w["W"],
            "start": "2026-03-09",
            "end": "2026-03-13",
            "hours_per_day": "2.00",
        },
        "401 400 201 201 201 403 201",
    ),
    ("GET", "/api/planning/assignments/{AS}/", None, READ_PROJECT),
    (
        "PATCH",
        "/api/planning/assignments/{AS}/",
        lambda w: {"version": w["AS_v"], "hours_per_day": "7.00"},
        row(PROJECT_PLANNER),
    ),
    ("DELETE", "/api/planning/assignments/{AS}/", None, row(PROJECT_PLANNER, 204)),
    # 200 with per-item results; what a caller may not change fails inside.
    (
        "POST",
        "/api/planning/assignments/bulk/",
        lambda w: [{"id": w["AS"], "version": w["AS_v"], "hours_per_day": "5.00"}],
        row(ANY_USER),
    ),
    # Actuals: planners of the project, and the worker themself (the manager: W is theirs, AC2 is not).
    ("GET", "/api/planning/actuals/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/actuals/",
        lambda w: {"project": w["P"], "worker": w["W"], "date": "2026-03-04", "hours": "6.00"},
        "401 400 201 201 201 201 201",
    ),
    ("GET", "/api/planning/actuals/{AC}/", None, READ_PROJECT),
    (
        "PATCH",
        "/api/planning/actuals/{AC}/",
        lambda w: {"version": w["AC_v"], "hours": "3.00"},
        "401 404 200 200 200 200 200",
    ),
    ("PATCH", "/api/planning/actuals/{AC2}/", lambda w: {"version": w["AC2_v"], "hours": "3.00"}, row(PROJECT_PLANNER)),
    ("DELETE", "/api/planning/actuals/{AC}/", None, "401 404 204 204 204 204 204"),
    ("DELETE", "/api/planning/actuals/{AC2}/", None, row(PROJECT_PLANNER, 204)),
    # Role grants: managers of the scope (the owner manages P). A grant is visible to its
    # holder and to the scope's managers; RG (the spare user's) to the owner and the admin.
    ("GET", "/api/planning/roles/", None, row(ANY_USER)),
    (
        "POST",
        "/api/planning/roles/",
        lambda w: {"user": w["member"], "role": "viewer", "project": w["P"]},
        "401 400 403 403 201 403 201",
    ),
    ("GET", "/api/planning/roles/{RG}/", None, "401 404 404 404 200 404 200"),
    (
        "PATCH",
        "/api/planning/roles/{RG}/",
        lambda w: {"version": w["RG_v"], "role": "planner"},
        "401 404 404 404 200 404 200",
    ),
    ("DELETE", "/api/planning/roles/{RG}/", None, "401 404 404 404 204 404 204"),
    # Reports. Capacity: everyone (without a grant: only their own worker row).
    ("GET", "/api/planning/capacity/?start=2026-03-02&end=2026-03-08", None, row(ANY_USER)),
    ("GET", "/api/planning/plan-vs-actual/?project={P}", None, READ_PROJECT),
    # A program's report needs a role on the program: grants inherit down, never up, so the
    # project's member and owner do not get it.
    ("GET", "/api/planning/plan-vs-actual/?program={PG}", None, "401 404 200 404 404 200 200"),
    ("GET", "/api/planning/plan-vs-actual/export/?project={P}", None, READ_PROJECT),
    # --- notifications (each user's own) ---------------------------------------------------------
    ("GET", "/api/notifications/", None, row(ANY_USER)),
    ("GET", "/api/notifications/unread-count/", None, row(ANY_USER)),
    ("POST", "/api/notifications/read-all/", lambda w: {}, row(ANY_USER)),
    ("POST", "/api/notifications/{N}/read/", lambda w: {}, "401 404 404 200 404 404 404"),
    # --- audit (admin only) ---------------------------------------------------------------------------
    ("GET", "/api/audit-logs/", None, row(ADMIN_ONLY)),
    ("GET", "/api/audit-logs/verify/", None, row(ADMIN_ONLY)),
    # --- users, departments, sessions --------------------------------------------------------------
    ("GET", "/api/users/", None, row(ANY_USER)),
    ("GET", "/api/users/me/", None, row(ANY_USER)),
    # Your own preferences: every signed-in caller may change theirs (fresh users: version 1).
    ("PATCH", "/api/users/me/", lambda w: {"version": 1, "email_notifications": True}, row(ANY_USER)),
    ("GET", "/api/users/{member}/", None, row(ANY_USER)),
    ("PATCH", "/api/users/{member}/", lambda w: {"role": "supervisor", "version": w["member_v"]}, row(ADMIN_ONLY)),
    (
        "PATCH",
        "/api/users/{member}/admin/",
        lambda w: {"is_system_admin": False, "version": w["member_v"]},
        row(ADMIN_ONLY),
    ),
    ("POST", "/api/users/{member}/sign-out-everywhere/", lambda w: {}, row(ADMIN_ONLY)),
    ("GET", "/api/departments/", None, row(ANY_USER)),
    ("POST", "/api/departments/", lambda w: {"name": "Logistics", "code": "LOG"}, row(ADMIN_ONLY, 201)),
    ("GET", "/api/departments/{D}/", None, row(ANY_USER)),
    ("PATCH", "/api/departments/{D}/", lambda w: {"version": w["D_v"], "name": "Prod 2"}, row(ADMIN_ONLY)),
    ("GET", "/api/sessions/", None, row(ANY_USER)),
]

# Operations deliberately outside the table, each with the reason (and where it is tested).
NOT_IN_MATRIX = {
    (
        "POST",
        "/api/auth/token/",
    ): "public by design; wrong credentials -> 401 and the SENSITIVE limit (test_rate_limits)",
    ("POST", "/api/auth/token/refresh/"): "public by design; needs a refresh token, not a caller role",
    ("DELETE", "/api/sessions/{id}/"): "a session belongs to one browser sign-in; covered by tests/ops",
    ("POST", "/api/triggers/{id}/executions/{execution_id}/replay/"): "needs a failed execution; tests/automation",
}

# WebSocket endpoints: the close code a caller gets, or "ok" when admitted.
# A project or room the caller may not see closes 4404, like a missing one (REST's 404).
WS_MATRIX = [
    ("/ws/projects/{P}/", "4401 4404 ok ok ok ok ok"),
    ("/ws/rooms/{R}/", "4401 4404 ok ok ok 4404 ok"),
    ("/ws/notifications/", "4401 ok ok ok ok ok ok"),
]


def fill(path: str, w: dict) -> str:
    return path.format(**{k: v for k, v in w.items() if not isinstance(v, (dict, list))})


def call(api_for, w, role, method, path, body):
    from contorl.accounts.models import User

    user = None if role == "anon" else User.objects.get(pk=w["users"][role].pk)  # fresh: no cached roles
    client = api_for(user)
    data = body(w) if callable(body) else body
    multipart = isinstance(data, dict) and any(hasattr(v, "read") for v in data.values())
    kwargs = {"format": "multipart"} if multipart else {"format": "json"}
    if data is None:
        return client.generic(method, fill(path, w))
    return getattr(client, method.lower())(fill(path, w), data, **kwargs)


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_matrix_row(world, api_for, method, path, body, expected):
    # A cell may allow alternatives ("204|409"): both are the permission check passing.
    wanted = dict(zip(ROLES, ({int(x) for x in cell.split("|")} for cell in expected.split()), strict=True))
    got, envelopes = {}, []
    for role in ROLES:
        # Every caller meets the same world: the request runs in a savepoint that is undone.
        with transaction.atomic():
            resp = call(api_for, world, role, method, path, body)
            transaction.set_rollback(True)
        got[role] = resp.status_code
        if resp.status_code >= 400 and resp.get("Content-Type", "").startswith("application/json"):
            envelopes.append((role, json.loads(resp.content).get("error", {}).get("code")))
    differs = {r: (got[r], sorted(wanted[r])) for r in ROLES if got[r] not in wanted[r]}
    assert differs == {}, f"{method} {path}: (got, expected) per caller"
    assert all(code for _role, code in envelopes), f"every refusal uses the error envelope: {envelopes}"


def test_matrix_covers_every_operation():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    in_schema = {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }

    def normal(path: str) -> str:
        import re

        return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])

    covered = {(m, normal(p)) for m, p, _, _ in MATRIX} | {(m, normal(p)) for m, p in NOT_IN_MATRIX}
    emoji_path = normal("/api/messages/{id}/reactions/{emoji}/")
    covered |= {("DELETE", emoji_path)} if any("reactions/👀" in p for _, p, _, _ in MATRIX) else set()
    missing = sorted(op for op in in_schema if (op[0], normal(op[1])) not in covered)
    assert missing == [], f"operations without a row in the authorization matrix: {missing}"


def test_planning_lists_show_exactly_what_retrieve_shows(world, api_for):
    """The matrix checks statuses; a list answering 200 could still leak rows. Each planning
    list must hold a row exactly for the callers whose GET of that row is 200."""
    import re

    checked = 0
    for method, path, _body, expected in MATRIX:
        match = re.fullmatch(r"/api/planning/([\w-]+)/\{(\w+)\}/", path)
        if method != "GET" or not match:
            continue
        collection, key = match.groups()
        for role, cell in zip(ROLES[1:], expected.split()[1:], strict=True):
            resp = call(api_for, world, role, "GET", f"/api/planning/{collection}/?page_size=500", None)
            assert resp.status_code == 200
            listed = world[key] in {r["id"] for r in resp.json()["results"]}
            assert listed == (cell == "200"), (collection, role, cell)
            checked += 1
    assert checked >= 11 * 6


def test_planning_bulk_items_fail_for_callers_who_may_not_change_them(world, api_for):
    """Bulk answers 200 to everyone (matrix row); the refusal is per item: an assignment the
    caller cannot see is not_found, one they may only read is forbidden."""
    planners = dict(zip(ROLES, PROJECT_PLANNER.split(), strict=True))
    for role in ROLES[1:]:
        with transaction.atomic():
            body = [{"id": world["AS"], "version": world["AS_v"], "hours_per_day": "5.00"}]
            resp = call(api_for, world, role, "POST", "/api/planning/assignments/bulk/", body)
            transaction.set_rollback(True)
        result = resp.json()
        if planners[role] == "{ok}":
            assert result == {"succeeded": [{"id": world["AS"], "version": world["AS_v"] + 1}], "failed": []}, role
        else:
            assert result["succeeded"] == [] and len(result["failed"]) == 1, role
            wanted = "not_found" if planners[role] == "404" else "permission_denied"
            assert result["failed"][0]["code"] == wanted, (role, result)
