"""The server process's collector settings (contorl/heap.py)."""

import gc

import pytest


@pytest.fixture
def restored_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_settle_freezes_the_start_up_heap_and_widens_the_young_generation(settings, restored_gc):
    from contorl import heap

    settings.GC_GEN0_THRESHOLD = 12_345
    gc.unfreeze()
    heap.settle()
    assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() > 10_000  # Django and the project's modules, at the least
    tracked = len(gc.get_objects())
    assert tracked < gc.get_freeze_count()  # a full pass no longer walks the start-up objects


def test_the_asgi_application_settles_the_heap_when_loaded(restored_gc):
    import importlib

    import contorl.asgi

    gc.unfreeze()
    importlib.reload(contorl.asgi)
    assert gc.get_freeze_count() > 0
