"""Audit rows are only ever made through the one service, so the 'factory' calls it."""

from audit import services as audit
from audit.services import Sensitivity


def make_entries(n: int, *, actor=None, event_type: str = "test.event", sensitivity=Sensitivity.LOW, **kwargs):
    return [
        audit.record(event_type, actor=actor, sensitivity=sensitivity, changes={"n": i}, **kwargs) for i in range(n)
    ]
