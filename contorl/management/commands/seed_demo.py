"""Idempotent demo data: departments and users here; each installed app adds its own part
through `<app>/seed.py: seed(users, stdout)`, in INSTALLED_APPS order (contorl/discovery.py)."""

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

    @transaction.atomic
    def handle(self, *args, **options):
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
            module.seed(users=users, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000 with:"))
        for username, *_rest, password in USERS:
            self.stdout.write(f"  {username:8s} / {password}")
