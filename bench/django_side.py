"""Bench-only work done inside Django (seeding, tokens, query counts, DB checks).

Run by the harness as `python -m bench.django_side COMMAND ARGS_JSON OUT_PATH` with the
same environment as the server, so it talks to the bench database and Redis db. Seeding
goes through the ORM (bulk_create / COPY for volume); the measured paths (sending,
PATCH, board, dependency, search) always go through the running server.
"""

import json
import os
import random
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

User = get_user_model()
COMMANDS = {}

# Traditional Chinese and English incident chatter for the search corpus.
ZH = [
    "3號線停機,等待維修",
    "2號線輸送帶異音,請工程師確認",
    "品管發現批次不良,暫停出貨",
    "更換馬達後恢復生產",
    "溫度感測器讀值異常",
    "夜班交接:注塑機保養完成",
    "原料短缺,預計延遲兩小時",
    "安全門感應器故障",
]
EN = [
    "conveyor belt jammed at station {n}",
    "operator reports vibration on press {n}",
    "replaced fuse, line {n} running again",
    "quality hold on lot {n}",
    "waiting for spare part {n} from warehouse",
    "temperature alarm cleared on oven {n}",
]


def command(fn):
    COMMANDS[fn.__name__] = fn
    return fn


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


def _users(prefix: str, count: int) -> list:
    """`count` users named prefix0000.. created in bulk (unusable passwords: JWTs only)."""
    names = [f"{prefix}{i:05d}" for i in range(count)]
    existing = {u.username: u for u in User.objects.filter(username__in=names)}
    missing = [User(username=n, password="!bench", first_name=n) for n in names if n not in existing]
    User.objects.bulk_create(missing, batch_size=2000)
    found = {u.username: u for u in User.objects.filter(username__in=names)}
    return [found[n] for n in names]


@command
def chat(args: dict) -> dict:
    """Rooms of `members` users each; every user in exactly one room. Returns ids + tokens."""
    from rooms import services
    from rooms.models import Role, RoomMember

    rooms_n, members = args["rooms"], args["members"]
    users = _users(args.get("prefix", "u"), rooms_n * members)
    out = []
    for r in range(rooms_n):
        group = users[r * members : (r + 1) * members]
        owner = group[0]
        room = services.room_create(by=owner, title=f"{args.get('title', 'bench')} {r}", location=f"line {r}")
        RoomMember.objects.bulk_create([RoomMember(room=room, user=u, role=Role.EDITOR) for u in group[1:]])
        out.append({"id": room.pk, "users": [u.pk for u in group], "tokens": [token_for(u) for u in group]})
    return {"rooms": out}


@command
def last_seqs(args: dict) -> dict:
    from rooms.models import Room

    return {str(pk): seq for pk, seq in Room.objects.filter(pk__in=args["rooms"]).values_list("pk", "last_seq")}


@command
def room_seqs(args: dict) -> dict:
    """Stored seqs per room (after `after`), for the gap / duplicate check."""
    from rooms.models import Message

    out = {}
    for room_id in args["rooms"]:
        qs = Message.objects.filter(room_id=room_id, seq__gt=args.get("after", {}).get(str(room_id), 0))
        out[str(room_id)] = list(qs.order_by("seq").values_list("seq", flat=True))
    return out


@command
def messages_corpus(args: dict) -> dict:
    """`count` messages in one room via COPY (seq 1..N), about 1 in 4 Traditional Chinese."""
    from rooms import services
    from rooms.models import Message, Room

    owner = _users(args.get("prefix", "search"), 1)[0]
    room = services.room_create(by=owner, title="search corpus", location="line 3")
    count = args["count"]
    rng = random.Random(7)
    start = Room.objects.get(pk=room.pk).last_seq
    table = Message._meta.db_table
    cols = ["room_id", "sender_id", "content", "message_type", "metadata", "seq", "created_at", "version"]
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for i in range(1, count + 1):
                if i % 4 == 0:
                    text = f"{rng.choice(ZH)} (#{i})"
                else:
                    text = rng.choice(EN).format(n=rng.randint(1, 400)) + f" #{i}"
                copy.write_row((room.pk, owner.pk, text, "text", "{}", start + i, "2026-11-01T00:00:00Z", 1))
        cursor.execute("UPDATE rooms_room SET last_seq = %s WHERE id = %s", [start + count, room.pk])
        cursor.execute(f"ANALYZE {table}")
    return {"room": room.pk, "token": token_for(owner), "seconds": round(time.perf_counter() - t0, 2)}


