"""Reads of the automation app, with their joins done."""

from django.db.models import QuerySet

from .models import Trigger, TriggerExecution


def project_triggers(project) -> QuerySet:
    return Trigger.objects.filter(project=project).order_by("name", "id")


def trigger_executions(trigger: Trigger) -> QuerySet:
    return TriggerExecution.objects.filter(trigger=trigger).order_by("-queued_at", "-attempt", "-id")
