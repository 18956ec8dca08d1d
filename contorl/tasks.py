"""Celery jobs of the shared core (found by the app's autodiscover_tasks())."""

from datetime import timedelta

from celery import shared_task


@shared_task(name="contorl.sweep_orphan_files")
def sweep_orphan_files(min_age_hours: float = 24.0) -> dict:
    from .storage import sweep_orphans

    report = sweep_orphans(min_age=timedelta(hours=min_age_hours))
    return {"checked": report["checked"], "deleted": report["deleted"]}
