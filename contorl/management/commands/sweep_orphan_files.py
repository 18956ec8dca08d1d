"""Delete uploaded files that no row refers to any more (also run daily by Celery beat)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from contorl.storage import sweep_orphans


class Command(BaseCommand):
    help = "Delete stored uploads that no attachment or room file refers to."

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age-hours",
            type=float,
            default=24.0,
            help="leave younger files alone: they may belong to a write still in progress (default 24)",
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")

    def handle(self, *args, min_age_hours, dry_run, **options):
        if min_age_hours < 0:
            self.stderr.write("--min-age-hours must be >= 0")
            return
        report = sweep_orphans(min_age=timedelta(hours=min_age_hours), dry_run=dry_run)
        for name in report["orphans"]:
            self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {name}")
        self.stdout.write(f"checked {report['checked']} file(s), {len(report['orphans'])} orphan(s)")
