"""Signals the tasks app sends for other apps (automation) to listen to, so tasks imports none of them."""

from django.dispatch import Signal

# Sent by every task service write, inside its transaction and before the WebSocket event
# goes out, with the event type the service chose for the board (task_created,
# task_status_changed, task_assigned, task_updated, task_deleted, task_restored).
# Arguments: task (the written Task), event_type (str), by (the acting user or None).
task_event = Signal()
