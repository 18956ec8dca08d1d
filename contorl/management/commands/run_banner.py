"""The line `make run` prints before daphne starts: where it serves and the mode the settings
chose from DATABASE_URL / REDIS_URL (and what else then has to run: a Celery worker)."""

from django.conf import settings
from django.core.management.base import BaseCommand


def banner(url: str, *, database_engine: str, channel_backend: str, celery_eager: bool) -> str:
    postgres = "postgresql" in database_engine
    redis = "InMemory" not in channel_backend
    if not postgres and not redis and celery_eager:
        return (
            f"CONTORL on {url} (embedded mode: SQLite, in-memory channel layer, eager Celery; "
            "DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis). Ctrl-C stops it."
        )
    parts = [
        "PostgreSQL" if postgres else "SQLite",
        "Redis channel layer" if redis else "in-memory channel layer",
        "eager Celery" if celery_eager else "Celery on a worker",
    ]
    line = f"CONTORL on {url} ({', '.join(parts)}). Ctrl-C stops it."
    if not celery_eager:
        line += (
            "\nTriggers, reminders and weekly reports run on a Celery worker: start `make worker`"
            " (and `make beat` for the schedules) in another terminal with the same DATABASE_URL and REDIS_URL."
        )
    return line


class Command(BaseCommand):
    help = "Print where `make run` serves and in which mode (embedded or PostgreSQL/Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options):
        self.stdout.write(
            banner(
                options["url"],
                database_engine=settings.DATABASES["default"]["ENGINE"],
                channel_backend=settings.CHANNEL_LAYERS["default"]["BACKEND"],
                celery_eager=settings.CELERY_TASK_ALWAYS_EAGER,
            )
        )
