# The shared real-daphne + Chromium fixtures (tests/browser/conftest.py), for the bell test.
from tests.browser.conftest import browser, daphne_server, signed_in  # noqa: F401
