# The shared real-daphne + Chromium fixtures (tests/browser/conftest.py).
import pytest
from django.test import Client

from tests.browser.conftest import browser, daphne_server, signed_in  # noqa: F401


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
