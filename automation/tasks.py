"""Celery tasks of the automation app: each calls one service or engine function.

Retry policy (exact, no jitter): attempt 1, then retries after 1 s, 2 s and 4 s
(`countdown = 2 ** retries`), so a run has at most 4 attempts. acks_late +
reject_on_worker_lost: a worker killed mid-attempt leaves the message unacknowledged and
the broker redelivers it; the engine makes every action take effect once.
"""

from celery import shared_task

from . import engine, services


@shared_task(bind=True, max_retries=3, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_trigger(self, run_id: str, first_attempt: int = 1):
    retries = self.request.retries
    try:
        return engine.run_attempt(run_id=run_id, attempt=first_attempt + retries, final=retries >= self.max_retries)
    except engine.TransientFailure as exc:
        if self.request.is_eager:
            # Eager (embedded) mode: hand the Retry back instead of raising it, so Celery's
            # apply() runs the next attempt at once (no broker, hence no backoff delay).
            return self.retry(exc=exc, countdown=2**retries, throw=False)
        raise self.retry(exc=exc, countdown=2**retries) from exc


@shared_task(acks_late=True, ignore_result=True)
def due_soon_reminders():
    return services.due_soon_sweep()


@shared_task(acks_late=True, ignore_result=True)
def weekly_reports():
    return services.weekly_reports_deliver()


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_runs():
    return services.requeue_stale_runs()
