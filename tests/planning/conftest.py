import datetime
import json
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from contorl.events import project_group
from planning import services
from tests.tasks.factories import make_project

D = datetime.date


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(make_user):
    return make_user("alice")


@pytest.fixture
def project(owner):
    return make_project(owner)


@pytest.fixture
def other_project(owner):
    return make_project(owner)


@pytest.fixture
def welder(admin_user):
    return services.worker_type_create(by=admin_user, name="Welder")


@pytest.fixture
def welder_rates(admin_user, welder):
    """40.00 until 2026-03-15 (inclusive), 50.00 from 2026-03-16 on."""
    old = services.rate_create(
        by=admin_user,
        worker_type=welder,
        cost_per_hour=Decimal("40.00"),
        valid_from=D(2026, 1, 1),
        valid_to=D(2026, 3, 15),
    )
    new = services.rate_create(
        by=admin_user, worker_type=welder, cost_per_hour=Decimal("50.00"), valid_from=D(2026, 3, 16)
    )
    return old, new


@pytest.fixture
def worker(admin_user, welder, make_user):
    person = make_user("walt")
    return services.worker_create(by=admin_user, worker_type=welder, user=person)


@pytest.fixture
def external_worker(admin_user, welder):
    return services.worker_create(by=admin_user, worker_type=welder, name="Kurt (contractor)")


@pytest.fixture
def portfolio(admin_user):
    return services.portfolio_create(by=admin_user, name="Plant 2026")


@pytest.fixture
def program(admin_user, portfolio):
    return services.program_create(by=admin_user, portfolio=portfolio, name="Lines")


@pytest.fixture
def linked(admin_user, project, program):
    return services.link_create(by=admin_user, project=project, program=program)


@pytest.fixture
def listen(settings):
    """subscribe(project) -> drain(): frames sent to that project's group (in-memory layer)."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    layer = get_channel_layer()

    def subscribe(project):
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(project_group(project.pk), channel)

        def drain():
            frames = []
            while True:
                try:
                    message = async_to_sync(_receive_nowait)(layer, channel)
                except TimeoutError:
                    return frames
                frames.append(json.loads(message["text"]))

        return drain

    yield subscribe
    channel_layers.backends.clear()


async def _receive_nowait(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), timeout=0.05)
