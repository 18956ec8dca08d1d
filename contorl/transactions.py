"""transaction.on_commit, once per transaction."""

from collections.abc import Callable

from django.db import connection, transaction


def on_commit_once(func: Callable[[], None]) -> bool:
    """Run `func` after the current transaction commits, unless it is already queued where it
    will run whenever we would. True if this call queued it.

    A run queued in this savepoint or an enclosing one lives as long as our caller's work does
    (rolling that savepoint back rolls our work back too), so it serves us as well; one queued
    in a sibling savepoint that may still roll back does not.
    """
    current = set(connection.savepoint_ids)
    for entry in getattr(connection, "run_on_commit", None) or []:
        if entry[1] is func and entry[0] <= current:
            return False
    transaction.on_commit(func)
    return True
