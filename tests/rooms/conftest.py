import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


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
def room_frames(settings):
    """Frames published to a room group, in the order the layer got them."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()

    def listen(room_id: int):
        async_to_sync(layer.group_add)(f"room.{room_id}", channel)

        def received() -> list[dict]:
            out = []
            while (queue := layer.channels.get(channel)) is not None and not queue.empty():
                out.append(json.loads(async_to_sync(layer.receive)(channel)["text"]))
            return out

        return received

    yield listen
    channel_layers.backends.clear()
