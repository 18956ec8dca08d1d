"""Celery beat's safety net for the audit chain: seal what after-commit sealing missed, anchor."""

from celery import shared_task

from . import anchors, sealing


@shared_task(name="audit.seal_and_anchor")
def seal_and_anchor() -> dict:
    sealed = sealing.seal_pending()
    anchor = anchors.anchor_if_moved()
    return {"sealed": sealed, "anchored_seq": anchor["seq"] if anchor else None}
