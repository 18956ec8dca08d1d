"""Celery tasks of the automation app: each calls one service function.

The per-run task, run_trigger, lives with the attempt it runs (runner.py) and keeps its
name automation.tasks.run_trigger; it is imported here so the worker's autodiscovery
registers it with the others.
"""

from celery import shared_task

from . import services
from .runner import run_trigger  # noqa: F401


@shared_task(acks_late=True, ignore_result=True)
def due_soon_reminders():
    return services.due_soon_sweep()


@shared_task(acks_late=True, ignore_result=True)
def weekly_reports():
    return services.weekly_reports_deliver()


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_runs():
    return services.requeue_stale_runs()
