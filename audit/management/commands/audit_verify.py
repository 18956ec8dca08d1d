"""Recompute the audit hash chain; exit 1 at the first broken row or missing trigger."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from audit.services import verify_all


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and append-only triggers."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = verify_all()
        if options["json"]:
            self.stdout.write(json.dumps(result, cls=DjangoJSONEncoder))
        elif result["ok"]:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result['checked']} entries checked."))
        else:
            broken = result["broken"]
            self.stdout.write(
                self.style.ERROR(
                    f"Audit chain BROKEN at entry #{broken['id']} ({broken['event_type']}): {broken['reason']}. "
                    f"{result['checked']} entries before it are intact."
                )
            )
        if result["triggers"] != "ok":
            self.stdout.write(self.style.ERROR(f"Append-only triggers {result['triggers']}"))
        if not result["ok"] or result["triggers"] != "ok":
            raise CommandError("audit verification failed", returncode=1)
