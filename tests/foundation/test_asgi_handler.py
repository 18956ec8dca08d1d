"""contorl.asgi.OneHopASGIHandler: the sync middleware chain and the view in one thread hop."""

import json
from inspect import iscoroutinefunction

import pytest
from channels.testing import HttpCommunicator

from contorl.asgi import django_asgi_app


def test_the_middleware_chain_is_sync_under_asgi():
    # Django's own ASGIHandler builds an async chain, adapting each sync middleware to it.
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_request_goes_through_the_chain_and_the_view():
    response = await HttpCommunicator(
        django_asgi_app, "GET", "/api/projects/999999/", headers=[(b"host", b"testserver")]
    ).get_response()
    assert response["status"] == 401  # DRF's view answered, in the contract's error envelope
    assert json.loads(response["body"])["error"]["code"] == "not_authenticated"
