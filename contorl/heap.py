"""Garbage-collector settings for a long-running server process.

CPython's cyclic collector runs a young-generation pass every 700 net allocations and, now
and then, a full pass over every tracked object, including the ~190,000 that Django, DRF,
Channels and our modules leave behind at start-up and keep for the life of the process. A
board of 2,000 tasks allocates tens of thousands of objects, so one request paid several
passes, and the full ones walked the whole start-up heap (bench/PROFILE.md: 26 ms of
collection per board request in-process). After start-up we move what exists to the
permanent generation (gc.freeze) and let the young generation grow larger before a pass.
Reference counting still frees almost everything at once; only cycles wait a little longer.
"""

import gc

from django.conf import settings


def settle() -> None:
    """Call once, after the application is loaded (contorl/asgi.py)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(settings.GC_GEN0_THRESHOLD, gen1, gen2)
