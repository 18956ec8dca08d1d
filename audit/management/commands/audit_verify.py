"""Recompute the audit chain and compare it with the newest anchor; exit 1 on any problem.

Also reports rows not sealed yet (normal for a few seconds; many, or old ones, mean the
sealer is not running) and missing append-only triggers.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from audit.services import verify_all


class Command(BaseCommand):
    help = "Verify the audit trail's HMAC chain against its newest anchor, and the append-only triggers."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = verify_all()
        if options["json"]:
            self.stdout.write(json.dumps(result, cls=DjangoJSONEncoder))
        else:
            self._explain(result)
        if not result["ok"] or result["triggers"] != "ok":
            raise CommandError("audit verification failed", returncode=1)

    def _explain(self, result):
        broken, anchor, unsealed = result.get("broken"), result["anchor"], result["unsealed"]
        if broken:
            self.stdout.write(
                self.style.ERROR(
                    f"Audit chain BROKEN at entry #{broken['id']} ({broken['event_type']}): {broken['reason']}. "
                    f"{result['checked']} entries before it are intact."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result['checked']} sealed entries checked."))
        if unsealed["count"]:
            self.stdout.write(
                f"{unsealed['count']} not sealed yet (oldest #{unsealed['oldest_id']}, "
                f"{unsealed['oldest_created_at']:%Y-%m-%d %H:%M:%S %Z})."
            )
        if anchor["status"] == "ok":
            self.stdout.write(
                self.style.SUCCESS(
                    f"Matches the anchor of {anchor['anchored_at']} (seq {anchor['seq']}, entry #{anchor['id']})."
                )
            )
        elif anchor["status"] == "missing":
            self.stdout.write(self.style.WARNING(anchor["detail"]))
        else:
            self.stdout.write(self.style.ERROR(f"Anchor check {anchor['status'].upper()}: {anchor['detail']}"))
        if result["triggers"] != "ok":
            self.stdout.write(self.style.ERROR(f"Append-only triggers {result['triggers']}"))
