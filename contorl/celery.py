import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")

app = Celery("contorl")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Broker transport options, the default queue and beat's schedule file come from
# contorl/settings.py (CELERY_* settings) like the rest of the configuration.

# Celery beat (automation app): due-soon reminders every 15 minutes, re-sending runs whose
# broker message never left every 5, and the weekly report for the previous ISO week every
# Monday 06:00 UTC. Each job is idempotent (a stored fact per task / run / project-week),
# so a double beat or a rerun delivers nothing twice.
app.conf.beat_schedule = {
    "automation-due-soon": {"task": "automation.tasks.due_soon_reminders", "schedule": crontab(minute="*/15")},
    "automation-requeue-stale": {"task": "automation.tasks.requeue_stale_runs", "schedule": crontab(minute="*/5")},
    "automation-weekly-reports": {
        "task": "automation.tasks.weekly_reports",
        "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
    },
    # Uploads whose row never committed (contorl/storage.py).
    "contorl-sweep-orphan-files": {"task": "contorl.sweep_orphan_files", "schedule": crontab(minute=30, hour=3)},
    # Seal audit rows that after-commit sealing missed, and anchor the chain's head (audit/README.md).
    "audit-seal-and-anchor": {"task": "audit.seal_and_anchor", "schedule": crontab(minute="*/5")},
    # Refresh-token rows (outstanding and blacklisted) past their expiry: simplejwt's
    # flushexpiredtokens, daily, so the blacklist tables do not grow forever (contorl/accounts/tasks.py).
    "accounts-flush-expired-tokens": {
        "task": "accounts.flush_expired_tokens",
        "schedule": crontab(minute=15, hour=3),
    },
}
