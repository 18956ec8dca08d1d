import pytest


@pytest.fixture
def carol(make_user):
    return make_user("carol", first_name="Carol")


@pytest.fixture
def viewer(make_user):
    return make_user("vera", first_name="Vera")


@pytest.fixture
def room(user, carol, viewer):
    from tests.rooms.factories import make_room

    return make_room(user, members=[(carol, "editor"), (viewer, "viewer")])


@pytest.fixture(scope="session")
def live_server_proc():
    """A real daphne subprocess on loopback with its own migrated + seeded SQLite file.

    (For the lead: this may move to the root conftest; tests/rooms/live.py has the code.)
    """
    from tests.rooms import live

    return live.start()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A channel layer instance per test: each async test has its own event loop, and a
    Redis layer's locks and connections belong to the loop that first used them."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def room_frames(group_frames):
    """Frames published to a room group, in the order the layer got them."""
    return lambda room_id: group_frames(f"room.{room_id}")
