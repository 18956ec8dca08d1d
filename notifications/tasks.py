"""Celery tasks of the notifications app: e-mail goes out here, off the request and
WebSocket threads (an SMTP round trip used to delay chat acks for mentions and the
request that raised an audit alert).

Retry policy: a connection failure, a timeout or a temporary (4xx) SMTP answer retries
with exponential backoff and full jitter (about 5 s, 10 s, 20 s ... capped at 10 minutes),
at most MAX_RETRIES times; a permanent (5xx) refusal is logged and not retried. In eager
mode (embedded, tests) the retries run at once, in-process.
"""

import logging
import smtplib

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from . import services

log = logging.getLogger("contorl.notifications")

MAX_RETRIES = 6
BACKOFF_FACTOR = 5
BACKOFF_MAX = 600


def _permanent(exc: OSError) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


@shared_task(
    bind=True,
    name="notifications.send_email",
    max_retries=MAX_RETRIES,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def send_email(self, notification_id: int) -> bool:
    try:
        return services.notification_email_send(notification_id=notification_id)
    except OSError as exc:  # smtplib.SMTPException is an OSError, like refused connections and timeouts
        if _permanent(exc):
            log.warning("notification email refused: %s", exc, extra={"notification": notification_id})
            return False
        countdown = get_exponential_backoff_interval(
            factor=BACKOFF_FACTOR, retries=self.request.retries, maximum=BACKOFF_MAX, full_jitter=True
        )
        log.info("notification email failed (%s); retry %d", exc.__class__.__name__, self.request.retries + 1)
        if self.request.is_eager:
            # Eager mode: hand the Retry back instead of raising it, so apply() runs the next
            # attempt at once (a raised Retry would end an eager task).
            return self.retry(exc=exc, countdown=countdown, throw=False)
        raise self.retry(exc=exc, countdown=countdown) from exc
