import pytest


@pytest.fixture(scope="session")
def live_server_proc():
    from tests.rooms import live

    return live.start()
