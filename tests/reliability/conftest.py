"""The production layout (deploy/stack/) as a pytest session fixture.

One stack per session: nginx in front of two daphne processes, in production mode, on a
throwaway PostgreSQL cluster and a redis-server that belong to this fixture alone, so
fault tests may stop and restart them without touching the machine's shared services.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from deploy.stack.stack import Stack, pg_bin

# Generous limits for load and fault tests; the rate-limit test uses the SENSITIVE tier,
# which keeps its production default (20/m).
STACK_ENV = {
    "FAST_PASSWORD_HASHER": "1",
    "RATELIMIT_STANDARD": "100000/m",
    "RATELIMIT_HEAVY": "10000/m",
    "RATELIMIT_CHAT": "10000/s",
    "WS_FRAME_RATE": "1000/s",
    "JWT_ACCESS_MINUTES": "120",
    "DB_POOL_MIN_SIZE": "2",
    "DB_POOL_MAX_SIZE": "12",
    "DB_POOL_TIMEOUT": "3",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "LOG_LEVEL": "WARNING",
}

USERS = {
    # username: fields. Departments PROD, MAINT, QA; alice manages PROD.
    "admin": {"dept": "PROD", "is_system_admin": True, "is_staff": True},
    "alice": {"dept": "PROD", "is_department_manager": True, "role": "manager"},
    "bob": {"dept": "PROD"},
    "carol": {"dept": "MAINT"},
    "dave": {"dept": "QA"},
    **{f"load{i}": {"dept": "PROD"} for i in range(1, 9)},
}

SEED = """
import json
from contorl.accounts.models import Department, User
from rest_framework_simplejwt.tokens import AccessToken
users = json.loads('''%s''')
depts = {}
for code, name in [("PROD", "Production"), ("MAINT", "Maintenance"), ("QA", "Quality")]:
    depts[code], _ = Department.objects.get_or_create(code=code, defaults={"name": name})
out = {}
for username, fields in users.items():
    fields = dict(fields)
    dept = depts[fields.pop("dept")]
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password="stack-pass-1234", department=dept,
                                        email=username + "@example.com", **fields)
    out[username] = {"id": user.pk, "token": str(AccessToken.for_user(user))}
print("SEED=" + json.dumps(out))
"""


def _missing_tools() -> list[str]:
    missing = [
        tool for tool in ("redis-server", "nginx") if not (shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}"))
    ]
    try:
        pg_bin("initdb")
    except FileNotFoundError:
        missing.append("initdb")
    return missing


@pytest.fixture(scope="session")
def stack():
    # CONTORL_STACK_DIR=<run dir of a stack started by these tests' STACK_ENV and SEED> reuses
    # it (a quick edit-run loop while writing tests); normally each session starts its own.
    reuse = os.environ.get("CONTORL_STACK_DIR")
    if reuse:
        instance = Stack(reuse)
        instance.users = json.loads((Path(reuse) / "users.json").read_text())
        yield instance
        return
    missing = _missing_tools()
    if missing:
        pytest.skip(f"the stack needs {', '.join(missing)}")
    run_dir = tempfile.mkdtemp(prefix="contorl-stack-")
    instance = Stack(run_dir)
    instance.start(
        own_postgres=True, worker=False, beat=False, extra_env=STACK_ENV, setup_code=SEED % json.dumps(USERS)
    )
    try:
        line = next(line for line in instance.setup_output.splitlines() if line.startswith("SEED="))
        instance.users = json.loads(line[len("SEED=") :])
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture
def healthy_stack(stack):
    """The stack with every piece running (a fault test may have left one down)."""
    _heal(stack)
    yield stack
    _heal(stack)


def _heal(stack) -> None:
    from deploy.stack.stack import pid_alive, port_open

    if not pid_alive(stack.state.pids.get("redis")):
        stack.start_redis()
    if not port_open(stack.state.own_pg_port):
        stack.start_own_postgres()
    for index in range(len(stack.state.daphne_ports)):
        if not pid_alive(stack.state.pids.get(f"daphne{index}")):
            stack.start_daphne(index)
            stack.wait_daphne(index)


@pytest.fixture(autouse=True)
def _quiet_httpx():
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
