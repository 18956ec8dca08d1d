import pytest

# The shared real-daphne + Chromium fixtures (tests/browser/conftest.py), for the bell test.
from tests.browser.conftest import browser, daphne_server, signed_in  # noqa: F401


@pytest.fixture(autouse=True)
def _eager_celery():
    """E-mail goes out through a Celery task; run it in-process here (the PostgreSQL pass
    sets REDIS_URL, which would otherwise queue it for a worker these tests do not run)."""
    from contorl.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = old