@command
def project(args: dict) -> dict:
    """A project with `tasks` tasks spread over its statuses and `edges` dependency edges (a DAG)."""
    from contorl.accounts.models import Department
    from tasks import services
    from tasks.models import Status, Task, TaskDependency

    department, _ = Department.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
    owner = _users(args.get("prefix", "pm"), 1)[0]
    if owner.department_id != department.pk:
        owner.department = department
        owner.save(update_fields=["department"])
    project = services.project_create(by=owner, name=args.get("name", "bench")[:200], key=args["key"])
    statuses = list(Status.objects.filter(project=project).order_by("order", "id"))
    count = args["tasks"]
    t0 = time.perf_counter()
    Task.objects.bulk_create(
        [
            Task(project=project, status=statuses[i % len(statuses)], title=f"Task {i}", position=i)
            for i in range(count)
        ],
        batch_size=2000,
    )
    ids = list(Task.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    edges = _dag_edges(ids, args.get("edges", 0), rng=random.Random(11))
    TaskDependency.objects.bulk_create(
        [TaskDependency(task_id=a, depends_on_id=b) for a, b in edges], batch_size=5000, ignore_conflicts=True
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "project": project.pk,
        "token": token_for(owner),
        "user": owner.pk,
        "task_ids": ids,
        "edges": len(edges),
        "statuses": [s.pk for s in statuses],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _dag_edges(ids: list[int], count: int, *, rng) -> list[tuple[int, int]]:
    """`count` distinct edges task -> depends_on, always from a later task to an earlier one (no cycle)."""
    edges: set[tuple[int, int]] = set()
    n = len(ids)
    while len(edges) < count and n > 1:
        i = rng.randrange(1, n)
        j = rng.randrange(max(0, i - 200), i)  # mostly local chains, like real plans
        edges.add((ids[i], ids[j]))
    return sorted(edges)


@command
def planning(args: dict) -> dict:
    """A calendar's worth of resource planning: `workers` external workers of a worker type of
    their own (so each size is its own calendar, selected with ?worker_type=), each with
    back-to-back 3-week assignments over `weeks` weeks from `start` (every seventh worker also
    a short overlapping one, so some days are over-allocated) and every fifth a week of leave.
    The owner of the project also holds a manager grant on it, so they see every worker's
    capacity, as a planner does."""
    import datetime
    from decimal import Decimal

    from planning.models import Rate, ResourceAssignment, ScopeAssignment, Worker, WorkerException, WorkerType
    from tasks import services

    t0 = time.perf_counter()
    owner = _users(args["prefix"], 1)[0]
    project = services.project_create(by=owner, name=f"planning {args['key']}", key=args["key"])
    ScopeAssignment.objects.create(user=owner, role="manager", project=project, granted_by=owner)
    worker_type = WorkerType.objects.create(name=f"Fitter {args['key']}")
    Rate.objects.create(worker_type=worker_type, cost_per_hour=Decimal("48.00"), valid_from=datetime.date(2026, 1, 1))
    count, weeks = args["workers"], args["weeks"]
    start = datetime.date.fromisoformat(args["start"])
    end = start + datetime.timedelta(days=7 * weeks - 1)
    workers = Worker.objects.bulk_create(
        [Worker(name=f"{args['key']} worker {i:04d}", worker_type=worker_type) for i in range(count)]
    )
    day = datetime.timedelta(days=1)
    rows = []
    for i, worker in enumerate(workers):
        first = start
        while first <= end:
            last = min(first + 18 * day, end)  # Monday to the Friday two weeks later
            rows.append(ResourceAssignment(worker=worker, project=project, start=first, end=last, hours_per_day=8))
            first += 21 * day
        if i % 7 == 0:
            rows.append(
                ResourceAssignment(
                    worker=worker, project=project, start=start + 8 * day, end=start + 10 * day, hours_per_day=3
                )
            )
    ResourceAssignment.objects.bulk_create(rows, batch_size=2000)
    WorkerException.objects.bulk_create(
        [
            WorkerException(worker=w, start=start + 14 * day, end=start + 18 * day, hours_off=8, reason="leave")
            for w in workers[::5]
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assignments = ResourceAssignment.objects.filter(project=project).order_by("id")
    return {
        "token": token_for(owner),
        "user": owner.pk,
        "project": project.pk,
        "worker_type": worker_type.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "assignments": [
            [a.pk, a.version, a.start.isoformat(), a.end.isoformat()]
            for a in assignments.only("id", "version", "start", "end")
        ],
        "seconds": round(time.perf_counter() - t0, 2),
    }


@command
def board_queries(args: dict) -> dict:
    """SQL statements one request runs (a GET, or `method` with a JSON `body`), counted in-process
    with CaptureQueriesContext through the real URL, view, serializer and selector (the timing
    comes from the server)."""
    from django.test import Client

    user = User.objects.get(pk=args["user"]) if "user" in args else None
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {}
    if user is None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {args['token']}"
    else:
        client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        if args.get("method", "GET") == "GET":
            response = client.get(args["path"], secure=True, **headers)
        else:  # a write with a JSON body (the planning bulk move)
            body = json.dumps(args["body"])
            response = client.generic(
                args["method"], args["path"], body, content_type="application/json", secure=True, **headers
            )
    return {"status": response.status_code, "queries": len(ctx.captured_queries), "body": _small(response)}


def _small(response):
    """The JSON answer of a write (the bulk result), nothing for pages of reads."""
    if response.get("Content-Type", "").startswith("application/json") and response.request["REQUEST_METHOD"] != "GET":
        return response.json()
    return None


def serve() -> None:
    """One Django process for the whole run (django.setup() once, not per command): each stdin
    line is {"cmd", "args", "out"}; the result goes to `out`, then "ok" or "error ..." on stdout."""
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = COMMANDS[request["cmd"]](request["args"])
            with open(request["out"], "w") as fh:
                json.dump(result, fh)
            reply = "ok"
        except Exception as exc:  # noqa: BLE001 (reported to the harness, which raises)
            import traceback

            traceback.print_exc()
            reply = f"error {exc.__class__.__name__}: {exc}".replace("\n", " ")[:500]
        finally:
            connection.close()
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()


def main() -> None:
    if sys.argv[1] == "--serve":
        serve()
        return
    name, raw, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    result = COMMANDS[name](json.loads(raw))
    with open(out_path, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
