import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contorl.settings")

app = Celery("contorl")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# With acks_late, Redis redelivers a task whose worker died mid-task once this many seconds
# have passed, checked every CELERY_RESTORE_INTERVAL seconds. It must stay longer than any
# task runs and than any retry countdown (4 s), or a live task is delivered twice. The tests
# make it short; production keeps an hour.
app.conf.broker_transport_options = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "unacked_restore_interval": int(os.environ.get("CELERY_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": 1,
}

# A dedicated queue name (tests run their own worker on their own queue).
if os.environ.get("CELERY_DEFAULT_QUEUE"):
    app.conf.task_default_queue = os.environ["CELERY_DEFAULT_QUEUE"]

# Beat's "last run" file lives under var/ (git-ignored), not in whatever directory beat starts in.
app.conf.beat_schedule_filename = os.environ.get(
    "CELERY_BEAT_SCHEDULE_FILE",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "celerybeat-schedule"),
)

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
