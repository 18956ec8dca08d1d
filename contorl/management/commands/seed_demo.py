"""Idempotent demo data: departments and users here; each installed app adds its own part
through `<app>/seed.py: seed(users, stdout)`, in INSTALLED_APPS order (contorl/discovery.py)."""

import io
import logging
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.db import transaction

from contorl import discovery
from contorl.accounts.models import Department, User

DEPARTMENTS = [("PROD", "Production"), ("MAINT", "Maintenance"), ("QA", "Quality Assurance")]
# username, first, last, department, role, manager?, admin?, password
USERS = [
    ("admin", "Ada", "Admin", "PROD", "manager", False, True, "contorl-admin"),
    ("alice", "Alice", "Chen", "PROD", "manager", True, False, "contorl-demo"),
    ("bob", "Bob", "Lin", "PROD", "engineer", False, False, "contorl-demo"),
    ("carol", "Carol", "Wu", "MAINT", "engineer", False, False, "contorl-demo"),
    ("dave", "Dave", "Huang", "QA", "operator", False, False, "contorl-demo"),
]


class Command(BaseCommand):
    help = "Create demo departments, users, projects, tasks and rooms (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="where the demo is served (`make run`: HOST, PORT)"
        )

    def handle(self, *args, **options):
        verbose = options["verbosity"] > 1
        # A line per app and the INFO log of every audit row and notification only with -v 2:
        # `make run` prints the two lines below. The commit (audit sealing) logs inside it too.
        with quiet_logs(not verbose), transaction.atomic():
            self.seed(self.stdout if verbose else io.StringIO())
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Demo data ready. Sign in at {options['url']} as"))
            self.stdout.write(f"  {accounts_line()}")

    def seed(self, detail):
        departments = {}
        for code, name in DEPARTMENTS:
            departments[code], _ = Department.objects.get_or_create(code=code, defaults={"name": name})
        users = {}
        for username, first, last, dept, role, manager, admin, password in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "department": departments[dept],
                    "role": role,
                    "is_department_manager": manager,
                    "is_system_admin": admin,
                    "is_staff": admin,
                    "is_superuser": admin,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            users[username] = user
        for module in discovery.app_modules("seed"):
            module.seed(users=users, stdout=detail)


@contextmanager
def quiet_logs(quiet: bool):
    """CONTORL's own loggers (contorl.audit, contorl.notifications, ...) at WARNING meanwhile."""
    logger = logging.getLogger("contorl")
    level = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def accounts_line() -> str:
    """'admin / contorl-admin; alice, bob, carol, dave / contorl-demo'"""
    by_password: dict[str, list[str]] = {}
    for username, *_rest, password in USERS:
        by_password.setdefault(password, []).append(username)
    return "; ".join(f"{', '.join(names)} / {password}" for password, names in by_password.items())
